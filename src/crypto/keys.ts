/**
 * TUF public keys in notary's dialect (docs/protocol.md §4.7): parsing, key IDs, and signature
 * verification (§4.8). The key's type — never a signature's `method` label — picks the
 * algorithm; a method that does not belong to the key's type makes the signature invalid.
 *
 * Verification runs on node:crypto (OpenSSL): it is 30–50× faster than @noble/curves' pure
 * JavaScript here, and every upload and every client-side check verifies signatures. Notary's
 * rules are applied around it: ECDSA signatures are raw r‖s of exactly twice the curve size
 * (`ieee-p1363`; DER is refused), over SHA-256 for every curve; high-S is accepted (OpenSSL does
 * not enforce low-S, nor does Go); Ed25519 signs the message itself. Signing is node:crypto too
 * (src/crypto/signing.ts); the tests cross-check both against @noble/curves.
 */
import { createPublicKey, verify as nodeVerify, constants, type KeyObject } from 'node:crypto';
import { canonicalBytes } from '../canonical/encode.js';
import { fail } from '../errors.js';
import { BoundedCache } from '../util/bounded-cache.js';
import { isBase64 } from '../util/bytes.js';
import { sha256Hex } from './hash.js';
import { parseCertificateBundle, type Certificate } from './x509.js';

/** The JSON form of a key inside metadata. `private` is always null there. */
export interface TufKeyJSON {
  keytype: string;
  keyval: { private: null; public: string };
}

export const KEY_TYPES = ['ecdsa', 'ecdsa-x509', 'ed25519', 'rsa', 'rsa-x509'] as const;
export type KnownKeyType = (typeof KEY_TYPES)[number];

/** notary's key ID: hex SHA-256 of the canonical key with `"private":null`. */
export function keyIdOf(keyType: string, publicB64: string): string {
  return sha256Hex(
    canonicalBytes({ keytype: keyType, keyval: { private: null, public: publicB64 } })
  );
}

/** Imported key material, ready for node:crypto's verify (or why this key never verifies). */
export type Verifier =
  | { kind: 'ecdsa'; key: KeyObject; sigLength: number }
  | { kind: 'ed25519'; key: KeyObject }
  | { kind: 'rsa'; key: KeyObject; bits: number }
  | { kind: 'none'; reason: string };

