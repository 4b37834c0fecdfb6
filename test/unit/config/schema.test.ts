/**
 * The configuration schema (src/config/schema.ts) as `serve` reads a file: unknown keys in the
 * countersign section refused with the nearest known key, notary-server keys warned about once,
 * JSON errors with line and column, types checked, environment overrides, masking.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, readConfig } from '../../../src/config/load.js';
import { CONFIG_SCHEMA } from '../../../src/config/schema.js';
import {
  entries,
  masked,
  MASK,
  maskUrlPassword,
  overridable,
  withDefaults,
} from '../../../src/config/schema-kit.js';
import { variableFor } from '../../../src/config/env.js';
import { isCountersignError } from '../../../src/errors.js';
import { toLogfmt } from '../../../src/util/log.js';

const dir = mkdtempSync(join(tmpdir(), 'countersign-schema-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(content: unknown): string {
  const path = join(dir, `config-${++n}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

const ZONES = [{ staging: 'staging.store.test/', public: 'store.test/' }];
const STAGING = { url: 'http://127.0.0.1:5000' };

function read(content: unknown, env: NodeJS.ProcessEnv = {}) {
  return readConfig({ config: file(content), dataDir: join(dir, 'data') }, env, dir);
}

const invalid =
  (pattern: RegExp) =>
  (e: unknown): boolean =>
    isCountersignError(e, 'CONFIG_INVALID') && pattern.test(e.message);

/** Sets `value` at a dotted path (`a.b[0].c`) of a fresh object. */
function nest(path: string, value: unknown): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  const parts = path.split('.');
  let at: Record<string, unknown> = root;
  for (const [i, p] of parts.entries()) {
    const last = i === parts.length - 1;
    const list = /^(.*)\[0\]$/.exec(p);
    if (list) {
      const item: Record<string, unknown> = {};
      at[list[1] as string] = [item];
      at = item;
    } else if (last) at[p] = value;
    else at = at[p] = {};
  }
  return root;
}

