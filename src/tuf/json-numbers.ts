/**
 * Where a JSON text writes a number with a fraction or an exponent (`2.0`, `1e3`).
 *
 * `JSON.parse` turns `2.0` into 2, so a parsed document cannot tell it from `2`; Go's decoder
 * can, and refuses `2.0` for the integer fields of notary's structs (version, length,
 * threshold). A file we accepted with such a literal would be stored byte for byte and then fail
 * to decode in every Go client, so uploads are checked against the text itself.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * Whether valid JSON text writes a number with a fraction or an exponent: outside strings, a
 * run of digits followed by `.`, `e` or `E`. A plain scan, with no match object per token: it
 * runs over every upload, whose strings (hashes in base64) are full of digits.
 */
function hasNonIntegerLiteral(text: string): boolean {
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      for (i++; i < length; i++) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) i++;
        else if (d === QUOTE) break;
      }
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      let j = i + 1;
      while (j < length && text.charCodeAt(j) >= ZERO && text.charCodeAt(j) <= NINE) j++;
      const next = text[j];
      if (next === '.' || next === 'e' || next === 'E') return true;
      i = j - 1;
    }
  }
  return false;
}

/** Dotted key paths (array indexes as numbers) of every non-integer number literal. */
export function nonIntegerNumberPaths(text: string): string[] {
  if (!hasNonIntegerLiteral(text)) return [];
  const out: string[] = [];
  // Each open container: its path and, for objects, the key whose value comes next.
  const stack: { path: string; isArray: boolean; key: string; index: number }[] = [];
  let expectKey = false;
  const here = (): string => {
    const top = stack[stack.length - 1];
    if (!top) return '';
    const part = top.isArray ? String(top.index) : top.key;
    return top.path === '' ? part : `${top.path}.${part}`;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '"') {
      let j = i + 1;
      let value = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\') {
          value += text.slice(j, j + 2);
          j += 2;
        } else value += text[j++];
      }
      const top = stack[stack.length - 1];
      if (expectKey && top && !top.isArray) {
        top.key = decodeKey(value);
        expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      stack.push({ path: here(), isArray: c === '[', key: '', index: 0 });
      expectKey = c === '{';
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.isArray) top.index++;
      else expectKey = true;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      let j = i;
      while (j < text.length && /[-+0-9.eE]/.test(text[j] as string)) j++;
      const literal = text.slice(i, j);
      if (/[.eE]/.test(literal)) out.push(here());
      i = j - 1;
    }
  }
  return out;
}

function decodeKey(raw: string): string {
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}
