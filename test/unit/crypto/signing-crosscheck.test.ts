/**
 * The server signs through node:crypto (src/crypto/signing.ts) and verifies through node:crypto
 * (src/crypto/keys.ts). Both could share one mistake, so every property here checks them against
 * @noble/curves, an independent implementation in pure JavaScript: signatures made by one verify
 * with the other, for ECDSA P-256 (raw r‖s over SHA-256) and Ed25519, over random keys and
 * messages (fast-check, fixed seed so a failure reproduces).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { p256 } from '@noble/curves/nist.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { signingKeyFromSecret, generateSigningKey } from '../../../src/crypto/signing.js';
import { PublicKey } from '../../../src/crypto/keys.js';
import { sha256 } from '../../../src/crypto/hash.js';

const RUNS = { numRuns: 200, seed: 20261207 };
const P256_HALF_N = p256.Point.CURVE().n >> 1n;

/** 32 random bytes that are a valid P-256 scalar (almost all are; fast-check shrinks the rest away). */
const p256Secret = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .filter((b) => p256.utils.isValidSecretKey(b));
const ed25519Seed = fc.uint8Array({ minLength: 32, maxLength: 32 });
const message = fc.uint8Array({ minLength: 0, maxLength: 2048 });

function sBig(sig: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(sig.subarray(32)).toString('hex')}`);
}

describe('signing cross-checked against @noble/curves', () => {
  it('ECDSA P-256: our public key is noble’s, our signatures verify with noble, are 64 bytes and low-S', () => {
    fc.assert(
      fc.property(p256Secret, message, (secret, msg) => {
        const key = signingKeyFromSecret('ecdsa', secret);
        const spki = Buffer.from(key.publicKey.publicB64, 'base64');
        const point = spki.subarray(spki.length - 65);
        assert.deepEqual(point, Buffer.from(p256.getPublicKey(secret, false)));
        const { method, sig } = key.sign(msg);
        assert.equal(method, 'ecdsa');
        assert.equal(sig.length, 64);
        assert.ok(sBig(sig) <= P256_HALF_N, 'low-S');
        assert.ok(
          p256.verify(sig, sha256(msg), point, { prehash: false, lowS: true, format: 'compact' })
        );
        // A different message must not verify (the check above can fail).
        const other = Buffer.concat([Buffer.from(msg), Buffer.from([1])]);
        assert.ok(
          !p256.verify(sig, sha256(other), point, {
            prehash: false,
            lowS: false,
            format: 'compact',
          })
        );
      }),
      RUNS
    );
  });

  it('ECDSA P-256: noble’s signatures, low-S and high-S, verify with our verifier', () => {
    fc.assert(
      fc.property(p256Secret, message, fc.boolean(), (secret, msg, high) => {
        const key = signingKeyFromSecret('ecdsa', secret);
        const verifier = new PublicKey('ecdsa', key.publicKey.publicB64);
        const sig = p256.sign(sha256(msg), secret, {
          prehash: false,
          lowS: true,
          format: 'compact',
        });
        const n = p256.Point.CURVE().n;
        const s = sBig(sig);
        const variant = high
          ? Buffer.concat([
              sig.subarray(0, 32),
              Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex'),
            ])
          : Buffer.from(sig);
        assert.ok(verifier.verify('ecdsa', msg, variant), 'noble signature verifies');
        const tampered = Buffer.from(variant);
        tampered[0]! ^= 1;
        assert.ok(!verifier.verify('ecdsa', msg, tampered), 'a flipped bit does not');
      }),
      RUNS
    );
  });

  it('Ed25519: same public key and byte-identical signatures as noble (Ed25519 is deterministic), verified both ways', () => {
    fc.assert(
      fc.property(ed25519Seed, message, (seed, msg) => {
        const key = signingKeyFromSecret('ed25519', seed);
        assert.equal(
          key.publicKey.publicB64,
          Buffer.from(ed25519.getPublicKey(seed)).toString('base64')
        );
        const { method, sig } = key.sign(msg);
        assert.equal(method, 'eddsa');
        assert.deepEqual(sig, Buffer.from(ed25519.sign(msg, seed)));
        assert.ok(ed25519.verify(sig, msg, ed25519.getPublicKey(seed)));
        const verifier = new PublicKey('ed25519', key.publicKey.publicB64);
        assert.ok(verifier.verify('eddsa', msg, ed25519.sign(msg, seed)));
      }),
      RUNS
    );
  });

  it('generated keys are valid on both sides, and secrets outside [1, n) are refused', () => {
    for (const algorithm of ['ecdsa', 'ed25519'] as const) {
      const key = generateSigningKey(algorithm);
      const again = signingKeyFromSecret(algorithm, key.secretBytes());
      assert.equal(again.publicKey.publicB64, key.publicKey.publicB64);
    }
    const n = p256.Point.CURVE().n;
    for (const bad of [0n, n, n + 1n]) {
      const bytes = Buffer.from(bad.toString(16).padStart(64, '0'), 'hex');
      assert.throws(() => signingKeyFromSecret('ecdsa', bytes), /KEY_INVALID|\[1, n\)/);
    }
    assert.throws(() => signingKeyFromSecret('ecdsa', new Uint8Array(31)), /32 bytes/);
  });
});
