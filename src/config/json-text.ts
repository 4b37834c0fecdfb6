/**
 * Reading a JSON configuration text with errors an operator can act on: JSON.parse says where
 * only sometimes, so on failure a small scanner walks the text again to find the line and column
 * of the first character that cannot be JSON.
 */
import { fail } from '../errors.js';

/** Parses `text`; a syntax error stops with CONFIG_INVALID naming `name`, line and column. */
export function parseJsonText(text: string, name: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const at = syntaxErrorOffset(text);
    const { line, column } = lineColumn(text, at);
    const reason =
      err instanceof Error ? err.message.replace(/ in JSON at position \d+.*$/, '') : '';
    return fail('CONFIG_INVALID', `${name}:${line}:${column}: not valid JSON: ${reason}`, {
      cause: err,
    });
  }
}

/** 1-based line and column (in characters) of `offset`. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lines = before.split('\n');
  return { line: lines.length, column: (lines[lines.length - 1] as string).length + 1 };
}

/** Offset of the first character where `text` stops being JSON (text.length when it ends early). */
export function syntaxErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  class Stop extends Error {}
  const stop = (): never => {
    throw new Stop();
  };
  const expect = (s: string) => {
    if (text.startsWith(s, i)) i += s.length;
    else {
      // Point at the first character that differs.
      let k = 0;
      while (k < s.length && text[i + k] === s[k]) k++;
      i += k;
      stop();
    }
  };
  const str = () => {
    expect('"');
    while (i < text.length && text[i] !== '"') {
      const c = text.charCodeAt(i);
      if (c < 0x20) stop();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) stop();
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) stop();
      }
      i++;
    }
    expect('"');
  };
  const num = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m || m[0] === '' || m[0] === '-') stop();
    i += (m as RegExpExecArray)[0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        str();
        ws();
        expect(':');
        value();
        ws();
        if (text[i] === ',') i++;
        else return expect('}');
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else return expect(']');
      }
    }
    if (c === '"') return str();
    if (c === 't') return expect('true');
    if (c === 'f') return expect('false');
    if (c === 'n') return expect('null');
    return num();
  };
  try {
    value();
    ws();
    return i < text.length ? i : text.length;
  } catch (err) {
    if (err instanceof Stop) return Math.min(i, text.length);
    throw err;
  }
}
