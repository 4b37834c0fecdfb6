/**
 * Canonical JSON exactly as notary's Go encoder (`github.com/docker/go/canonical/json`,
 * `MarshalCanonical`) writes it — docs/protocol.md §5.2:
 *
 * - no whitespace;
 * - object keys sorted by the bytes of their UTF-8 encoding (not by UTF-16 code units, which is
 *   what `Array.prototype.sort` and RFC 8785 use: they differ for characters beyond U+FFFF);
 * - strings escape only `"` and `\`; control characters, `<>&`, U+2028/9 and non-ASCII are raw;
 * - numbers must be integers, written in plain decimal (`1e2` → `100`, `-0` → `0`); anything
 *   else is an error, as in Go, so a document holding `1.5` can never verify.
 *
 * Why not the `canonicalize` package (RFC 8785)? It escapes control characters, sorts by UTF-16
 * and writes non-integers and 1e21+ — the vectors in fixtures/canonical/vectors.json, generated
 * by notary's own encoder (scripts/canonical-vectors.go), show where it differs; see README
 * "Canonical JSON".
 */
import { fail } from '../errors.js';
import { MAX_JSON_DEPTH } from './parse.js';

/** Integers at or beyond 2^63 have no defined conversion in Go's encoder: refuse them. */
const INT64_LIMIT = 2 ** 63;

export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalString(value), 'utf8');
}

export function canonicalString(value: unknown): string {
  const out: string[] = [];
  write(value, out, 0);
  return out.join('');
}

/** `depth` counts the arrays and objects around `value`; deeper than MAX_JSON_DEPTH is refused, never a stack overflow. */
function write(value: unknown, out: string[], depth: number): void {
  switch (typeof value) {
    case 'string':
      out.push(quote(value));
      return;
    case 'number':
      out.push(integer(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'object':
      if (value === null) {
        out.push('null');
        return;
      }
      if (depth >= MAX_JSON_DEPTH)
        fail('CANONICAL_UNSUPPORTED', `nested deeper than ${MAX_JSON_DEPTH} levels`);
      if (Array.isArray(value)) {
        out.push('[');
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out.push(',');
          write(value[i], out, depth + 1);
        }
        out.push(']');
      } else if (value instanceof Uint8Array) {
        // Go encodes []byte as standard base64; builders pass bytes straight through.
        out.push(quote(Buffer.from(value).toString('base64')));
      } else {
        writeObject(value as Record<string, unknown>, out, depth + 1);
      }
      return;
    case 'bigint':
      if (value >= BigInt(INT64_LIMIT) || value < -BigInt(INT64_LIMIT)) {
        fail('CANONICAL_UNSUPPORTED', `integer ${value} is out of the int64 range`);
      }
      out.push(value.toString());
      return;
    case 'undefined':
    case 'function':
    case 'symbol':
      fail('CANONICAL_UNSUPPORTED', `canonical JSON cannot encode a ${typeof value}`);
  }
}

function writeObject(obj: Record<string, unknown>, out: string[], depth: number): void {
  // `undefined` members are left out, like Go's omitempty fields in the structs notary signs.
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined);
  // Code-unit order (the default sort) is UTF-8 byte order unless a key holds a surrogate: one
  // test per key instead of two in every comparison.
  if (keys.some((k) => SURROGATE.test(k))) keys.sort(compareUtf8);
  else keys.sort();
  out.push('{');
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (i > 0) out.push(',');
    out.push(quote(key), ':');
    write(obj[key], out, depth);
  }
  out.push('}');
}

function integer(n: number): string {
  if (!Number.isInteger(n))
    fail('CANONICAL_UNSUPPORTED', `canonical JSON allows integers only (got ${n})`);
  if (Math.abs(n) >= INT64_LIMIT)
    fail('CANONICAL_UNSUPPORTED', `integer ${n} is out of the int64 range`);
  if (Number.isSafeInteger(n)) return String(n); // String(-0) is '0', as Go writes it
  // Above 2^53 String() writes the shortest round-trip digits, not the integer's own.
  return BigInt(n).toString();
}

const NEEDS_ESCAPE = /["\\]/;
const ESCAPES = /["\\]/g;

function quote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? `"${s.replace(ESCAPES, (c) => '\\' + c)}"` : `"${s}"`;
}

/** Any UTF-16 surrogate: only then can code-unit order differ from UTF-8 byte order. */
const SURROGATE = /[\uD800-\uDFFF]/;

/** Order of the UTF-8 encodings, which is code-point order (lone surrogates encode as U+FFFD). */
export function compareUtf8(a: string, b: string): number {
  if (SURROGATE.test(a) || SURROGATE.test(b))
    return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Go's HTML-safe compaction, applied when notary writes an envelope (docs/protocol.md §4.1):
 * `<`, `>`, `&`, U+2028 and U+2029 become `\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029`.
 * Signatures are over the unescaped canonical bytes; the stored file carries the escaped form.
 */
export function htmlEscapeJson(json: string): string {
  return json.replace(
    /[<>&\u2028\u2029]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')
  );
}
