/**
 * The store API's error handler: a full disk is 503 `unavailable` with Retry-After (the request
 * can succeed later), never a 500 `internal`; store codes keep their status and headers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import request from 'supertest';
import { CountersignError } from '../../../src/errors.js';
import { storeErrorHandler } from '../../../src/http/store-errors.js';
import { silentLogger } from '../../../src/util/log.js';

function appThrowing(err: unknown) {
  const app = express();
  app.get('/x', () => {
    throw err;
  });
  app.use(storeErrorHandler(silentLogger));
  return app;
}

describe('store API errors', () => {
  it('STORAGE_FULL from the storage is 503 unavailable with Retry-After', async () => {
    const res = await request(
      appThrowing(new CountersignError('STORAGE_FULL', 'database or disk is full'))
    ).get('/x');
    assert.equal(res.status, 503);
    assert.equal(res.headers['retry-after'], '60');
    assert.equal((res.body as { error: { code: string } }).error.code, 'unavailable');
  });

  it('any other storage failure stays a 500 internal', async () => {
    const res = await request(appThrowing(new CountersignError('STORAGE_FAILURE', 'boom'))).get(
      '/x'
    );
    assert.equal(res.status, 500);
    assert.equal(res.headers['retry-after'], undefined);
  });
});
