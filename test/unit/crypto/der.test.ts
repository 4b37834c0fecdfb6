/**
 * The small DER reader (src/crypto/der.ts): lengths in short and long form, bounds, BER forms it
 * refuses, object identifiers — and, on arbitrary bytes, either elements inside the buffer or a
 * DerError, never another exception.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  children,
  DerError,
  expectElement,
  oidText,
  readElement,
  TAG,
} from '../../../src/crypto/der.js';

const bytes = (...b: number[]) => Uint8Array.from(b);
const isDerError = (err: unknown) => err instanceof DerError;

describe('DER elements', () => {
  it('reads short and long lengths', () => {
    assert.deepEqual(readElement(bytes(0x04, 0x02, 1, 2), 0, 4), { tag: 4, start: 2, end: 4 });
    const long = new Uint8Array(4 + 300);
    long.set([0x04, 0x82, 0x01, 0x2c]);
    assert.deepEqual(readElement(long, 0, long.length), { tag: 4, start: 4, end: 304 });
  });

  it('refuses an element running past its container, an indefinite length and a long tag', () => {
    assert.throws(() => readElement(bytes(0x04, 0x03, 1, 2), 0, 4), isDerError);
    assert.throws(() => readElement(bytes(0x04, 0x02, 1, 2), 0, 3), isDerError);
    assert.throws(() => readElement(bytes(0x30, 0x80, 0, 0), 0, 4), isDerError);
    assert.throws(() => readElement(bytes(0x1f, 0x81, 0x01, 0x00), 0, 4), isDerError);
    assert.throws(() => readElement(bytes(0x04, 0x85, 1, 1, 1, 1, 1), 0, 7), isDerError);
    assert.throws(() => readElement(bytes(0x04), 0, 1), isDerError);
  });

  it('lists the children of a constructed element and checks the expected tag', () => {
    const seq = bytes(0x30, 0x06, 0x02, 0x01, 0x05, 0x04, 0x01, 0x07);
    const outer = expectElement(seq, 0, seq.length, TAG.SEQUENCE);
    assert.deepEqual(
      children(seq, outer).map((c) => c.tag),
      [0x02, 0x04]
    );
    assert.throws(() => expectElement(seq, 0, seq.length, TAG.SET), isDerError);
  });

  it('reads object identifiers, with multi-byte arcs', () => {
    const oid = (...b: number[]) =>
      oidText(bytes(0x06, b.length, ...b), { tag: 6, start: 2, end: 2 + b.length });
    assert.equal(oid(0x55, 0x04, 0x03), '2.5.4.3');
    assert.equal(oid(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02), '1.2.840.10045.4.3.2');
    assert.equal(oid(0x88, 0x37, 0x01), '2.999.1');
    assert.equal(oid(0x06), '0.6');
    assert.throws(() => oid(0x2a, 0x86), isDerError); // truncated
    assert.throws(() => oid(0x2a, 0x80, 0x01), isDerError); // padded
    assert.throws(() => oid(), isDerError);
  });

  it('on any bytes, returns elements within the buffer or throws DerError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (input) => {
        try {
          const el = readElement(input, 0, input.length);
          assert.ok(el.start <= el.end && el.end <= input.length);
          if (el.tag & 0x20) for (const c of children(input, el)) assert.ok(c.end <= el.end);
        } catch (err) {
          if (!(err instanceof DerError)) throw err;
        }
      }),
      { numRuns: 2000 }
    );
  });
});
