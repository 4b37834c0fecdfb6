/**
 * Which key signed a token, and whether we trust it: notary-server's `rootcertbundle` and
 * docker/distribution's `VerifySigningKey` (registry/auth/token/token.go, v2.8.2, the version
 * Debian's notary-server is built with). The header names the key in one of three ways, tried in
 * this order:
 *   x5c — a certificate chain (leaf first) that must verify up to a certificate of the bundle,
 *         every certificate valid now; the leaf's key signed the token;
 *   jwk — the key itself; its libtrust ID must be one of the bundle's keys, or, when the JWK
 *         carries its own `x5c`, that chain must verify and its leaf must hold the same key;
 *   kid — the libtrust ID of the public key of one of the bundle's certificates.
 */
import { X509Certificate, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { fail } from '../errors.js';
import { fromBase64 } from '../util/bytes.js';
import type { JwsHeader } from './jws.js';
import { libtrustKeyId } from './libtrust.js';
import { invalidToken } from './token-error.js';

export interface TrustRoots {
  readonly certificates: readonly X509Certificate[];
  /** libtrust key ID → public key of each bundle certificate. */
  readonly keys: ReadonlyMap<string, KeyObject>;
}

/** Longest chain (leaf and intermediates) a header may carry. */
const MAX_CHAIN = 5;

/** Builds the trust set from certificates (as distribution does from its bundle file). */
export function trustRootsFromCertificates(certificates: readonly X509Certificate[]): TrustRoots {
  if (certificates.length === 0) {
    fail('CONFIG_INVALID', 'token auth requires at least one token signing root certificate');
  }
  const keys = new Map<string, KeyObject>();
  for (const cert of certificates) keys.set(libtrustKeyId(cert.publicKey), cert.publicKey);
  return { certificates: [...certificates], keys };
}

/** Reads every CERTIFICATE block of a PEM bundle; other block types are ignored, like distribution does. */
export function trustRootsFromPem(pem: string): TrustRoots {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  const certificates = blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      return fail('CONFIG_INVALID', `token auth root certificate ${i + 1} cannot be parsed`, {
        cause: err,
      });
    }
  });
  return trustRootsFromCertificates(certificates);
}

function validAt(cert: X509Certificate, now: Date): boolean {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  const t = now.getTime();
  // Go compares whole seconds: not before NotBefore, not after NotAfter.
  return Number.isFinite(from) && Number.isFinite(to) && t >= from && t <= to + 999;
}

function issuedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  if (!issuer.ca || !child.checkIssued(issuer)) return false;
  try {
    return child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/**
 * Verifies `chain` (leaf first, then intermediates in any order) up to one of `roots` and returns
 * the leaf. Like Go's x509 Verify with ExtKeyUsageAny: every certificate on the path must be
 * valid at `now`, every issuer must be a CA, and a leaf that is itself a root is trusted directly.
 */
export function verifyCertificateChain(
  chain: readonly X509Certificate[],
  roots: readonly X509Certificate[],
  now: Date
): X509Certificate {
  const leaf = chain[0];
  if (leaf === undefined) return invalidToken('empty certificate chain');
  if (!validAt(leaf, now)) invalidToken('token signing certificate is expired or not yet valid');
  if (roots.some((root) => root.raw.equals(leaf.raw))) return leaf;
  const intermediates = chain.slice(1);

  const reaches = (cert: X509Certificate, used: Set<X509Certificate>): boolean => {
    if (roots.some((root) => validAt(root, now) && issuedBy(cert, root))) return true;
    for (const next of intermediates) {
      if (used.has(next) || !validAt(next, now) || !issuedBy(cert, next)) continue;
      if (reaches(next, new Set([...used, next]))) return true;
    }
    return false;
  };
  if (!reaches(leaf, new Set()))
    invalidToken('token certificate chain does not verify to a trusted root');
  return leaf;
}

function parseX5c(x5c: readonly unknown[]): X509Certificate[] {
  if (x5c.length === 0 || x5c.length > MAX_CHAIN)
    invalidToken(`x5c must hold 1 to ${MAX_CHAIN} certificates`);
  return x5c.map((entry, i) => {
    const der = typeof entry === 'string' ? fromBase64(entry) : null;
    if (der === null || der.length === 0) return invalidToken(`x5c certificate ${i} is not base64`);
    try {
      return new X509Certificate(der);
    } catch (err) {
      return invalidToken(`x5c certificate ${i} cannot be parsed`, err);
    }
  });
}

const PRIVATE_JWK_FIELDS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

function keyFromJwk(jwk: Readonly<Record<string, unknown>>): KeyObject {
  if (PRIVATE_JWK_FIELDS.some((f) => f in jwk))
    invalidToken('token header jwk holds private key material');
  try {
    const bare: Record<string, unknown> = { ...jwk };
    delete bare.x5c;
    return createPublicKey({ key: bare as JsonWebKey, format: 'jwk' });
  } catch (err) {
    return invalidToken('token header jwk is not a public key', err);
  }
}

/** The trusted public key that the header says signed the token; throws invalid_token otherwise. */
export function resolveSigningKey(header: JwsHeader, roots: TrustRoots, now: Date): KeyObject {
  if (header.x5c !== undefined) {
    return verifyCertificateChain(parseX5c(header.x5c), roots.certificates, now).publicKey;
  }
  if (header.jwk !== undefined) {
    const key = keyFromJwk(header.jwk);
    const id = libtrustKeyId(key);
    const x5c = header.jwk.x5c;
    if (x5c === undefined) {
      if (!roots.keys.has(id)) invalidToken('token header jwk is not a trusted key');
      return key;
    }
    if (!Array.isArray(x5c)) return invalidToken('jwk x5c must be an array');
    const leaf = verifyCertificateChain(parseX5c(x5c), roots.certificates, now);
    if (libtrustKeyId(leaf.publicKey) !== id) invalidToken('jwk does not match its certificate');
    return key;
  }
  if (header.kid !== undefined && header.kid !== '') {
    const key = roots.keys.get(header.kid);
    if (key === undefined)
      invalidToken(`token signed by untrusted key with ID ${JSON.stringify(header.kid)}`);
    return key;
  }
  return invalidToken('token header names no signing key (x5c, jwk or kid)');
}
