/**
 * /healthz, /readyz and notary-server's /_notary_server/health through the real app
 * (README "Health and metrics"). PostgreSQL stopping and coming back is in
 * test/interop/postgres-ops.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CHECK_SETTING } from '../../src/signer/keyring.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

describe('health endpoints', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t?.close());

  it('/healthz answers 200 without asking anyone; /readyz lists its checks', async () => {
    const live = await t.http.get('/healthz');
    assert.deepEqual([live.status, live.body], [200, { status: 'ok' }]);
    const ready = await t.http.get('/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, {
      status: 'ready',
      checks: { database: 'ok', schema: 'ok', keys: 'ok' },
    });
    assert.match(String(ready.headers['cache-control']), /no-store/);
    const notary = await t.http.get('/_notary_server/health');
    assert.deepEqual([notary.status, notary.text], [200, '{}']);
  });

  it('/readyz answers 503 with the reason when the key ring no longer opens the stored keys', async () => {
    const original = await t.app.storage.settings.get(CHECK_SETTING);
    assert.ok(original !== null);
    const record = JSON.parse(original) as { sealed: string };
    const flipped = Buffer.from(record.sealed, 'base64');
    flipped[flipped.length - 1]! ^= 1;
    await t.app.storage.settings.put(
      CHECK_SETTING,
      JSON.stringify({ ...record, sealed: flipped.toString('base64') })
    );
    try {
      const r = await t.http.get('/readyz');
      assert.equal(r.status, 503);
      assert.equal(r.body.status, 'not ready');
      assert.match(r.body.reason, /key ring does not open the server keys/);
      assert.deepEqual(r.body.checks, { database: 'ok', schema: 'ok', keys: 'failed' });
      assert.equal((await t.http.get('/healthz')).status, 200);
    } finally {
      await t.app.storage.settings.put(CHECK_SETTING, original);
    }
    assert.equal((await t.http.get('/readyz')).status, 200);
  });

  it('/readyz answers 503 when the database is closed; /healthz still 200', async () => {
    const other = await startTestApp();
    await other.app.storage.close();
    try {
      const r = await other.http.get('/readyz');
      assert.equal(r.status, 503);
      assert.match(r.body.reason, /^the database does not answer: /, JSON.stringify(r.body));
      assert.equal((await other.http.get('/healthz')).status, 200);
    } finally {
      await other.close();
    }
  });
});
