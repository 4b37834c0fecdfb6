/**
 * `countersign.webhooks`, `countersign.webhookDelivery` and `countersign.jobs` (docs/webhooks.md,
 * docs/store.md "Jobs"): every mistake stops the start with the key's path, nothing is dropped
 * quietly, and the secrets are masked wherever the configuration is printed.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfig } from '../../../src/config/load.js';
import { CONFIG_SCHEMA } from '../../../src/config/schema.js';
import { masked, MASK, withDefaults } from '../../../src/config/schema-kit.js';
import { isCountersignError } from '../../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'countersign-webhooks-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function read(countersign: Record<string, unknown>) {
  const path = join(dir, `config-${++n}.json`);
  writeFileSync(path, JSON.stringify({ countersign }));
  return readConfig({ config: path, dataDir: join(dir, 'data') }, {}, dir);
}

const SECRET = 'sixteen chars ok';
const hook = (over: Record<string, unknown> = {}) => ({
  url: 'https://hooks.example.test/countersign',
  events: ['submission.published'],
  secret: SECRET,
  ...over,
});
const invalid = (pattern: RegExp) => (e: unknown) =>
  isCountersignError(e, 'CONFIG_INVALID') && pattern.test(e.message);

describe('webhook and job settings', () => {
  it('reads receivers and the queue settings, with the defaults', () => {
    const { config } = read({
      webhooks: [hook(), hook({ url: 'http://127.0.0.1:9000/h', events: ['metadata.expiring'] })],
      webhookDelivery: { firstRetry: '5s', maxAttempts: 3 },
      jobs: { staleAfter: '2m' },
    });
    assert.deepEqual(
      config.webhooks.receivers.map((r) => [r.url, r.events]),
      [
        ['https://hooks.example.test/countersign', ['submission.published']],
        ['http://127.0.0.1:9000/h', ['metadata.expiring']],
      ]
    );
    assert.deepEqual(config.webhooks.retry, {
      firstRetryMs: 5000,
      maxDelayMs: 3_600_000,
      maxAttempts: 3,
    });
    assert.equal(config.webhooks.timeoutMs, 10_000);
    assert.equal(config.webhooks.maxQueued, 10_000);
    assert.equal(config.jobs.staleAfterMs, 120_000);
    const none = read({}).config;
    assert.deepEqual(none.webhooks.receivers, []);
    assert.equal(none.jobs.staleAfterMs, 60_000);
  });

  it('stops on every mistake, naming the key', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ webhooks: {} }, /countersign\.webhooks must be a list/],
      [{ webhooks: [hook({ url: 'not a url' })] }, /webhooks\[0\]\.url "not a url" is not a URL/],
      [{ webhooks: [hook({ url: 'ftp://h/x' })] }, /webhooks\[0\]\.url must start with http/],
      [
        { webhooks: [hook({ url: 'https://u:p@h/x' })] },
        /webhooks\[0\]\.url must not carry credentials/,
      ],
      [{ webhooks: [hook({ url: undefined })] }, /webhooks\[0\]\.url is required/],
      [
        { webhooks: [hook({ events: ['submission.publish'] })] },
        /webhooks\[0\]\.events: "submission\.publish" is not an event/,
      ],
      [{ webhooks: [hook({ events: [] })] }, /webhooks\[0\]\.events must list at least one/],
      [{ webhooks: [hook({ secret: 'short' })] }, /webhooks\[0\]\.secret must be .* at least 16/],
      [{ webhooks: [hook({ secret: undefined })] }, /webhooks\[0\]\.secret must be/],
      [{ webhooks: [hook(), hook()] }, /webhooks\[1\]\.url .* is listed twice/],
      [{ webhooks: [hook({ sekret: SECRET })] }, /countersign\.webhooks\[0\]\.sekret/],
      [{ webhookDelivery: { firstRetry: '0s' } }, /webhookDelivery\.firstRetry must be at least/],
      [
        { webhookDelivery: { firstRetry: '1m', maxRetryDelay: '10s' } },
        /maxRetryDelay must not be shorter than firstRetry/,
      ],
      [{ webhookDelivery: { maxAttempts: 0 } }, /maxAttempts/],
      [{ webhookDelivery: { maxQueued: 0 } }, /maxQueued/],
      [{ jobs: { staleAfter: '1s' } }, /countersign\.jobs\.staleAfter must be at least 2s/],
      [{ jobs: { staleAfter: 30 } }, /countersign\.jobs\.staleAfter must be a DURATION/],
    ];
    for (const [doc, pattern] of cases)
      assert.throws(() => read(doc), invalid(pattern), String(pattern));
  });

  it('masks every receiver secret when the configuration is printed', () => {
    const doc = withDefaults(
      {
        countersign: {
          webhooks: [hook(), hook({ url: 'http://h/2', secret: 'another secret!!' })],
        },
      },
      CONFIG_SCHEMA
    );
    const text = JSON.stringify(masked(doc, CONFIG_SCHEMA));
    assert.ok(!text.includes(SECRET) && !text.includes('another secret!!'), text);
    assert.equal(text.split(`"secret":"${MASK}"`).length - 1, 2);
    assert.ok(text.includes('https://hooks.example.test/countersign'));
  });
});
