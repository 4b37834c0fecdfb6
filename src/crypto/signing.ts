/**
 * Keys the server signs with: ECDSA P-256 (what notary-signer makes) and Ed25519, through
 * @noble/curves with every option explicit — the defaults changed between major versions.
 * ECDSA: SHA-256 digest computed here (prehash off), compact r‖s output, low-S normalised
 * (valid either way for Go, which accepts both). Ed25519 signs the message itself.
 */
import { p256 } from '@noble/curves/nist.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { fail } from '../errors.js';
import { sha256 } from './hash.js';
import { PublicKey } from './keys.js';

// Precomputed multiples of the base point: signing is k·G, 2–4× faster with the table (built once, lazily).
let basePrecomputed = false;
function precomputeBase(): void {
  if (basePrecomputed) return;
  p256.Point.BASE.precompute(8);
  basePrecomputed = true;
}

/** DER prefix of a P-256 SubjectPublicKeyInfo for an uncompressed point (ecPublicKey, prime256v1). */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

/** The algorithms the server makes keys with (`key_algorithm` in notary-server's config). */
export type KeyAlgorithm = 'ecdsa' | 'ed25519';

export interface SigningKey {
  readonly algorithm: KeyAlgorithm;
  readonly publicKey: PublicKey;
  sign(message: Uint8Array): { method: 'ecdsa' | 'eddsa'; sig: Buffer };
  /** The 32-byte secret (P-256 scalar or Ed25519 seed); the caller seals it at once. */
  secretBytes(): Uint8Array;
}

export function generateSigningKey(algorithm: KeyAlgorithm): SigningKey {
  return signingKeyFromSecret(
    algorithm,
    algorithm === 'ecdsa' ? p256.utils.randomSecretKey() : ed25519.utils.randomSecretKey()
  );
}

export function signingKeyFromSecret(algorithm: KeyAlgorithm, secret: Uint8Array): SigningKey {
  if (secret.length !== 32) fail('KEY_INVALID', `a ${algorithm} secret must be 32 bytes`);
  const sk = Uint8Array.from(secret);
  switch (algorithm) {
    case 'ecdsa': {
      precomputeBase();
      const point = p256.getPublicKey(sk, false);
      const spki = Buffer.concat([P256_SPKI_PREFIX, point]);
      const publicKey = new PublicKey('ecdsa', spki.toString('base64'));
      return {
        algorithm,
        publicKey,
        sign: (message) => ({
          method: 'ecdsa',
          sig: Buffer.from(
            p256.sign(sha256(message), sk, { prehash: false, lowS: true, format: 'compact' })
          ),
        }),
        secretBytes: () => sk,
      };
    }
    case 'ed25519': {
      const publicKey = new PublicKey(
        'ed25519',
        Buffer.from(ed25519.getPublicKey(sk)).toString('base64')
      );
      return {
        algorithm,
        publicKey,
        sign: (message) => ({ method: 'eddsa', sig: Buffer.from(ed25519.sign(message, sk)) }),
        secretBytes: () => sk,
      };
    }
  }
}

/** The uncompressed P-256 point of an `ecdsa` key's SPKI (for certificate and JWK export). */
export function p256PointFromSpki(spki: Uint8Array): Uint8Array {
  const b = Buffer.from(spki);
  if (
    b.length !== P256_SPKI_PREFIX.length + 65 ||
    !b.subarray(0, P256_SPKI_PREFIX.length).equals(P256_SPKI_PREFIX)
  ) {
    fail('KEY_INVALID', 'not a P-256 public key');
  }
  return b.subarray(P256_SPKI_PREFIX.length);
}

/** The uncompressed P-256 point of a 32-byte secret (certificate issuance imports it as a JWK). */
export function p256PublicPoint(secret: Uint8Array): Uint8Array {
  precomputeBase();
  return p256.getPublicKey(Uint8Array.from(secret), false);
}
