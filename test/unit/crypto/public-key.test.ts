/**
 * Keys in metadata carry public keys only. Found by the upload fuzzer (test/fuzz/): a root whose
 * key had `"private": [[…]]` was accepted, and then every notary client failed on the repository
 * ("cannot unmarshal array into Go value of type uint8"). Anything but null there is refused.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PublicKey } from '../../../src/crypto/keys.js';
import { generateSigningKey } from '../../../src/crypto/signing.js';

const pub = generateSigningKey('ecdsa').publicKey.publicB64;

describe('a key in metadata', () => {
  it('is read with "private": null or without the field', () => {
    const a = PublicKey.fromJSON({ keytype: 'ecdsa', keyval: { private: null, public: pub } }, 'k');
    const b = PublicKey.fromJSON({ keytype: 'ecdsa', keyval: { public: pub } }, 'k');
    assert.equal(a.id, b.id);
  });

  for (const [what, value] of [
    ['nested arrays', [[1, 2]]],
    ['a base64 string (a leaked private key)', 'AAAA'],
    ['an object', {}],
    ['false', false],
  ] as const) {
    it(`is refused with "private" set to ${what}`, () => {
      assert.throws(
        () =>
          PublicKey.fromJSON({ keytype: 'ecdsa', keyval: { private: value, public: pub } }, 'k'),
        /k\.keyval\.private must be null/
      );
    });
  }
});
