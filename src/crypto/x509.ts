/**
 * X.509 certificates as notary checks them (docs/protocol.md §2.5 step 2): parsed with node:crypto's
 * X509Certificate, plus the few fields Node 20 does not expose (signature algorithm, exact CN,
 * validity as dates) read by the ASN.1 layer of @peculiar/x509 (src/crypto/x509-fields.ts), the
 * library that also issues them.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { CountersignError } from '../errors.js';
import { BoundedCache } from '../util/bounded-cache.js';
import { readCertificateFields } from './x509-fields.js';
import { decodePemBlocks, encodePem } from './pem.js';

export interface Certificate {
  readonly der: Buffer;
  readonly commonName: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCA: boolean;
  readonly signatureAlgorithmOid: string;
  readonly publicKey: KeyObject;
  /** 'ec' | 'rsa' | 'ed25519' | … as node reports the key type. */
  readonly keyAlgorithm: string;
  /** RSA modulus size in bits; 0 for other keys. */
  readonly rsaBits: number;
  /** Extended key usage OIDs, or undefined when the extension is absent. */
  readonly extKeyUsage: readonly string[] | undefined;
  readonly x509: X509Certificate;
}

/** Signature algorithms Go refuses for notary roots (SHA-1), and the older ones nobody should accept. */
const WEAK_SIGNATURE_OIDS = new Map([
  ['1.2.840.113549.1.1.5', 'SHA1WithRSA'],
  ['1.2.840.10040.4.3', 'DSAWithSHA1'],
  ['1.2.840.10045.4.1', 'ECDSAWithSHA1'],
  ['1.2.840.113549.1.1.4', 'MD5WithRSA'],
  ['1.2.840.113549.1.1.2', 'MD2WithRSA'],
]);

/**
 * Certificates parsed before, by their DER: the same root certificate is read many times in one
 * client run (each root version lists it, and its key is rebuilt from its PEM for each check) and
 * in every upload of a repository's root. Bounded: certificates come from clients.
 */
const parsed = new BoundedCache<string, Certificate>(1_000);

/** Parses a DER certificate (the same bytes always give the same, immutable result). */
export function parseCertificate(der: Buffer): Certificate {
  const key = der.toString('base64');
  const known = parsed.get(key);
  if (known) return known;
  const cert = parseNew(Buffer.from(der));
  parsed.set(key, cert);
  return cert;
}

function parseNew(der: Buffer): Certificate {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch (cause) {
    throw new CountersignError('CERT_INVALID', 'not a parsable X.509 certificate', { cause });
  }
  const fields = readCertificateFields(der);
  const publicKey = x509.publicKey;
  const keyAlgorithm = publicKey.asymmetricKeyType ?? 'unknown';
  return {
    der,
    // Go's x509 keeps the last CN of the subject.
    commonName: fields.commonNames.at(-1) ?? '',
    notBefore: fields.notBefore,
    notAfter: fields.notAfter,
    isCA: x509.ca,
    signatureAlgorithmOid: fields.signatureAlgorithmOid,
    publicKey,
    keyAlgorithm,
    rsaBits: keyAlgorithm === 'rsa' ? (publicKey.asymmetricKeyDetails?.modulusLength ?? 0) : 0,
    extKeyUsage: x509.keyUsage,
    x509,
  };
}

/** The name of a weak signature algorithm, or undefined if the certificate's is acceptable. */
export function weakSignatureAlgorithm(cert: Certificate): string | undefined {
  return WEAK_SIGNATURE_OIDS.get(cert.signatureAlgorithmOid);
}

/** Certificates from a PEM bundle; undefined if any block is not a certificate or none parse. */
export function parseCertificateBundle(pemText: string): Certificate[] | undefined {
  const blocks = decodePemBlocks(pemText);
  if (blocks.length === 0 || blocks.some((b) => b.type !== 'CERTIFICATE')) return undefined;
  try {
    return blocks.map((b) => parseCertificate(b.der));
  } catch {
    return undefined;
  }
}

/** A certificate's PEM as Go writes it: what notary hashes into an x509 key's ID. */
export function certificatePem(cert: Certificate): string {
  return encodePem('CERTIFICATE', cert.der);
}

/** notary's validity rule for root certificates: NotBefore <= now + 1 day, now <= NotAfter, NotBefore <= NotAfter. */
export function certificateValidAt(cert: Certificate, now: Date): boolean {
  const day = 86_400_000;
  return (
    cert.notBefore.getTime() <= cert.notAfter.getTime() &&
    cert.notBefore.getTime() <= now.getTime() + day &&
    now.getTime() <= cert.notAfter.getTime()
  );
}
