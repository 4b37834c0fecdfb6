import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isCountersignError } from '../../../src/errors.js';
import { uiSettings } from '../../../src/ui/settings.js';

const refused = (value: unknown, pattern: RegExp) =>
  assert.throws(
    () => uiSettings({ ui: value }),
    (err: unknown) =>
      isCountersignError(err) && err.code === 'CONFIG_INVALID' && pattern.test(err.message)
  );

describe('countersign.ui settings', () => {
  it('default to a 30-minute idle timeout and a 12-hour session', () => {
    assert.deepEqual(uiSettings({}), { idleMs: 30 * 60_000, absoluteMs: 12 * 3_600_000 });
    assert.deepEqual(uiSettings({ ui: { idleTimeout: '5m', sessionLifetime: '1h' } }), {
      idleMs: 5 * 60_000,
      absoluteMs: 3_600_000,
    });
  });

  it('stop the start on values that would weaken or break sessions', () => {
    refused('30m', /countersign\.ui must be an object/);
    refused({ idleTimeout: 30 }, /idleTimeout must be a DURATION/);
    refused({ idleTimeout: '10s' }, /idleTimeout must be from 1m to 24h/);
    refused({ idleTimeout: '2d' }, /idleTimeout must be from 1m to 24h/);
    refused({ idleTimeout: '1h', sessionLifetime: '30m' }, /sessionLifetime must be at least/);
    refused({ sessionLifetime: '31d' }, /at most 30d/);
  });
});
