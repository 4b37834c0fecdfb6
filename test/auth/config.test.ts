/**
 * The auth keys of the configuration (src/config/load.ts): which token mode a config selects, the
 * defaults of the built-in service, and the combinations refused at start.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { isCountersignError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'countersign-auth-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function load(config: Record<string, unknown>, flags: { publicUrl?: string } = {}) {
  const file = join(dir, `config-${++n}.json`);
  writeFileSync(file, JSON.stringify(config));
  return loadConfig({ config: file, dataDir: join(dir, 'data'), ...flags }, {});
}

const ZONES = [{ staging: 'staging.store.test/', public: 'store.test/' }];
const EXTERNAL = {
  type: 'token',
  options: {
    realm: 'https://auth.example.com/token',
    service: 'notary',
    issuer: 'auth',
    rootcertbundle: 'bundle.pem',
  },
};
const invalid = (pattern: RegExp) => (e: unknown) =>
  isCountersignError(e, 'CONFIG_INVALID') && pattern.test(e.message);

describe('auth configuration', () => {
  it('no auth section and no store: auth off, no zones', () => {
    const c = load({});
    assert.equal(c.builtinAuth, undefined);
    assert.equal(c.externalAuth, undefined);
    assert.deepEqual(c.zones, []);
    assert.equal(c.anonymousPull, false);
  });

  it('a store turns the built-in service on, with anonymous pull and its defaults', () => {
    const c = load({ countersign: { store: { zones: ZONES } } });
    assert.deepEqual(c.zones, ZONES);
    assert.equal(c.anonymousPull, true);
    assert.deepEqual(c.builtinAuth, {
      issuer: 'countersign',
      tokenLifetimeSeconds: 300,
      refreshTokenLifetimeMs: 90 * 86_400_000,
    });
    assert.deepEqual(c.loginLimits, {
      perAccount: { maxFailures: 10, windowMs: 900_000 },
      perAddress: { maxFailures: 30, windowMs: 900_000 },
    });
  });

  it('reads countersign.auth and countersign.store.anonymousPull', () => {
    const c = load({
      countersign: {
        store: { zones: ZONES, anonymousPull: false },
        auth: {
          service: 'notary.example.com',
          issuer: 'store-issuer',
          tokenLifetime: '10m',
          refreshTokenLifetime: '30d',
          loginLimits: { perAccount: { maxFailures: 5, window: '1h' } },
        },
      },
    });
    assert.equal(c.anonymousPull, false);
    assert.deepEqual(c.builtinAuth, {
      service: 'notary.example.com',
      issuer: 'store-issuer',
      tokenLifetimeSeconds: 600,
      refreshTokenLifetimeMs: 30 * 86_400_000,
    });
    assert.deepEqual(c.loginLimits.perAccount, { maxFailures: 5, windowMs: 3_600_000 });
    assert.deepEqual(c.loginLimits.perAddress, { maxFailures: 30, windowMs: 900_000 });
  });

  it('countersign.auth.builtin: true turns it on without a store', () => {
    const c = load({ countersign: { auth: { builtin: true } } });
    assert.equal(c.builtinAuth?.issuer, 'countersign');
    assert.deepEqual(c.zones, []);
  });

  it('an auth section of type token selects the external mode, also with a store', () => {
    const c = load({ auth: EXTERNAL, countersign: { store: { zones: ZONES } } });
    assert.equal(c.builtinAuth, undefined);
    assert.equal(c.externalAuth?.issuer, 'auth');
    assert.equal(c.externalAuth?.rootCertBundle, join(dir, 'bundle.pem'));
    assert.equal(c.anonymousPull, true);
  });

  it('refuses contradictions and bad values', () => {
    assert.throws(
      () => load({ auth: EXTERNAL, countersign: { auth: { builtin: true } } }),
      invalid(/choose one/)
    );
    assert.throws(
      () => load({ countersign: { store: { zones: ZONES }, auth: { builtin: false } } }),
      invalid(/needs auth/)
    );
    assert.throws(
      () => load({ countersign: { auth: { builtin: true, tokenLifetime: '30s' } } }),
      invalid(/60s to 24h/)
    );
    assert.throws(
      () => load({ countersign: { auth: { builtin: true, tokenLifetime: 300 } } }),
      invalid(/tokenLifetime must be a DURATION string/)
    );
    assert.throws(
      () => load({ countersign: { store: { zones: ZONES, anonymousPull: 'yes' } } }),
      invalid(/anonymousPull/)
    );
    assert.throws(
      () => load({ countersign: { store: { zones: [{ staging: 'x', public: 'y/' }] } } }),
      invalid(/end in \//)
    );
    assert.throws(() => load({}, { publicUrl: 'notary.example.com' }), invalid(/absolute http/));
  });

  it('reads trustProxy and minPasswordLength, refusing entries that are no address or range', () => {
    const c = load({
      countersign: {
        auth: { trustProxy: ['10.0.0.0/8', '::1', 'fd00::/8'], minPasswordLength: 16 },
      },
    });
    assert.deepEqual(c.trustProxy, ['10.0.0.0/8', '::1', 'fd00::/8']);
    assert.equal(c.passwordRules.minLength, 16);
    const d = load({});
    assert.deepEqual([d.trustProxy, d.passwordRules.minLength], [[], 12]);
    for (const [trustProxy, message] of [
      [['10.0.0.0/33'], /"10.0.0.0\/33" has a prefix length outside 0..32/],
      [['proxy.example.com'], /"proxy.example.com" is not an IPv4 or IPv6 address/],
      [['10.0.0.1/8/1'], /more than one/],
      ['10.0.0.1', /must be a list of strings/],
    ] as const) {
      assert.throws(
        () => load({ countersign: { auth: { trustProxy } } }),
        invalid(new RegExp(`countersign.auth.trustProxy.*${message.source}`))
      );
    }
    for (const minPasswordLength of [7, 0, 12.5, '12'])
      assert.throws(
        () => load({ countersign: { auth: { minPasswordLength } } }),
        invalid(/countersign.auth.minPasswordLength/)
      );
  });
});
