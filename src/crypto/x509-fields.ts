/**
 * What src/crypto/x509.ts reads from a certificate beyond node:crypto's X509Certificate on Node 20
 * (signature algorithm OID, every subject CN, validity as dates), read with the small DER reader
 * of src/crypto/der.ts. node:crypto (OpenSSL) has parsed the certificate before this runs; this
 * walks only the path to those fields, with Go's crypto/x509 rules where they matter to notary:
 * the strict X.509 time forms, the directory string types Go reads, no trailing data. Loading
 * and running an ASN.1 library for three fields cost `countersign check` most of its
 * root-verification time (docs/client.md "Start-up time").
 */
import { CountersignError, fail } from '../errors.js';
import { children, DerError, expectElement, oidText, TAG, type Element } from './der.js';

/** What src/crypto/x509.ts reads from a certificate beyond node:crypto's X509Certificate. */
export interface CertificateFields {
  readonly signatureAlgorithmOid: string;
  /** Every CN of the subject, in the order they appear (Go uses the last). */
  readonly commonNames: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
}

const OID_CN = '2.5.4.3';
const BIT_STRING = 0x03;

/** Reads a DER certificate's signature algorithm, subject CNs and validity; CERT_INVALID if it cannot. */
export function readCertificateFields(der: Uint8Array): CertificateFields {
  try {
    return readFields(der);
  } catch (cause) {
    if (!(cause instanceof DerError)) throw cause;
    throw new CountersignError(
      'CERT_INVALID',
      `not a parsable X.509 certificate: ${cause.message}`,
      {
        cause,
      }
    );
  }
}

function readFields(der: Uint8Array): CertificateFields {
  const cert = expectElement(der, 0, der.length, TAG.SEQUENCE);
  if (cert.end !== der.length) throw new DerError('trailing data after the certificate');
  const [tbs, signatureAlgorithm, signature, ...extra] = children(der, cert);
  if (!tbs || tbs.tag !== TAG.SEQUENCE || signatureAlgorithm?.tag !== TAG.SEQUENCE)
    throw new DerError('not a certificate');
  if (signature?.tag !== BIT_STRING || extra.length > 0) throw new DerError('not a certificate');
  const algorithm = children(der, signatureAlgorithm)[0];
  if (!algorithm) throw new DerError('empty signature algorithm');

  // TBSCertificate: [0] version (optional), serial, signature, issuer, validity, subject, …
  const fields = children(der, tbs);
  const at = fields[0]?.tag === TAG.CONTEXT_0 ? 1 : 0;
  const expected = [TAG.INTEGER, TAG.SEQUENCE, TAG.SEQUENCE, TAG.SEQUENCE, TAG.SEQUENCE];
  expected.forEach((tag, i) => {
    if (fields[at + i]?.tag !== tag) throw new DerError('malformed TBSCertificate');
  });
  const [notBefore, notAfter, ...more] = children(der, fields[at + 3]!);
  if (!notBefore || !notAfter || more.length > 0) throw new DerError('malformed validity');
  return {
    signatureAlgorithmOid: oidText(der, algorithm),
    commonNames: commonNamesOf(der, fields[at + 4]!),
    notBefore: validityTime(der, notBefore),
    notAfter: validityTime(der, notAfter),
  };
}

/** Name ::= SEQUENCE OF SET OF { type OID, value }: the values of every CN, in order. */
function commonNamesOf(der: Uint8Array, name: Element): string[] {
  const out: string[] = [];
  for (const rdn of children(der, name)) {
    if (rdn.tag !== TAG.SET) throw new DerError('malformed name');
    for (const atv of children(der, rdn)) {
      if (atv.tag !== TAG.SEQUENCE) throw new DerError('malformed name');
      const [type, value, ...rest] = children(der, atv);
      if (!type || !value || rest.length > 0) throw new DerError('malformed name attribute');
      if (oidText(der, type) === OID_CN) out.push(directoryString(der, value));
    }
  }
  return out;
}

/**
 * A directory string as Go's crypto/x509 reads it: UTF8String as UTF-8, TeletexString (and the
 * ASCII types) byte for byte as Latin-1, BMPString as UTF-16 (a trailing NUL dropped); any other
 * type in a CN is refused, as Go refuses the certificate.
 */
function directoryString(der: Uint8Array, el: Element): string {
  const bytes = Buffer.from(der.buffer, der.byteOffset + el.start, el.end - el.start);
  switch (el.tag) {
    case TAG.UTF8_STRING:
      return bytes.toString('utf8');
    case TAG.PRINTABLE_STRING:
    case TAG.TELETEX_STRING:
    case TAG.IA5_STRING:
    case TAG.NUMERIC_STRING:
      return bytes.toString('latin1');
    case TAG.BMP_STRING: {
      if (bytes.length % 2 !== 0) throw new DerError('BMPString of odd length');
      const n = bytes.length;
      const text =
        n >= 2 && bytes[n - 1] === 0 && bytes[n - 2] === 0 ? bytes.subarray(0, -2) : bytes;
      return Buffer.from(text).swap16().toString('utf16le');
    }
    default:
      throw new DerError(`unsupported string type 0x${el.tag.toString(16)} in a CN`);
  }
}

const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;

/**
 * UTCTime or GeneralizedTime in the forms X.509 requires (RFC 5280 §4.1.2.5): whole seconds in
 * UTC (`Z`), UTCTime years 50–99 as 19xx and 00–49 as 20xx, GeneralizedTime from 1950, and a
 * real calendar date. Anything else — an offset, a missing second, a fraction, 31 June — is
 * refused as malformed.
 */
function validityTime(der: Uint8Array, el: Element): Date {
  const text = Buffer.from(der.buffer, der.byteOffset + el.start, el.end - el.start).toString(
    'latin1'
  );
  const m =
    el.tag === TAG.UTC_TIME
      ? UTC_TIME.exec(text)
      : el.tag === TAG.GENERALIZED_TIME
        ? GENERALIZED_TIME.exec(text)
        : null;
  if (!m) fail('CERT_INVALID', `unsupported certificate time ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, ...number[]];
  const year = el.tag === TAG.UTC_TIME ? (y! >= 50 ? 1900 + y! : 2000 + y!) : y!;
  const date = new Date(Date.UTC(year, mo! - 1, d, h, mi, s));
  const real =
    year >= 1950 &&
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === mo! - 1 &&
    date.getUTCDate() === d &&
    date.getUTCHours() === h &&
    date.getUTCMinutes() === mi &&
    date.getUTCSeconds() === s;
  if (!real) fail('CERT_INVALID', `unsupported certificate time ${JSON.stringify(text)}`);
  return date;
}
