import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LoginRateLimiter, addressKey } from '../../../src/auth/rate-limit.js';
import { isCountersignError } from '../../../src/errors.js';
import { ManualClock } from '../../../src/util/clock.js';

const MIN = 60_000;

function limiter(maxKeys?: number) {
  const clock = new ManualClock('2025-01-01T00:00:00Z');
  const l = new LoginRateLimiter({
    clock,
    perAccount: { maxFailures: 3, windowMs: 10 * MIN },
    perAddress: { maxFailures: 5, windowMs: 10 * MIN },
    ...(maxKeys === undefined ? {} : { maxKeys }),
  });
  return { clock, l };
}

describe('login rate limiter', () => {
  it('allows attempts until an account reaches its failure limit, then says how long to wait', () => {
    const { clock, l } = limiter();
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(l.check('alice', '10.0.0.1'), { allowed: true, retryAfterMs: 0 });
      l.recordFailure('alice', '10.0.0.1');
      clock.advance(MIN);
    }
    // failures at t=0, 1, 2 min; now t=3 min: the first leaves the window at t=10 min
    assert.deepEqual(l.check('alice', '10.0.0.2'), {
      allowed: false,
      retryAfterMs: 7 * MIN,
      limitedBy: 'account',
    });
    assert.equal(l.check('bob', '10.0.0.1').allowed, true);
  });

  it('slides: one more attempt is allowed when the oldest failure leaves the window', () => {
    const { clock, l } = limiter();
    for (let i = 0; i < 3; i++) {
      l.recordFailure('alice', '10.0.0.1');
      clock.advance(MIN);
    }
    clock.set(Date.parse('2025-01-01T00:10:00Z') - 1);
    assert.equal(l.check('alice', '10.0.0.1').retryAfterMs, 1);
    clock.advance(1);
    assert.equal(l.check('alice', '10.0.0.1').allowed, true);
    l.recordFailure('alice', '10.0.0.1');
    // failures at 1, 2 and 10 min: blocked until 11 min
    assert.deepEqual(l.check('alice', '10.0.0.1'), {
      allowed: false,
      retryAfterMs: MIN,
      limitedBy: 'account',
    });
  });

  it('limits an address that tries many accounts, and success does not clear it', () => {
    const { l } = limiter();
    for (let i = 0; i < 5; i++) l.recordFailure(`user${i}`, '192.0.2.7');
    l.recordSuccess('user0');
    const d = l.check('someone-else', '192.0.2.7');
    assert.equal(d.allowed, false);
    assert.equal(d.limitedBy, 'address');
    assert.equal(l.check('someone-else', '192.0.2.8').allowed, true);
  });

  it('clears an account on success', () => {
    const { l } = limiter();
    for (let i = 0; i < 3; i++) l.recordFailure('alice', `10.0.0.${i}`);
    assert.equal(l.check('alice', '10.0.1.1').allowed, false);
    l.recordSuccess('alice');
    assert.equal(l.check('alice', '10.0.1.1').allowed, true);
  });

  it('keys IPv6 clients by /64 and IPv4-mapped addresses as IPv4', () => {
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:0DB8:0001:0002:ffff:0:0:9'), '2001:db8:1:2::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(addressKey('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(addressKey('192.0.2.1'), '192.0.2.1');
    const { l } = limiter();
    for (let i = 0; i < 5; i++) l.recordFailure(`u${i}`, `2001:db8::${i}`);
    assert.equal(l.check('x', '2001:db8::ffff').allowed, false);
    assert.equal(l.check('x', '2001:db8:0:1::1').allowed, true);
  });

  it('keeps memory bounded, dropping the stalest keys', () => {
    const { clock, l } = limiter(100);
    for (let i = 0; i < 1000; i++) {
      l.recordFailure(`user${i}`, `10.0.${i >> 8}.${i & 255}`);
      clock.advance(1);
    }
    assert.deepEqual(l.tracked, { accounts: 100, addresses: 100 });
    for (let i = 0; i < 3; i++) l.recordFailure('user999', '10.9.9.9');
    assert.equal(l.check('user999', '10.9.9.9').allowed, false, 'recent keys are kept');
  });

  it('forgets windows that have passed', () => {
    const { clock, l } = limiter();
    l.recordFailure('alice', '10.0.0.1');
    clock.advance(10 * MIN);
    assert.equal(l.check('alice', '10.0.0.1').allowed, true);
    assert.deepEqual(l.tracked, { accounts: 0, addresses: 0 });
  });

  it('refuses nonsense limits', () => {
    const clock = new ManualClock();
    for (const perAccount of [
      { maxFailures: 0, windowMs: 1 },
      { maxFailures: 1, windowMs: 0 },
      { maxFailures: 1.5, windowMs: 1 },
    ]) {
      assert.throws(
        () => new LoginRateLimiter({ clock, perAccount }),
        (e) => isCountersignError(e, 'CONFIG_INVALID')
      );
    }
    assert.throws(
      () => new LoginRateLimiter({ clock, maxKeys: 0 }),
      (e) => isCountersignError(e, 'CONFIG_INVALID')
    );
  });
});
