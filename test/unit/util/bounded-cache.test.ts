/** The bounded map behind every cache an app keeps (src/util/bounded-cache.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedCache } from '../../../src/util/bounded-cache.js';

describe('util/bounded-cache', () => {
  it('never holds more than its bound, dropping the oldest entry first', () => {
    const cache = new BoundedCache<number, string>(3);
    for (let i = 0; i < 1000; i++) {
      cache.set(i, String(i));
      assert.ok(cache.size <= 3, `${cache.size} entries after ${i + 1} inserts`);
    }
    assert.equal(cache.size, 3);
    assert.deepEqual(
      [0, 996, 997, 998, 999].map((k) => cache.get(k)),
      [undefined, undefined, '997', '998', '999']
    );
  });

  it('keeps an entry that is read and drops the ones nobody read', () => {
    const cache = new BoundedCache<string, number>(3);
    cache.set('hot', 0);
    cache.set('a', 1);
    cache.set('b', 2);
    for (let i = 0; i < 100; i++) {
      assert.equal(cache.get('hot'), 0, `'hot' was dropped after ${i} inserts`);
      cache.set(`cold${i}`, i);
      assert.ok(cache.size <= 3);
    }
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('cold98'), 98);
    assert.equal(cache.get('cold99'), 99);
  });

  it('still makes room when every entry was read', () => {
    const cache = new BoundedCache<number, number>(4);
    for (let i = 0; i < 4; i++) cache.set(i, i);
    for (let i = 0; i < 4; i++) cache.get(i);
    cache.set(4, 4);
    assert.equal(cache.size, 4);
    // Every entry had its second chance; the oldest of them, passed over first, goes.
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((k) => cache.get(k)),
      [undefined, 1, 2, 3, 4]
    );
  });

  it('replacing a key does not grow it, and getOrSet computes once', () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set('a', 1);
    cache.set('a', 2);
    assert.equal(cache.size, 1);
    assert.equal(cache.get('a'), 2);
    let made = 0;
    const make = (): number => ++made;
    assert.equal(cache.getOrSet('b', make), 1);
    assert.equal(cache.getOrSet('b', make), 1);
    assert.equal(made, 1);
  });

  it('remembers no failure', () => {
    const cache = new BoundedCache<string, number>(2);
    assert.throws(() =>
      cache.getOrSet('x', () => {
        throw new Error('bad bytes');
      })
    );
    assert.equal(cache.size, 0);
    assert.equal(
      cache.getOrSet('x', () => 7),
      7
    );
  });

  it('refuses a bound below one', () => {
    assert.throws(() => new BoundedCache(0), RangeError);
    assert.throws(() => new BoundedCache(1.5), RangeError);
  });
});
