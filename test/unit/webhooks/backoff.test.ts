/** The retry schedule of a webhook delivery (docs/webhooks.md "Retries"). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { retryDelay, retrySchedule } from '../../../src/webhooks/backoff.js';

describe('webhook retry schedule', () => {
  it('doubles from the first retry, capped, for maxAttempts - 1 waits', () => {
    const policy = { firstRetryMs: 10_000, maxDelayMs: 3_600_000, maxAttempts: 12 };
    assert.deepEqual(
      retrySchedule(policy).map((ms) => ms / 1000),
      [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
    );
    assert.equal(retryDelay(policy, 12), null);
    assert.equal(retryDelay(policy, 13), null);
  });

  it('one attempt means no retry; a huge attempt number stays at the cap', () => {
    assert.deepEqual(retrySchedule({ firstRetryMs: 1000, maxDelayMs: 1000, maxAttempts: 1 }), []);
    const many = { firstRetryMs: 1000, maxDelayMs: 60_000, maxAttempts: 10_000 };
    assert.equal(retryDelay(many, 5000), 60_000);
  });
});
