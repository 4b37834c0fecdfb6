import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HashSlots } from '../../../src/auth/hash-slots.js';
import { LoginRateLimiter, addressKey } from '../../../src/auth/rate-limit.js';
import { isCountersignError } from '../../../src/errors.js';
import { openSqlite } from '../../../src/storage/sqlite.js';
import { ManualClock } from '../../../src/util/clock.js';

const MIN = 60_000;
const dir = mkdtempSync(join(tmpdir(), 'countersign-limits-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function limiter() {
  const clock = new ManualClock('2025-01-01T00:00:00Z');
  const storage = openSqlite(join(dir, `db-${++n}.sqlite`));
  const l = new LoginRateLimiter({
    clock,
    store: storage.loginAttempts,
    perAccount: { maxFailures: 3, windowMs: 10 * MIN },
    perAddress: { maxFailures: 5, windowMs: 10 * MIN },
  });
  return { clock, l, storage };
}

describe('login rate limiter', () => {
  it('limits an account per address, never from another address, and says how long to wait', async () => {
    const { clock, l, storage } = limiter();
    for (let i = 0; i < 3; i++) {
      assert.equal((await l.reserve('alice', '10.0.0.1')).ok, true);
      clock.advance(MIN);
    }
    // attempts at t=0, 1, 2 min; now t=3 min: the first leaves the window at t=10 min
    assert.deepEqual(await l.reserve('alice', '10.0.0.1'), {
      ok: false,
      retryAfterMs: 7 * MIN,
      limitedBy: 'account',
    });
    assert.equal((await l.reserve('alice', '10.0.0.2')).ok, true);
    await storage.close();
  });

  it('a success clears its own pair only; the address keeps its other failures', async () => {
    const { l, storage } = limiter();
    for (let i = 0; i < 2; i++) await l.reserve('alice', '10.0.0.1');
    await l.reserve('bob', '10.0.0.1');
    const good = await l.reserve('alice', '10.0.0.1');
    assert.ok(good.ok);
    await l.succeeded(good.id, 'alice', '10.0.0.1');
    assert.equal(await storage.loginAttempts.count({ address: '10.0.0.1' }), 1);
    await storage.close();
  });

  it('keys IPv6 clients by /64 and IPv4-mapped addresses as IPv4', async () => {
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:0DB8:0001:0002:ffff:0:0:9'), '2001:db8:1:2::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(addressKey('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(addressKey('192.0.2.1'), '192.0.2.1');
    const { l, storage } = limiter();
    for (let i = 0; i < 5; i++) await l.reserve(`u${i}`, `2001:db8::${i}`);
    assert.equal((await l.reserve('x', '2001:db8::ffff')).ok, false);
    assert.equal((await l.reserve('x', '2001:db8:0:1::1')).ok, true);
    await storage.close();
  });

  it('refuses nonsense limits', () => {
    const clock = new ManualClock();
    const store = {} as never;
    for (const perAccount of [
      { maxFailures: 0, windowMs: 1 },
      { maxFailures: 1, windowMs: 0 },
      { maxFailures: 1.5, windowMs: 1 },
    ]) {
      assert.throws(
        () => new LoginRateLimiter({ clock, store, perAccount }),
        (e) => isCountersignError(e, 'CONFIG_INVALID')
      );
    }
  });
});

describe('hash slots', () => {
  const tick = () => new Promise((r) => setImmediate(r));

  it('runs at most maxInFlight at once and refuses beyond maxWaiting', async () => {
    const slots = new HashSlots({ maxInFlight: 2, maxWaiting: 1 });
    const a = slots.enter('a')!;
    const b = slots.enter('a')!;
    const c = slots.enter('a')!;
    assert.equal(slots.enter('b'), null, 'the line is full');
    await a.turn();
    await b.turn();
    let cRan = false;
    void c.turn().then(() => (cRan = true));
    await tick();
    assert.equal(cRan, false);
    assert.deepEqual(slots.load, { running: 2, waiting: 1 });
    a.done();
    await tick();
    assert.equal(cRan, true);
    b.done();
    c.done();
    c.done(); // a second done changes nothing
    assert.deepEqual(slots.load, { running: 0, waiting: 0 });
    assert.notEqual(slots.enter('b'), null);
  });

  it('serves addresses in turn: one busy address does not make another wait behind its queue', async () => {
    const slots = new HashSlots({ maxInFlight: 1, maxWaiting: 100 });
    const order: string[] = [];
    const holder = slots.enter('attacker')!;
    await holder.turn();
    const run = async (address: string, label: string) => {
      const t = slots.enter(address)!;
      await t.turn();
      order.push(label);
      t.done();
    };
    const all = [1, 2, 3, 4, 5].map((i) => run('attacker', `attacker-${i}`));
    all.push(run('honest', 'honest'));
    await tick();
    holder.done();
    await Promise.all(all);
    assert.deepEqual(order.slice(0, 2), ['attacker-1', 'honest']);
  });

  it('a ticket given back before its turn frees its place', () => {
    const slots = new HashSlots({ maxInFlight: 1, maxWaiting: 0 });
    const a = slots.enter('a')!;
    assert.equal(slots.enter('a'), null);
    a.done();
    assert.notEqual(slots.enter('a'), null);
  });
});
