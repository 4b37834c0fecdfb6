/**
 * `countersign.store.registries` and `countersign.store.policy` through loadConfig
 * (src/store/registry/settings.ts): what is read, and what stops the server at start.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { isCountersignError } from '../../src/errors.js';

const ZONES = [{ staging: 'staging.store.test/', public: 'store.test/' }];
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('registries and review policy settings', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'countersign-registry-settings-'));
    mkdirSync(join(dir, 'certs'));
    writeFileSync(join(dir, 'certs', 'registry-ca.pem'), PEM);
    writeFileSync(join(dir, 'certs', 'not-a-cert.pem'), 'hello');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const load = (store: Record<string, unknown>, zones: unknown = ZONES) => {
    const file = join(dir, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({ countersign: { store: { ...(zones ? { zones } : {}), ...store } } })
    );
    return loadConfig({ config: file, dataDir: join(dir, 'data'), plainHttp: true }, {});
  };
  const refuses = (store: Record<string, unknown>, pattern: RegExp, zones: unknown = ZONES) =>
    assert.throws(
      () => load(store, zones),
      (err) => isCountersignError(err, 'CONFIG_INVALID') && pattern.test(err.message)
    );

  it('without either key: no registries, an empty policy', () => {
    assert.deepEqual(load({}).review, { policy: {} });
  });

  it('reads both registries (the CA file relative to the configuration) and the policy of docs/interfaces.md', () => {
    const review = load({
      registries: {
        staging: { url: 'http://127.0.0.1:5000/', repositoryPrefix: 'staging/' },
        public: {
          url: 'https://registry.store.test',
          repositoryPrefix: 'public/store/',
          ca: 'certs/registry-ca.pem',
          username: 'store',
          password: 'secret',
        },
      },
      policy: {
        maxCompressedBytes: 1048576,
        requireHealthcheck: true,
        requireNonRootUser: true,
        requiredLabels: [],
        maxLayers: 0,
        vulnerabilityBudget: { critical: 0, high: 5 },
      },
    }).review;
    assert.deepEqual(review, {
      staging: { url: 'http://127.0.0.1:5000', repositoryPrefix: 'staging/' },
      public: {
        url: 'https://registry.store.test',
        repositoryPrefix: 'public/store/',
        ca: PEM,
        username: 'store',
        password: 'secret',
      },
      policy: {
        maxCompressedBytes: 1048576,
        requireHealthcheck: true,
        requireNonRootUser: true,
        requiredLabels: [],
        maxLayers: 0,
        vulnerabilityBudget: { critical: 0, high: 5 },
      },
    });
  });

  it('a vulnerability budget alone needs no registry; the repository prefix defaults to none', () => {
    assert.deepEqual(load({ policy: { vulnerabilityBudget: { critical: 0 } } }).review, {
      policy: { vulnerabilityBudget: { critical: 0 } },
    });
    assert.equal(
      load({ registries: { staging: { url: 'http://127.0.0.1:5000' } } }).review.staging
        ?.repositoryPrefix,
      ''
    );
  });

  it('refuses what cannot work, naming the key', () => {
    const staging = { url: 'http://127.0.0.1:5000' };
    refuses(
      { registries: { public: staging } },
      /registries\.public needs countersign\.store\.registries\.staging/
    );
    refuses(
      { policy: { requireHealthcheck: true } },
      /countersign\.store\.policy checks healthcheck of the image, which needs countersign\.store\.registries\.staging/
    );
    refuses({ registries: { staging } }, /need a store: set countersign\.store\.zones/, null);
    refuses(
      { registries: { mirror: staging } },
      /unknown key countersign\.store\.registries\.mirror/
    );
    refuses({ registries: { staging: {} } }, /registries\.staging\.url is required/);
    refuses(
      { registries: { staging: { url: 'ftp://127.0.0.1' } } },
      /registries\.staging\.url must start with http:\/\/ or https:\/\//
    );
    refuses(
      { registries: { staging: { url: 'http://u:p@127.0.0.1:5000' } } },
      /must not carry credentials/
    );
    refuses(
      { registries: { staging: { ...staging, repositoryPrefix: 'Staging' } } },
      /repositoryPrefix "Staging" must be empty or lower-case/
    );
    refuses(
      { registries: { staging: { ...staging, ca: 'certs/missing.pem' } } },
      /registries\.staging\.ca: cannot read .*missing\.pem/
    );
    refuses(
      { registries: { staging: { ...staging, ca: 'certs/not-a-cert.pem' } } },
      /holds no PEM certificate/
    );
    refuses(
      { registries: { staging: { ...staging, password: 'x' } } },
      /password needs countersign\.store\.registries\.staging\.username/
    );
    refuses(
      { registries: { staging: { ...staging, token: 'x' } } },
      /unknown key countersign\.store\.registries\.staging\.token/
    );
    refuses(
      { policy: { maxLayers: -1 } },
      /^countersign\.store\.policy\.maxLayers must be a non-negative integer \(got number -1\)$/
    );
    refuses(
      { policy: { vulnerabilityBudget: { severe: 1 } } },
      /^unknown key countersign\.store\.policy\.vulnerabilityBudget\.severe: a severity must be one of/
    );
  });
});
