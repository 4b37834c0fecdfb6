/** `countersign.store` settings of the chain (src/store/settings.ts), through loadConfig. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { isCountersignError } from '../../src/errors.js';
import { DEFAULT_STORE_SETTINGS } from '../../src/store/settings.js';

const ZONES = [{ staging: 'staging.store.test/', public: 'store.test/' }];

function load(store: Record<string, unknown>) {
  const dir = mkdtempSync(join(tmpdir(), 'countersign-store-settings-'));
  try {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ countersign: { store: { zones: ZONES, ...store } } }));
    return loadConfig({ config: file, dataDir: join(dir, 'data'), plainHttp: true }, {});
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('store settings', () => {
  it('defaults: quorum 1, auto-publish, roots for 365 days, the CA for 3650', () => {
    assert.deepEqual(load({}).store, DEFAULT_STORE_SETTINGS);
    assert.deepEqual(DEFAULT_STORE_SETTINGS, {
      approvals: 1,
      autoPublish: true,
      rootLifetimeMs: 365 * 86_400_000,
      caLifetimeMs: 3650 * 86_400_000,
      caCommonName: 'Countersign store CA',
    });
  });

  it('reads every key', () => {
    assert.deepEqual(
      load({
        approvals: 3,
        autoPublish: false,
        rootLifetime: '90d',
        caLifetime: '1000d',
        caCommonName: 'Example Store CA',
      }).store,
      {
        approvals: 3,
        autoPublish: false,
        rootLifetimeMs: 90 * 86_400_000,
        caLifetimeMs: 1000 * 86_400_000,
        caCommonName: 'Example Store CA',
      }
    );
  });

  for (const [what, store, message] of [
    [
      'a quorum of 0',
      { approvals: 0 },
      /countersign\.store\.approvals must be an integer from 1 to 100/,
    ],
    ['a fractional quorum', { approvals: 1.5 }, /approvals/],
    [
      'a string for autoPublish',
      { autoPublish: 'yes' },
      /countersign\.store\.autoPublish must be true or false/,
    ],
    ['a lifetime without a unit', { rootLifetime: '365' }, /countersign\.store\.rootLifetime/],
    [
      'a CA shorter-lived than the roots it issues',
      { rootLifetime: '400d', caLifetime: '300d' },
      /must not be shorter than/,
    ],
    ['an empty CA name', { caCommonName: ' ' }, /caCommonName/],
  ] as const) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => load(store),
        (err) => isCountersignError(err, 'CONFIG_INVALID') && message.test(err.message)
      );
    });
  }
});
