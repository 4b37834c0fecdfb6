/**
 * The bounded JSON parser every client body goes through (issue 20, "deep nesting stalls
 * everything"): the depth is refused before JSON.parse builds anything, and the canonical
 * encoder refuses deeper values with a coded error instead of overflowing the stack.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_JSON_DEPTH,
  nestsDeeperThan,
  parseJson,
  parseJsonBytes,
} from '../../../src/canonical/parse.js';
import { canonicalBytes } from '../../../src/canonical/encode.js';
import { isCountersignError } from '../../../src/errors.js';

const nested = (depth: number, open = '[', close = ']') => open.repeat(depth) + close.repeat(depth);

describe('bounded JSON parsing', () => {
  it('accepts exactly MAX_JSON_DEPTH levels and refuses one more, for arrays and objects', () => {
    assert.equal(MAX_JSON_DEPTH, 1000);
    assert.equal(nestsDeeperThan(nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH), false);
    assert.equal(nestsDeeperThan(nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH), true);
    const objects = '{"a":'.repeat(MAX_JSON_DEPTH + 1) + '1' + '}'.repeat(MAX_JSON_DEPTH + 1);
    assert.throws(
      () => parseJson(objects),
      (e) => isCountersignError(e, 'JSON_TOO_DEEP')
    );
    assert.ok(parseJson(nested(MAX_JSON_DEPTH)));
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ a: '['.repeat(5000) + '\\"' + '{'.repeat(5000) });
    assert.equal(nestsDeeperThan(text, 2), false);
    assert.equal(nestsDeeperThan(Buffer.from(text), 2), false);
    assert.equal(nestsDeeperThan('["\\"",[[', 2), true);
  });

  it('refuses a 5-million-deep array (10 MB) in milliseconds, on bytes and on text', () => {
    const bytes = Buffer.from(nested(5_000_000));
    const started = performance.now();
    assert.throws(
      () => parseJsonBytes(bytes),
      (e) => isCountersignError(e, 'JSON_TOO_DEEP')
    );
    assert.throws(
      () => parseJson(bytes.toString('latin1')),
      (e) => isCountersignError(e, 'JSON_TOO_DEEP')
    );
    // It stops at the first level over the bound: a few microseconds; 250 ms absorbs a busy machine.
    assert.ok(performance.now() - started < 250, `took ${performance.now() - started} ms`);
  });

  it('reports syntax and encoding errors as JSON_INVALID, never as a raw exception', () => {
    assert.throws(
      () => parseJson('{bad'),
      (e) => isCountersignError(e, 'JSON_INVALID')
    );
    assert.throws(
      () => parseJsonBytes(Buffer.from([0x22, 0xff, 0x22])),
      (e) => isCountersignError(e, 'JSON_INVALID')
    );
  });
});

describe('canonical encoding of deep values', () => {
  it('encodes MAX_JSON_DEPTH levels and refuses deeper ones with CANONICAL_UNSUPPORTED', () => {
    let ok: unknown = 1;
    for (let i = 0; i < MAX_JSON_DEPTH; i++) ok = [ok];
    assert.equal(canonicalBytes(ok).length, 2 * MAX_JSON_DEPTH + 1);
    let deep: unknown = 1;
    for (let i = 0; i < 50_000; i++) deep = { a: deep };
    assert.throws(
      () => canonicalBytes(deep),
      (e) => isCountersignError(e, 'CANONICAL_UNSUPPORTED') && /deeper than 1000/.test(e.message)
    );
  });
});
