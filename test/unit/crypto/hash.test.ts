/**
 * Digests handed in by the upload worker (src/crypto/hash.ts rememberDigests): used for exactly
 * the object they were given for, ignored when malformed, and never for equal bytes elsewhere.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { rememberDigests, sha256, sha256Hex, sha512 } from '../../../src/crypto/hash.js';

const digest = (alg: string, data: Uint8Array) => createHash(alg).update(data).digest();

describe('digests', () => {
  it('computes SHA-256 and SHA-512 over exact bytes', () => {
    const data = randomBytes(1000);
    assert.ok(sha256(data).equals(digest('sha256', data)));
    assert.ok(sha512(data).equals(digest('sha512', data)));
    assert.equal(sha256Hex(data), digest('sha256', data).toString('hex'));
  });

  it('answers from remembered digests for that object only', () => {
    const data = randomBytes(1000);
    // Marker digests that no hash of `data` could give: the answers must come from the memo.
    const marked = { sha256: new Uint8Array(32).fill(7), sha512: new Uint8Array(64).fill(9) };
    rememberDigests(data, marked);
    assert.deepEqual([...sha256(data)], [...marked.sha256]);
    assert.deepEqual([...sha512(data)], [...marked.sha512]);
    assert.equal(sha256Hex(data), '07'.repeat(32));
    const twin = Buffer.from(data);
    assert.ok(
      sha256(twin).equals(digest('sha256', twin)),
      'equal bytes in another object are hashed'
    );
  });

  it('hands out copies: a caller that writes into a digest changes nothing remembered', () => {
    const data = randomBytes(100);
    rememberDigests(data, { sha256: digest('sha256', data), sha512: digest('sha512', data) });
    sha256(data).fill(0);
    sha512(data).fill(0);
    assert.ok(sha256(data).equals(digest('sha256', data)));
    assert.ok(sha512(data).equals(digest('sha512', data)));
  });

  it('ignores digests of the wrong size', () => {
    const data = randomBytes(100);
    rememberDigests(data, { sha256: new Uint8Array(31), sha512: new Uint8Array(64) });
    rememberDigests(data, { sha256: new Uint8Array(32), sha512: new Uint8Array(65) });
    assert.ok(sha256(data).equals(digest('sha256', data)));
    assert.ok(sha512(data).equals(digest('sha512', data)));
  });
});