/** Merges b into a (objects only). */
function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] =
      typeof cur === 'object' &&
      cur &&
      !Array.isArray(cur) &&
      typeof v === 'object' &&
      v &&
      !Array.isArray(v)
        ? merge(cur as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** A store with a staging registry, so every sub-section's keys are meaningful. */
const BASE = {
  countersign: { store: { zones: ZONES, registries: { staging: STAGING } } },
};

describe('configuration schema', () => {
  // One misspelt key in every sub-section of `countersign`.
  // [where the typo goes, a value, the key it should have been, the key path the error names]
  const typos: [string, unknown, string, string][] = [
    ['countersign.publicURL', 'https://n.example', 'publicUrl', 'countersign.publicURL'],
    ['countersign.worker', 2, 'workers', 'countersign.worker'],
    ['countersign.sheduler.enabled', true, 'scheduler', 'countersign.sheduler'],
    ['countersign.scheduler.warnWithn', '7d', 'warnWithin', 'countersign.scheduler.warnWithn'],
    ['countersign.keys.passphase', 'x', 'passphrase', 'countersign.keys.passphase'],
    ['countersign.limits.maxBodyByte', 10, 'maxBodyBytes', 'countersign.limits.maxBodyByte'],
    ['countersign.expiry.timestamps', '1d', 'timestamp', 'countersign.expiry.timestamps'],
    [
      'countersign.expiry.gunPrefixes.acme/.snapshots',
      '1d',
      'snapshot',
      'countersign.expiry.gunPrefixes.acme/.snapshots',
    ],
    [
      'countersign.storage.consistencyWindow',
      0,
      'consistencyWindowMs',
      'countersign.storage.consistencyWindow',
    ],
    ['countersign.auth.tokenLifetme', '5m', 'tokenLifetime', 'countersign.auth.tokenLifetme'],
    [
      'countersign.auth.loginLimits.perAcount.maxFailures',
      3,
      'perAccount',
      'countersign.auth.loginLimits.perAcount',
    ],
    [
      'countersign.auth.loginLimits.perAddress.maxFailure',
      3,
      'maxFailures',
      'countersign.auth.loginLimits.perAddress.maxFailure',
    ],
    ['countersign.store.approval', 2, 'approvals', 'countersign.store.approval'],
    ['countersign.store.autopublish', false, 'autoPublish', 'countersign.store.autopublish'],
    ['countersign.store.zones[0].publc', 'x/', 'public', 'countersign.store.zones[0].publc'],
    [
      'countersign.store.registries.stagin.url',
      'http://x',
      'staging',
      'countersign.store.registries.stagin',
    ],
    [
      'countersign.store.registries.staging.usernme',
      'u',
      'username',
      'countersign.store.registries.staging.usernme',
    ],
    ['countersign.store.policy.maxLayer', 3, 'maxLayers', 'countersign.store.policy.maxLayer'],
    [
      'countersign.store.policy.vulnerabilityBudget.critcal',
      0,
      'critical',
      'countersign.store.policy.vulnerabilityBudget.critcal',
    ],
  ];
  for (const [path, value, meant, named] of typos) {
    it(`refuses ${path} and suggests ${meant}`, () => {
      const doc = merge(BASE, nest(path, value));
      assert.throws(
        () => read(doc),
        (e: unknown) =>
          isCountersignError(e, 'CONFIG_INVALID') &&
          e.message.startsWith(`unknown key ${named} (did you mean "${meant}"?)`)
      );
    });
  }

  it('accepts every key above when it is spelt right', () => {
    const good = [
      ['countersign.publicUrl', 'https://n.example'],
      ['countersign.workers', 2],
      ['countersign.scheduler.warnWithin', '7d'],
      ['countersign.keys.passphrase', 'x'],
      ['countersign.limits.maxBodyBytes', 10],
      ['countersign.expiry.timestamp', '1d'],
      ['countersign.expiry.gunPrefixes.acme/.snapshot', '2d'],
      ['countersign.storage.consistencyWindowMs', 0],
      ['countersign.auth.tokenLifetime', '5m'],
      ['countersign.auth.loginLimits.perAddress.maxFailures', 3],
      ['countersign.store.approvals', 2],
      ['countersign.store.autoPublish', false],
      ['countersign.store.registries.staging.username', 'u'],
      ['countersign.store.policy.maxLayers', 3],
      ['countersign.store.policy.vulnerabilityBudget.critical', 0],
    ] as const;
    let doc: Record<string, unknown> = BASE;
    for (const [p, v] of good) doc = merge(doc, nest(p, v));
    const { config, warnings } = read(doc);
    assert.equal(config.store.approvals, 2);
    assert.equal(config.store.autoPublish, false);
    assert.equal(config.workers, 2);
    assert.equal(config.limits.maxBodyBytes, 10);
    assert.equal(config.expiry.gunPrefixes?.['acme/']?.snapshot, 2 * 86_400_000);
    assert.equal(config.review.policy.vulnerabilityBudget?.critical, 0);
    assert.deepEqual(warnings, []);
  });

  it('reads policy.runHealthcheck: true, an object, or off; refuses other values and a missing staging registry', () => {
    const policy = (runHealthcheck: unknown, registries: unknown = { staging: STAGING }) => ({
      countersign: { store: { zones: ZONES, registries, policy: { runHealthcheck } } },
    });
    assert.equal(read(policy(true)).config.review.runHealthcheck?.timeoutMs, 120_000);
    assert.equal(read(policy(false)).config.review.runHealthcheck, undefined);
    const o = read(policy({ pids: 20, probe: { retries: 2 } })).config.review.runHealthcheck;
    assert.deepEqual([o?.limits.pids, o?.probe.retries], [20, 2]);
    assert.throws(
      () => read(policy('yes')),
      invalid(/countersign\.store\.policy\.runHealthcheck must be true, false or an object/)
    );
    assert.throws(() => read(policy({ pids: 1 })), invalid(/runHealthcheck\.pids must be/));
    assert.throws(() => read(policy({ probe: { interval: '1' } })), invalid(/probe\.interval/));
    assert.throws(
      () => read(policy(true, {})),
      invalid(/healthcheck-run[\s\S]*registries\.staging/)
    );
  });

  it('reports every problem of a file at once', () => {
    assert.throws(
      () =>
        read({
          countersign: { store: { zones: ZONES, approval: 2, autopublish: true }, sheduler: {} },
        }),
      invalid(
        /3 problems[\s\S]*store\.approval[\s\S]*store\.autopublish[\s\S]*countersign\.sheduler/
      )
    );
  });

  it('refuses a misspelt countersign section instead of ignoring it', () => {
    assert.throws(
      () => read({ countersing: { store: { zones: ZONES } } }),
      invalid(/unknown section countersing \(did you mean "countersign"\?\)/)
    );
  });

  it('warns once about notary-server keys it does not know, and still starts', () => {
    const { config, warnings } = read({
      server: { http_addr: '127.0.0.1:4999', tls_min_version: '1.2' },
      storage: { backend: 'sqlite', max_idle: 4 },
      loging: { level: 'debug' },
    });
    assert.equal(config.listen.port, 4999);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /server\.tls_min_version/);
    assert.match(warnings[0] as string, /storage\.max_idle/);
    assert.match(warnings[0] as string, /loging \(did you mean "logging"\?\)/);
  });

  it('gives the line and column of a JSON syntax error', () => {
    const path = file('{\n  "countersign": {\n    "workers": 2,\n  }\n}\n');
    assert.throws(
      () => loadConfig({ config: path }, {}, dir),
      invalid(new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:3: not valid JSON`))
    );
    const unterminated = file('{"countersign": {"store": {"approvals": tru}}}');
    assert.throws(
      () => loadConfig({ config: unterminated }, {}, dir),
      invalid(/:1:44: not valid JSON/)
    );
  });

  it('checks types, naming the key and what was given', () => {
    const cases: [unknown, RegExp][] = [
      [
        { countersign: { store: { zones: ZONES, approvals: '2' } } },
        /countersign\.store\.approvals must be an integer from 1 to 100 \(got the string "2"\)/,
      ],
      [{ countersign: { workers: 1.5 } }, /countersign\.workers must be an integer/],
      [
        { countersign: { store: { zones: ZONES, anonymousPull: 'yes' } } },
        /anonymousPull must be true or false/,
      ],
      [
        { countersign: { expiry: { timestamp: 14 } } },
        /countersign\.expiry\.timestamp must be a DURATION/,
      ],
      [{ countersign: { expiry: { timestamp: '14 days' } } }, /countersign\.expiry\.timestamp/],
      [
        { countersign: { scheduler: { intervalMs: 5 } } },
        /intervalMs must be an integer of at least 10/,
      ],
      [{ storage: { db_url: 5 } }, /storage\.db_url must be a string/],
      [
        { repositories: { gun_prefixes: 'a/' } },
        /repositories\.gun_prefixes must be a list of strings/,
      ],
      [{ countersign: { store: [] } }, /countersign\.store must be an object \(got a list\)/],
    ];
    for (const [doc, pattern] of cases)
      assert.throws(() => read(doc), invalid(pattern), String(pattern));
  });

  it('refuses trust_service type remote (notary-signer) with the way to import its keys', () => {
    assert.throws(
      () => read({ trust_service: { type: 'remote', hostname: 'signer', port: '7899' } }),
      (e: unknown) =>
        isCountersignError(e, 'REMOTE_SIGNER') &&
        /import-notary --signer-db/.test(e.message) &&
        /docs\/migrate\.md/.test(e.message)
    );
    assert.equal(read({ trust_service: { type: 'local' } }).config.keyAlgorithm, 'ecdsa');
  });
});

describe('environment overrides', () => {
  it('reads NOTARY_SERVER_<SECTION>_<KEY> as notary-server does, over the file', () => {
    const { config, document } = read(
      { server: { http_addr: '127.0.0.1:1111' }, storage: { backend: 'sqlite' } },
      {
        NOTARY_SERVER_STORAGE_BACKEND: 'postgres',
        NOTARY_SERVER_STORAGE_DB_URL: 'postgres://u:pw@127.0.0.1:5432/notary',
        NOTARY_SERVER_SERVER_HTTP_ADDR: '127.0.0.1:2222',
        NOTARY_SERVER_CACHING_MAX_AGE_CURRENT_METADATA: '60',
        NOTARY_SERVER_REPOSITORIES_GUN_PREFIXES: 'a.test/ b.test/',
        NOTARY_SERVER_LOGGING_LEVEL: 'warn',
      }
    );
    assert.deepEqual(config.storage, {
      backend: 'postgres',
      url: 'postgres://u:pw@127.0.0.1:5432/notary',
      consistencyWindowMs: 100,
    });
    assert.equal(config.listen.port, 2222);
    assert.equal(config.caching.currentMaxAge, 60);
    assert.deepEqual(config.gunPrefixes, ['a.test/', 'b.test/']);
    assert.equal(config.logLevel, 'warn');
    assert.equal(document.overrides.length, 6);
  });

  it('reads COUNTERSIGN__<SECTION>__<KEY> for the countersign section; flags still win', () => {
    const { config } = readConfig(
      { config: file({ countersign: { store: { zones: ZONES, approvals: 1 } } }), workers: 3 },
      {
        COUNTERSIGN__STORE__APPROVALS: '2',
        COUNTERSIGN__STORE__AUTOPUBLISH: 'false',
        COUNTERSIGN__WORKERS: '2',
        COUNTERSIGN__AUTH__LOGINLIMITS__PERACCOUNT__MAXFAILURES: '4',
        COUNTERSIGN__EXPIRY__TIMESTAMP: '2d',
        // Variables of other jobs, one underscore: never configuration.
        COUNTERSIGN_PASSWORD: 'x',
        COUNTERSIGN_SERVER: 'https://x',
        COUNTERSIGN_TEST: '1',
      },
      dir
    );
    assert.equal(config.store.approvals, 2);
    assert.equal(config.store.autoPublish, false);
    assert.equal(config.workers, 3);
    assert.equal(config.loginLimits.perAccount.maxFailures, 4);
    assert.equal(config.expiry.timestamp, 2 * 86_400_000);
  });

  it('refuses a variable that names no key, a structure, or a bad value, naming the variable', () => {
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [
        { NOTARY_SERVER_STORAGE_DBURL: 'x' },
        /NOTARY_SERVER_STORAGE_DBURL names no configuration key \(did you mean NOTARY_SERVER_STORAGE_DB_URL\?\)/,
      ],
      [
        { COUNTERSIGN__STORE__APPROVAL: '2' },
        /COUNTERSIGN__STORE__APPROVAL names no configuration key \(did you mean COUNTERSIGN__STORE__APPROVALS\?\)/,
      ],
      [
        { COUNTERSIGN__STORE__ZONES: '[]' },
        /COUNTERSIGN__STORE__ZONES: countersign\.store\.zones is a list; set it in the configuration file/,
      ],
      [
        { COUNTERSIGN__WORKERS: 'two' },
        /COUNTERSIGN__WORKERS: countersign\.workers must be an integer/,
      ],
      [
        { COUNTERSIGN__STORE__APPROVALS: '2' },
        /COUNTERSIGN__STORE__APPROVALS: countersign\.store in the configuration file is not an object/,
      ],
      [
        { NOTARY_SERVER_CACHING_MAX_AGE_CURRENT_METADATA: '-1' },
        /NOTARY_SERVER_CACHING_MAX_AGE_CURRENT_METADATA: caching\.max_age\.current_metadata must be an integer from 0/,
      ],
    ];
    for (const [env, pattern] of cases) {
      const doc = env.COUNTERSIGN__STORE__APPROVALS ? { countersign: { store: 'x' } } : {};
      assert.throws(() => read(doc, env), invalid(pattern), String(pattern));
    }
    // An empty variable counts as unset, as in notary-server.
    assert.equal(read({}, { NOTARY_SERVER_STORAGE_BACKEND: '' }).config.storage.backend, 'sqlite');
  });

  it('gives every settable key its own variable', () => {
    const names = entries(CONFIG_SCHEMA)
      .filter((e) => overridable(e.node))
      .map((e) => variableFor(e.path));
    assert.equal(new Set(names).size, names.length);
    assert.ok(names.includes('NOTARY_SERVER_STORAGE_DB_URL'));
    assert.ok(names.includes('COUNTERSIGN__STORE__APPROVALS'));
    for (const taken of [
      'COUNTERSIGN_KEY_PASSPHRASE',
      'COUNTERSIGN_PASSWORD',
      'COUNTERSIGN_TEST',
      'COUNTERSIGN_SERVER',
      'COUNTERSIGN_USER',
      'COUNTERSIGN_CA',
      'COUNTERSIGN_WORKER',
    ])
      assert.ok(!names.includes(taken), taken);
  });
});

describe('masking', () => {
  it('masks passwords, passphrases, API keys and the password in a database URL', () => {
    const doc = withDefaults(
      {
        storage: {
          backend: 'postgres',
          db_url: 'postgres://notary:s3cret@db:5432/notary?sslmode=disable',
        },
        reporting: { bugsnag: { api_key: 'abc123' } },
        countersign: {
          keys: { passphrase: 'hunter2' },
          store: {
            zones: ZONES,
            registries: { staging: { ...STAGING, username: 'u', password: 'regpw' } },
          },
        },
      },
      CONFIG_SCHEMA
    );
    const text = JSON.stringify(masked(doc, CONFIG_SCHEMA));
    for (const secret of ['s3cret', 'abc123', 'hunter2', 'regpw'])
      assert.ok(!text.includes(secret), secret);
    assert.ok(text.includes(`postgres://notary:${MASK}@db:5432/notary?sslmode=disable`));
    assert.ok(text.includes('"username":"u"'));
    // Defaults are filled in; an endpoint that was not configured is not invented.
    assert.ok(text.includes('"approvals":1'));
    assert.ok(!text.includes('"public":{'));
  });
});

describe('text forms', () => {
  it('masks a password in a key=value connection string and a query', () => {
    assert.equal(
      maskUrlPassword('host=db user=notary password=s3cret dbname=notary'),
      `host=db user=notary password=${MASK} dbname=notary`
    );
    assert.equal(
      maskUrlPassword('postgres://db/notary?user=n&password=s3cret'),
      `postgres://db/notary?user=n&password=${MASK}`
    );
    assert.equal(maskUrlPassword('data/countersign.db'), 'data/countersign.db');
  });

  it('writes logfmt lines for -logf logfmt', () => {
    assert.equal(
      toLogfmt({ level: 'info', msg: 'listening on x', port: 4443, ok: true, gun: 'a/b' }),
      'level=info msg="listening on x" port=4443 ok=true gun=a/b\n'
    );
  });
});
