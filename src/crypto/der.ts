/**
 * A minimal DER reader: tag-length-value elements, object identifiers, and nothing else. It is
 * all src/crypto/x509-fields.ts needs to read the few certificate fields node:crypto's
 * X509Certificate does not expose on Node 20; a general ASN.1 library costs `countersign check`
 * several milliseconds of start-up to load and run (docs/client.md "Start-up time").
 *
 * Every read is bounded by the enclosing element: a length running past it, an indefinite
 * length (BER, not DER), a multi-byte tag or a length over 2^32 is a DerError, never a read
 * outside the buffer.
 */

/** Universal tags used by the certificate reader. */
export const TAG = {
  INTEGER: 0x02,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  NUMERIC_STRING: 0x12,
  PRINTABLE_STRING: 0x13,
  TELETEX_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
  /** [0] EXPLICIT, constructed: the certificate's version. */
  CONTEXT_0: 0xa0,
} as const;

/** Malformed DER; the caller turns it into its own coded error. */
export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

/** One element: its tag byte and where its value lies in the buffer. */
export interface Element {
  readonly tag: number;
  /** Offset of the first value byte. */
  readonly start: number;
  /** Offset just past the value (and so past the element). */
  readonly end: number;
}

/** The element at `at`, which must end by `limit`. */
export function readElement(der: Uint8Array, at: number, limit: number): Element {
  if (at + 2 > limit) throw new DerError('truncated element');
  const tag = der[at] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not supported');
  let length = der[at + 1] as number;
  let start = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0) throw new DerError('indefinite length (BER) is not DER');
    if (count > 4) throw new DerError('length too large');
    if (start + count > limit) throw new DerError('truncated length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (der[start + i] as number);
    start += count;
  }
  const end = start + length;
  if (end > limit) throw new DerError('element runs past its container');
  return { tag, start, end };
}

/** The element at `at`, which must carry `tag`. */
export function expectElement(der: Uint8Array, at: number, limit: number, tag: number): Element {
  const el = readElement(der, at, limit);
  if (el.tag !== tag)
    throw new DerError(`expected tag 0x${tag.toString(16)}, found 0x${el.tag.toString(16)}`);
  return el;
}

/** The elements directly inside a constructed element, in order. */
export function children(der: Uint8Array, parent: Element): Element[] {
  const out: Element[] = [];
  for (let at = parent.start; at < parent.end;) {
    const el = readElement(der, at, parent.end);
    out.push(el);
    at = el.end;
  }
  return out;
}

/** An OBJECT IDENTIFIER's value in dotted form (`2.5.4.3`). */
export function oidText(der: Uint8Array, el: Element): string {
  if (el.tag !== TAG.OID) throw new DerError('not an object identifier');
  if (el.end === el.start) throw new DerError('empty object identifier');
  const arcs: number[] = [];
  let value = 0;
  for (let i = el.start; i < el.end; i++) {
    const byte = der[i] as number;
    // A leading 0x80 pads a subidentifier, which DER forbids.
    if (value === 0 && byte === 0x80) throw new DerError('non-minimal object identifier');
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER) throw new DerError('object identifier arc too large');
    if (byte & 0x80) continue;
    arcs.push(value);
    value = 0;
  }
  if (der[el.end - 1]! & 0x80) throw new DerError('truncated object identifier');
  const first = arcs[0] as number;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}
