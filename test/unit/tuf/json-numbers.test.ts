/**
 * Non-integer number literals (`2.0`, `1e3`), which Go refuses where notary decodes an integer:
 * found in the text, never inside strings, with the key path of each.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nonIntegerNumberPaths } from '../../../src/tuf/json-numbers.js';

const RUNS = { numRuns: 300, seed: 20261207 };

/** The earlier implementation (one regex over strings and numbers), kept as the reference. */
function referenceHasNonInteger(text: string): boolean {
  const tokens = /"(?:[^"\\]|\\.)*"|-?\d+(\.\d+)?([eE][-+]?\d+)?/g;
  for (const m of text.matchAll(tokens)) if (m[1] !== undefined || m[2] !== undefined) return true;
  return false;
}

describe('non-integer number literals', () => {
  it('finds fractions and exponents, with their paths, and nothing inside strings', () => {
    assert.deepEqual(nonIntegerNumberPaths('{"signed":{"version":2.0}}'), ['signed.version']);
    assert.deepEqual(nonIntegerNumberPaths('{"a":[1,-2e3,{"b":3E-1}]}'), ['a.1', 'a.2.b']);
    assert.deepEqual(nonIntegerNumberPaths('{"a":"1.5","b":"x\\"2.0","c":-0,"d":[10,20]}'), []);
    assert.deepEqual(nonIntegerNumberPaths('{"h":"AbC1e5+/9.0==","v":12}'), []);
  });

  it('agrees with the earlier regex on any JSON text, integers and fractions mixed', () => {
    const value = fc.letrec((tie) => ({
      leaf: fc.oneof(
        fc.integer(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.string({ unit: 'binary' }),
        fc.constantFrom('1.5', 'e1', '"2e0"', '\\'),
        fc.boolean(),
        fc.constant(null)
      ),
      node: fc.oneof(
        { depthSize: 'small' },
        tie('leaf'),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(fc.string(), tie('node'), { maxKeys: 4 })
      ),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        const text = JSON.stringify(v);
        assert.equal(nonIntegerNumberPaths(text).length > 0, referenceHasNonInteger(text), text);
      }),
      RUNS
    );
  });
});
