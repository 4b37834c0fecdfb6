/**
 * A minimal DER reader: just enough to pull from an X.509 certificate what node:crypto's
 * X509Certificate does not expose on Node 20 (the signature algorithm, the exact subject CN,
 * validity as dates). It never allocates copies and refuses anything malformed.
 */
import { fail } from '../errors.js';

export interface Tlv {
  readonly tag: number;
  /** Offset of the first content byte. */
  readonly start: number;
  /** Offset just after the last content byte. */
  readonly end: number;
}

export function readTlv(buf: Uint8Array, offset: number, limit = buf.length): Tlv {
  if (offset + 2 > limit) fail('CERT_INVALID', 'truncated DER');
  const tag = buf[offset] as number;
  let len = buf[offset + 1] as number;
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) fail('CERT_INVALID', 'bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[start + i] as number);
    start += n;
  }
  const end = start + len;
  if (end > limit) fail('CERT_INVALID', 'DER value runs past its container');
  return { tag, start, end };
}

/** The TLVs directly inside a constructed value. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end;) {
    const t = readTlv(buf, at, parent.end);
    out.push(t);
    at = t.end;
  }
  return out;
}

export function decodeOid(buf: Uint8Array, t: Tlv): string {
  const parts: number[] = [];
  let value = 0;
  for (let i = t.start; i < t.end; i++) {
    const b = buf[i] as number;
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      if (parts.length === 0)
        parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

/** UTCTime (tag 0x17) or GeneralizedTime (0x18) in the forms X.509 allows (Z, whole seconds). */
export function decodeTime(buf: Uint8Array, t: Tlv): Date {
  const text = Buffer.from(buf.subarray(t.start, t.end)).toString('latin1');
  const m =
    t.tag === 0x17
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
      : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) fail('CERT_INVALID', `unsupported certificate time ${JSON.stringify(text)}`);
  let year = Number(m[1]);
  if (t.tag === 0x17) year += year < 50 ? 2000 : 1900;
  return new Date(
    Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))
  );
}

/** A directory string (UTF8String, PrintableString, IA5String, TeletexString, BMPString). */
export function decodeString(buf: Uint8Array, t: Tlv): string {
  const bytes = Buffer.from(buf.subarray(t.start, t.end));
  switch (t.tag) {
    case 0x1e: // BMPString: UTF-16BE
      return Buffer.from(bytes).swap16().toString('utf16le');
    case 0x14: // TeletexString: Go treats it as Latin-1
      return bytes.toString('latin1');
    default:
      return bytes.toString('utf8');
  }
}
