import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { INTERNAL_CODES, NOTARY_CODES, STORE_CODES, CountersignError } from '../../src/errors.js';
import { errorsMarkdown } from '../../src/errors-doc.js';
import { notaryErrorBody } from '../../src/http/notary-errors.js';
import { repoRoot } from '../helpers/paths.js';

describe('the error catalogue', () => {
  it('has every code once across the three groups', () => {
    const all = [
      ...Object.keys(NOTARY_CODES),
      ...Object.keys(STORE_CODES),
      ...Object.keys(INTERNAL_CODES),
    ];
    assert.equal(new Set(all).size, all.length);
  });

  it('is documented exactly in docs/errors.md', () => {
    assert.equal(
      readFileSync(`${repoRoot}/docs/errors.md`, 'utf8'),
      errorsMarkdown(),
      'run: npm run build && node scripts/errors-doc.mjs'
    );
  });

  it("keeps notary-server's statuses and fixed messages (docs/protocol.md §1.3)", () => {
    assert.deepEqual(NOTARY_CODES.METADATA_NOT_FOUND, {
      status: 404,
      message: 'You have requested metadata that does not exist.',
    });
    assert.deepEqual(NOTARY_CODES.INVALID_UPDATE, {
      status: 400,
      message: 'Update sent by the client is invalid.',
    });
    assert.deepEqual(NOTARY_CODES.UNAUTHORIZED, {
      status: 401,
      message: 'authentication required',
    });
    assert.deepEqual(NOTARY_CODES.VERSION, {
      status: 400,
      message: 'A newer version of metadata is already available.',
    });
  });

  it('turns anything that is not a Notary code into UNKNOWN 500, never leaking its message', () => {
    const e = notaryErrorBody(new CountersignError('STORAGE_FAILURE', 'disk /var/lib is full'));
    assert.equal(e.status, 500);
    assert.equal(e.body, '{"errors":[{"code":"UNKNOWN","message":"unknown error","detail":{}}]}\n');
    assert.equal(notaryErrorBody(new Error('boom')).code, 'UNKNOWN');
  });
});