/** Curve (as OpenSSL names it) → bytes of r (and of s) in notary's raw signature format. */
const CURVE_SIZES: Record<string, number> = { prime256v1: 32, secp384r1: 48, secp521r1: 66 };

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (OID 1.3.101.112), for node's key import. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export class PublicKey {
  readonly keyType: string;
  readonly publicB64: string;
  readonly id: string;
  private verifier: Verifier | undefined;
  private certs: Certificate[] | null | undefined;

  constructor(keyType: string, publicB64: string) {
    this.keyType = keyType;
    this.publicB64 = publicB64;
    this.id = keyIdOf(keyType, publicB64);
  }

  /** Parses a key object from metadata, naming `where` in errors. Unknown keytypes are kept: they just never verify. */
  static fromJSON(json: unknown, where: string): PublicKey {
    if (typeof json !== 'object' || json === null || Array.isArray(json))
      fail('META_SHAPE', `${where} must be an object`);
    const { keytype, keyval } = json as Record<string, unknown>;
    if (typeof keytype !== 'string') fail('META_SHAPE', `${where}.keytype must be a string`);
    if (typeof keyval !== 'object' || keyval === null || Array.isArray(keyval))
      fail('META_SHAPE', `${where}.keyval must be an object`);
    const { public: pub, private: priv } = keyval as Record<string, unknown>;
    if (typeof pub !== 'string' || !isBase64(pub))
      fail('META_SHAPE', `${where}.keyval.public must be base64`);
    // Metadata never carries a private key; Go decodes this field as bytes, so anything but null
    // or absent is either a leaked key or a shape the Go client cannot read (found by fuzzing:
    // nested arrays here were accepted, then every notary client failed on the repository).
    if (priv !== undefined && priv !== null)
      fail('META_SHAPE', `${where}.keyval.private must be null: metadata carries public keys only`);
    return new PublicKey(keytype, pub);
  }

  toJSON(): TufKeyJSON {
    return { keytype: this.keyType, keyval: { private: null, public: this.publicB64 } };
  }

  get isX509(): boolean {
    return this.keyType === 'ecdsa-x509' || this.keyType === 'rsa-x509';
  }

  /** For x509 keys: the certificate chain (leaf first), or null if the public value is not a certificate bundle. */
  get certificates(): Certificate[] | null {
    if (this.certs === undefined) {
      this.certs = this.isX509
        ? (parseCertificateBundle(Buffer.from(this.publicB64, 'base64').toString('latin1')) ?? null)
        : null;
    }
    return this.certs;
  }

  /**
   * The "canonical" key ID: for x509 keys the ID of the plain `ecdsa`/`rsa` key made from the
   * leaf certificate's public key (what key stores use); for other keys the ordinary ID.
   */
  canonicalId(): string {
    if (!this.isX509) return this.id;
    const leaf = this.certificates?.[0];
    if (!leaf) fail('KEY_INVALID', `key ${this.id} is not a certificate`);
    const spki = leaf.publicKey.export({ format: 'der', type: 'spki' });
    return keyIdOf(this.keyType === 'ecdsa-x509' ? 'ecdsa' : 'rsa', spki.toString('base64'));
  }

  /**
   * Whether `sig` is a valid signature by this key over `message` with `method` (lower-cased, as
   * notary parses it). `verifiers` shares imported key material with other PublicKeys of the same
   * content; without it this key imports its own, once.
   */
  verify(method: string, message: Uint8Array, sig: Uint8Array, verifiers?: KeyVerifiers): boolean {
    const m = method.toLowerCase();
    const v = (this.verifier ??= verifiers ? verifiers.verifierOf(this, m) : this.makeVerifier(m));
    try {
      switch (v.kind) {
        case 'ecdsa':
          // Raw r‖s of exactly twice the curve size (DER is refused); SHA-256 for every curve, as
          // notary hashes; high-S accepted because Go's ECDSA never normalises S.
          if (m !== 'ecdsa' || sig.length !== v.sigLength) return false;
          return nodeVerify('sha256', message, { key: v.key, dsaEncoding: 'ieee-p1363' }, sig);
        case 'ed25519':
          if (m !== 'eddsa' || sig.length !== 64) return false;
          return nodeVerify(null, message, v.key, sig);
        case 'rsa': {
          if (v.bits < 2048 || sig.length < 256) return false;
          if (m === 'rsapss' || (m === 'pycrypto-pkcs#1 pss' && this.keyType === 'rsa')) {
            return nodeVerify(
              'sha256',
              message,
              { key: v.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
              sig
            );
          }
          if (m === 'rsapkcs1v15')
            return nodeVerify(
              'sha256',
              message,
              { key: v.key, padding: constants.RSA_PKCS1_PADDING },
              sig
            );
          return false;
        }
        case 'none':
          return false;
      }
    } catch {
      return false; // malformed signature or key bytes: invalid, never an exception
    }
  }

  /** Builds the verifier for this key (node KeyObjects); see KeyVerifiers. */
  makeVerifier(method: string): Verifier {
    try {
      switch (this.keyType) {
        case 'ed25519': {
          const raw = Buffer.from(this.publicB64, 'base64');
          if (raw.length !== 32) return { kind: 'none', reason: 'ed25519 key is not 32 bytes' };
          return {
            kind: 'ed25519',
            key: createPublicKey({
              key: Buffer.concat([ED25519_SPKI_PREFIX, raw]),
              format: 'der',
              type: 'spki',
            }),
          };
        }
        case 'ecdsa':
          return ecdsaVerifier(
            createPublicKey({
              key: Buffer.from(this.publicB64, 'base64'),
              format: 'der',
              type: 'spki',
            })
          );
        case 'rsa': {
          const bytes = Buffer.from(this.publicB64, 'base64');
          // The legacy pycrypto method carries a PEM SPKI; everything else DER (PKIX).
          const key =
            method === 'pycrypto-pkcs#1 pss' &&
            bytes.subarray(0, 10).toString('latin1') === '-----BEGIN'
              ? createPublicKey(bytes.toString('latin1'))
              : createPublicKey({ key: bytes, format: 'der', type: 'spki' });
          return rsaVerifier(key);
        }
        case 'ecdsa-x509':
        case 'rsa-x509': {
          const leaf = this.certificates?.[0];
          if (!leaf) return { kind: 'none', reason: 'not a certificate bundle' };
          return this.keyType === 'ecdsa-x509'
            ? ecdsaVerifier(leaf.publicKey)
            : rsaVerifier(leaf.publicKey);
        }
        default:
          return { kind: 'none', reason: `unsupported keytype ${this.keyType}` };
      }
    } catch {
      return { kind: 'none', reason: 'unparsable key material' };
    }
  }
}

export const MAX_VERIFIERS = 10_000;

/**
 * Key material imported into OpenSSL, by key content: the same keys (a repository's targets key,
 * the server's timestamp key) arrive in every upload and every read of a root, each time in a
 * newly parsed PublicKey, and importing them costs more than the signature check itself. One
 * per app (src/notary/caches.ts), bounded: keys come from client uploads.
 */
export class KeyVerifiers {
  private readonly verifiers: BoundedCache<string, Verifier>;

  constructor(maxEntries = MAX_VERIFIERS) {
    this.verifiers = new BoundedCache(maxEntries);
  }

  get size(): number {
    return this.verifiers.size;
  }

  verifierOf(key: PublicKey, method: string): Verifier {
    // Only the legacy pycrypto method reads an `rsa` key differently (as PEM).
    const id = `${key.keyType}\u0000${method === 'pycrypto-pkcs#1 pss' ? 'pem' : ''}\u0000${key.publicB64}`;
    return this.verifiers.getOrSet(id, () => key.makeVerifier(method));
  }
}

function ecdsaVerifier(key: KeyObject): Verifier {
  if (key.asymmetricKeyType !== 'ec') return { kind: 'none', reason: 'not an EC key' };
  // From the key's details: exporting it as a JWK to read `crv` costs more than the verification.
  const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
  const size = Object.hasOwn(CURVE_SIZES, curve) ? CURVE_SIZES[curve] : undefined;
  if (size === undefined) return { kind: 'none', reason: `unsupported curve ${curve}` };
  return { kind: 'ecdsa', key, sigLength: size * 2 };
}

function rsaVerifier(key: KeyObject): Verifier {
  if (key.asymmetricKeyType !== 'rsa') return { kind: 'none', reason: 'not an RSA key' };
  return { kind: 'rsa', key, bits: key.asymmetricKeyDetails?.modulusLength ?? 0 };
}
