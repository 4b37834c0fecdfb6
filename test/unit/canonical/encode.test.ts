import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { canonicalBytes, compareUtf8, htmlEscapeJson } from '../../../src/canonical/encode.js';
import { isCountersignError } from '../../../src/errors.js';
import { fixturePath } from '../../helpers/paths.js';

interface Vector {
  name: string;
  json: string;
  canonicalBase64?: string;
  error?: string;
}

// The RFC 8785 package, loaded only to show where it disagrees with notary.
const canonicalize = createRequire(import.meta.url)('canonicalize') as (
  v: unknown
) => string | undefined;

const vectors = JSON.parse(readFileSync(fixturePath('canonical/vectors.json'), 'utf8')) as Vector[];

/** Go's float64→int64 conversion is undefined at 2^63 and beyond; we refuse those values. */
const UNDEFINED_IN_GO = new Set(['10^21 and up']);

describe('canonical JSON', () => {
  describe("against vectors printed by notary's Go encoder", () => {
    for (const v of vectors) {
      it(v.name, () => {
        const value: unknown = JSON.parse(v.json);
        if (v.error !== undefined || UNDEFINED_IN_GO.has(v.name)) {
          assert.throws(
            () => canonicalBytes(value),
            (e) => isCountersignError(e, 'CANONICAL_UNSUPPORTED')
          );
          return;
        }
        assert.equal(canonicalBytes(value).toString('base64'), v.canonicalBase64);
      });
    }
    it('covers the cases the foundation issue names', () => {
      const names = vectors.map((v) => v.name).join('\n');
      for (const needed of [
        'control characters',
        'non-ASCII',
        'astral',
        'html',
        'nested arrays',
        'big integers',
      ]) {
        assert.match(names, new RegExp(needed));
      }
    });
  });

  describe('why not the canonicalize package (RFC 8785)', () => {
    it('differs from notary on control characters, astral key order and big numbers', () => {
      const differing = vectors.filter((v) => {
        if (v.canonicalBase64 === undefined) return false;
        const jcs = canonicalize(JSON.parse(v.json));
        return (
          jcs === undefined || Buffer.from(jcs, 'utf8').toString('base64') !== v.canonicalBase64
        );
      });
      const names = differing.map((v) => v.name);
      assert.ok(names.includes('control characters in strings'), names.join(', '));
      assert.ok(names.includes('astral vs BMP-private keys'), names.join(', '));
      // …while ordinary notary metadata encodes the same way in both.
      assert.ok(!names.includes('notary timestamp shape'));
    });
  });

  describe('#compareUtf8', () => {
    it('orders by UTF-8 bytes, not UTF-16 code units', () => {
      assert.ok(compareUtf8('\uffff', '\u{1F600}') < 0);
      assert.ok('\uffff' > '\u{1F600}'); // what a plain JS sort would do
      assert.equal(compareUtf8('a', 'a'), 0);
    });
  });

  describe('fast paths', () => {
    /** The rules written plainly: keys by UTF-8 bytes, every integer through BigInt. */
    const reference = (v: unknown): string => {
      if (typeof v === 'number') return BigInt(v).toString();
      if (typeof v === 'string' || v === null || typeof v === 'boolean') return JSON.stringify(v);
      if (Array.isArray(v)) return `[${v.map(reference).join(',')}]`;
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o).sort((a, b) =>
        Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
      );
      return `{${keys.map((k) => `${JSON.stringify(k)}:${reference(o[k])}`).join(',')}}`;
    };
    it('encode as the plain rules do: key order without surrogates, integers up to 2^63', () => {
      const integer = fc.oneof(
        fc.integer(),
        fc.maxSafeInteger(),
        fc.bigInt({ min: -(2n ** 63n) + 1024n, max: 2n ** 63n - 1024n }).map(Number),
        fc.constant(-0)
      );
      // Strings without `"`, `\` or control characters, where JSON.stringify and Go agree.
      const text = fc
        .string({ unit: 'binary' })
        .map((s) => [...s].filter((ch) => ch >= ' ' && ch !== '"' && ch !== '\\').join(''));
      const value = fc.letrec((tie) => ({
        node: fc.oneof(
          { depthSize: 'small' },
          integer,
          text,
          fc.boolean(),
          fc.array(tie('node'), { maxLength: 4 }),
          fc.dictionary(text, tie('node'), { maxKeys: 6 })
        ),
      })).node;
      fc.assert(
        fc.property(value, (v) => assert.equal(canonicalBytes(v).toString('utf8'), reference(v))),
        { numRuns: 300, seed: 20261207 }
      );
    });
  });

  describe('#htmlEscapeJson', () => {
    it('escapes <, >, &, U+2028 and U+2029 as Go does', () => {
      assert.equal(
        htmlEscapeJson('{"a":"<&>\u2028\u2029"}'),
        '{"a":"\\u003c\\u0026\\u003e\\u2028\\u2029"}'
      );
    });
  });

  it('rejects values JSON cannot carry', () => {
    for (const bad of [undefined, () => 1, Symbol('s'), NaN, Infinity, 0.1]) {
      assert.throws(() => canonicalBytes({ a: bad === undefined ? [undefined] : bad }));
    }
  });
});
