import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BodyPace, bodyDeadlineMs } from '../../../src/http/body-pace.js';
import type { CountersignError } from '../../../src/errors.js';

const limits = { graceMs: 20_000, minBytesPerSecond: 500 };

describe('upload body pace', () => {
  it('gives the grace, then one second per minBytesPerSecond bytes', () => {
    assert.equal(bodyDeadlineMs(limits, 0), 20_000);
    assert.equal(bodyDeadlineMs(limits, 500), 21_000);
    assert.equal(bodyDeadlineMs(limits, 50_000), 120_000);
  });

  it('lets a body that keeps pace run, and cuts off one that falls behind, once', () => {
    let now = 0;
    const late: CountersignError[] = [];
    const pace = new BodyPace(
      limits,
      (e) => late.push(e),
      () => now
    );
    try {
      now = 19_999;
      assert.equal(pace.check(), false, 'inside the grace');
      pace.received(5_000); // buys 10 s
      now = 29_999;
      assert.equal(pace.check(), false, 'kept pace');
      now = 30_001;
      assert.equal(pace.check(), true, 'fell behind');
      assert.equal(pace.check(), false, 'reported once');
      assert.equal(late.length, 1);
      assert.equal(late[0]!.code, 'SLOW_BODY');
      assert.match(late[0]!.detail as string, /5000 bytes in 30 s, under 500 bytes a second/);
    } finally {
      pace.stop();
    }
  });

  it('says nothing once stopped (the body ended or failed for another reason)', () => {
    let now = 0;
    const late: CountersignError[] = [];
    const pace = new BodyPace(
      limits,
      (e) => late.push(e),
      () => now
    );
    pace.stop();
    now = 1e9;
    assert.equal(pace.check(), false);
    assert.equal(late.length, 0);
  });
});
