/**
 * What src/crypto/x509.ts reads from a certificate beyond node:crypto's X509Certificate on Node 20
 * (signature algorithm OID, every subject CN, validity as dates), parsed by @peculiar/asn1-x509's
 * Certificate schema (through src/crypto/asn1-lib.ts) — the ASN.1 layer @peculiar/x509 itself parses with (src/crypto/x509-lib.ts
 * issues through it). Reading needs only this layer: loading the whole library (its dependency
 * injection container, reflect-metadata, CMS, CSR and PKCS#9 schemas) would double the start-up
 * of `countersign check` (docs/client.md "Start-up time").
 */
import { AsnConvert, Certificate } from './asn1-lib.js';
import { CountersignError, fail } from '../errors.js';

/** What src/crypto/x509.ts reads from a certificate beyond node:crypto's X509Certificate. */
export interface CertificateFields {
  readonly signatureAlgorithmOid: string;
  /** Every CN of the subject, in the order they appear (Go uses the last). */
  readonly commonNames: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
}

const OID_CN = '2.5.4.3';

type AttributeValue = Certificate['tbsCertificate']['subject'][number][number]['value'];
type ValidityTime = Certificate['tbsCertificate']['validity']['notBefore'];

/** Reads a DER certificate's signature algorithm, subject CNs and validity; CERT_INVALID if it cannot. */
export function readCertificateFields(der: Uint8Array): CertificateFields {
  let cert: Certificate;
  try {
    cert = AsnConvert.parse(der, Certificate);
  } catch (cause) {
    throw new CountersignError('CERT_INVALID', 'not a parsable X.509 certificate', { cause });
  }
  const tbs = cert.tbsCertificate;
  const commonNames: string[] = [];
  for (const rdn of tbs.subject)
    for (const atv of rdn) if (atv.type === OID_CN) commonNames.push(directoryString(atv.value));
  return {
    signatureAlgorithmOid: cert.signatureAlgorithm.algorithm,
    commonNames,
    notBefore: validityTime(tbs.validity.notBefore),
    notAfter: validityTime(tbs.validity.notAfter),
  };
}

/**
 * A directory string as Go reads it: TeletexString as Latin-1 (as the ASN.1 layer decodes it),
 * BMPString as UTF-16, the others as UTF-8.
 */
function directoryString(v: AttributeValue): string {
  const text =
    v.utf8String ??
    v.printableString ??
    v.teletexString ??
    v.bmpString ??
    v.ia5String ??
    v.universalString;
  if (text !== undefined) return text;
  return v.anyValue ? Buffer.from(v.anyValue).toString('utf8') : '';
}

/**
 * UTCTime or GeneralizedTime in the forms X.509 allows: whole seconds, and for UTCTime the years
 * 1950–2049. The ASN.1 layer turns a malformed time into some date (year 1899 for garbage), so a
 * date out of its type's range, or with a fraction of a second, is refused as malformed.
 */
function validityTime(t: ValidityTime): Date {
  const utc = t.utcTime;
  const date = utc ?? t.generalTime;
  const year = date?.getUTCFullYear() ?? NaN;
  const inRange = utc ? year >= 1950 && year <= 2049 : year >= 1950 && year <= 9999;
  if (!date || Number.isNaN(date.getTime()) || !inRange || date.getUTCMilliseconds() !== 0)
    fail('CERT_INVALID', `unsupported certificate time ${date ? date.toISOString() : '(none)'}`);
  return new Date(date.getTime());
}
