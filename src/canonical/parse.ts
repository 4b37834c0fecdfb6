/**
 * The one way JSON from a client (or any peer) is parsed: the nesting depth is checked on the
 * raw text BEFORE `JSON.parse` builds anything, so a 10 MB upload of `[[[[…` is refused after
 * reading its first MAX_JSON_DEPTH + 1 brackets, in microseconds, instead of blocking the event
 * loop for seconds and growing the heap by gigabytes (issue 20).
 *
 * Why 1,000 and not notary-server's 10,000: notary's own metadata nests at most 6 levels outside
 * a target's `custom` (envelope → signed → delegations → roles → role → paths), docker writes no
 * `custom`, and the store's provenance `custom` is 3 levels deep; so only a hand-made `custom`
 * nested hundreds of levels is refused. In exchange, every recursive walk over client data in
 * Countersign (canonical encoding, deep comparisons, JSON.stringify) stays far from the stack
 * limit — at 4,500 levels one of them overflowed (issue 20) — and the bound is one number. The
 * canonical encoder refuses deeper values with the same limit (src/canonical/encode.ts).
 */
import { fail } from '../errors.js';

/** The deepest nesting of arrays and objects accepted anywhere (`[]` is depth 1). */
export const MAX_JSON_DEPTH = 1000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * Whether `text` nests arrays/objects deeper than `max`. Brackets inside strings do not count.
 * Works on UTF-8 bytes or on a string (ASCII structural characters never occur inside a
 * multi-byte UTF-8 sequence). Stops at the first level over `max`. Malformed text is not judged
 * here: JSON.parse does that afterwards.
 */
export function nestsDeeperThan(text: Uint8Array | string, max: number): boolean {
  // Reads the character inline rather than through an accessor closure: a call per character
  // made this scan cost as much as the JSON.parse after it, and it runs on every upload.
  const bytes = typeof text === 'string' ? undefined : text;
  const chars = typeof text === 'string' ? text : '';
  const length = text.length;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < length; i++) {
    const c = bytes ? bytes[i]! : chars.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
  }
  return false;
}

/**
 * `JSON.parse` with the depth bound checked first. Throws JSON_TOO_DEEP or JSON_INVALID (callers
 * turn them into their API's 400); never a RangeError.
 */
export function parseJson(text: string, maxDepth: number = MAX_JSON_DEPTH): unknown {
  if (nestsDeeperThan(text, maxDepth))
    fail('JSON_TOO_DEEP', `JSON nested deeper than ${maxDepth} levels is not accepted`);
  return parseChecked(text);
}

/** `JSON.parse` of text whose depth was checked already; JSON_INVALID on a syntax error. */
function parseChecked(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    fail('JSON_INVALID', 'not valid JSON', { cause: err });
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** `parseJson` of UTF-8 bytes; invalid UTF-8 is JSON_INVALID. The depth is checked on the bytes, before decoding. */
export function parseJsonBytes(bytes: Uint8Array, maxDepth: number = MAX_JSON_DEPTH): unknown {
  if (nestsDeeperThan(bytes, maxDepth))
    fail('JSON_TOO_DEEP', `JSON nested deeper than ${maxDepth} levels is not accepted`);
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch (err) {
    fail('JSON_INVALID', 'not valid UTF-8', { cause: err });
  }
  return parseChecked(text);
}
