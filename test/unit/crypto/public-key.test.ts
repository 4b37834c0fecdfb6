/**
 * Keys in metadata carry public keys only. Found by the upload fuzzer (test/fuzz/): a root whose
 * key had `"private": [[…]]` was accepted, and then every notary client failed on the repository
 * ("cannot unmarshal array into Go value of type uint8"). Anything but null there is refused.
 */
import { describe, it } from 'node:test';
import { generateKeyPairSync, sign } from 'node:crypto';
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

describe('an ecdsa key', () => {
  /** A raw r‖s signature over SHA-256 of `message`, as notary writes them. */
  function signed(curve: string, message: Buffer) {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: curve });
    const spki = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    const sig = sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    return { key: new PublicKey('ecdsa', spki), sig };
  }

  it('verifies raw signatures of twice its curve size on P-256, P-384 and P-521', () => {
    const message = Buffer.from('signed bytes');
    for (const [curve, size] of [
      ['prime256v1', 64],
      ['secp384r1', 96],
      ['secp521r1', 132],
    ] as const) {
      const { key, sig } = signed(curve, message);
      assert.equal(sig.length, size, curve);
      assert.equal(key.verify('ecdsa', message, sig), true, curve);
      assert.equal(key.verify('ecdsa', Buffer.from('other bytes'), sig), false, curve);
      assert.equal(key.verify('ecdsa', message, sig.subarray(1)), false, curve);
    }
  });

  it('never verifies on a curve notary does not use (secp256k1)', () => {
    const message = Buffer.from('signed bytes');
    const { key, sig } = signed('secp256k1', message);
    assert.equal(key.verify('ecdsa', message, sig), false);
    assert.deepEqual(key.makeVerifier('ecdsa'), {
      kind: 'none',
      reason: 'unsupported curve secp256k1',
    });
  });
});
