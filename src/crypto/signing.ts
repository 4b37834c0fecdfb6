/**
 * Keys the server signs with: ECDSA P-256 (what notary-signer makes) and Ed25519, through
 * node:crypto (OpenSSL). A P-256 signature costs about 0.04 ms there against about 1 ms in pure
 * JavaScript inside a busy server, and every publish signs a snapshot and a timestamp
 * (README "Performance"). The tests cross-check every signature against @noble/curves, an
 * independent implementation (test/unit/crypto/signing-crosscheck.test.ts), so a mistake in the
 * options below cannot pass unnoticed.
 *
 * ECDSA: SHA-256 over the message, raw r‖s output (`ieee-p1363`, what notary sends), s
 * normalised to the low half of the group order. Go accepts either half, but low-S keeps our
 * signatures acceptable to the strictest verifier. Ed25519 signs the message itself.
 */
import {
  createECDH,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  sign as nodeSign,
  type KeyObject,
} from 'node:crypto';
import { fail } from '../errors.js';
import { PublicKey } from './keys.js';

/** DER prefix of a P-256 SubjectPublicKeyInfo for an uncompressed point (ecPublicKey, prime256v1). */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
/** DER prefix of an Ed25519 PKCS#8 private key; the 32-byte seed follows (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The order n of P-256's group, and n/2: an s above it is replaced by n − s. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P256_HALF_N = P256_N >> 1n;

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
    algorithm === 'ecdsa' ? randomP256Scalar() : new Uint8Array(randomBytes(32))
  );
}

export function signingKeyFromSecret(algorithm: KeyAlgorithm, secret: Uint8Array): SigningKey {
  if (secret.length !== 32) fail('KEY_INVALID', `a ${algorithm} secret must be 32 bytes`);
  const sk = Uint8Array.from(secret);
  switch (algorithm) {
    case 'ecdsa': {
      const point = p256PublicPoint(sk);
      const key = p256PrivateKey(sk, point);
      const publicKey = new PublicKey(
        'ecdsa',
        Buffer.concat([P256_SPKI_PREFIX, point]).toString('base64')
      );
      return {
        algorithm,
        publicKey,
        sign: (message) => ({
          method: 'ecdsa',
          sig: lowS(nodeSign('sha256', message, { key, dsaEncoding: 'ieee-p1363' })),
        }),
        secretBytes: () => sk,
      };
    }
    case 'ed25519': {
      const key = createPrivateKey({
        key: Buffer.concat([ED25519_PKCS8_PREFIX, sk]),
        format: 'der',
        type: 'pkcs8',
      });
      const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
      const publicKey = new PublicKey(
        'ed25519',
        spki.subarray(spki.length - 32).toString('base64')
      );
      return {
        algorithm,
        publicKey,
        sign: (message) => ({ method: 'eddsa', sig: nodeSign(null, message, key) }),
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
  const scalar = bigintOf(secret);
  if (scalar === 0n || scalar >= P256_N) fail('KEY_INVALID', 'a P-256 secret must be in [1, n)');
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(secret));
  return new Uint8Array(ecdh.getPublicKey(null, 'uncompressed'));
}

function p256PrivateKey(secret: Uint8Array, point: Uint8Array): KeyObject {
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  return createPrivateKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      d: b64(secret),
      x: b64(point.subarray(1, 33)),
      y: b64(point.subarray(33, 65)),
    },
    format: 'jwk',
  });
}

/** A uniformly random scalar in [1, n): rejection sampling, as P-256's n is just below 2^256. */
function randomP256Scalar(): Uint8Array {
  for (;;) {
    const candidate = new Uint8Array(randomBytes(32));
    const v = bigintOf(candidate);
    if (v !== 0n && v < P256_N) return candidate;
  }
}

/** Replaces s by n − s when s is in the upper half, keeping r‖s at 64 bytes. */
function lowS(sig: Buffer): Buffer {
  const s = bigintOf(sig.subarray(32));
  if (s <= P256_HALF_N) return sig;
  const out = Buffer.from(sig);
  out.set(Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex'), 32);
  return out;
}

function bigintOf(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
}
