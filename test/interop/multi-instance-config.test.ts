/**
 * The settings several instances on PostgreSQL are started with (docs/postgres.md):
 * `countersign serve --db-url URL`, the pool size (`storage.pool_size` or
 * `countersign.storage.poolSize`) and the consistency window, as src/config/load.ts reads them.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serveFlags } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config/load.js';
import { isCountersignError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'countersign-multi-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function load(config: Record<string, unknown>, argv: string[] = []) {
  const file = join(dir, `config-${++n}.json`);
  writeFileSync(file, JSON.stringify(config));
  return loadConfig({ ...serveFlags(argv), config: file, dataDir: join(dir, 'data') }, {}, dir);
}
const invalid = (pattern: RegExp) => (e: unknown) =>
  isCountersignError(e, 'CONFIG_INVALID') && pattern.test(e.message);
const PG = 'postgres://countersign@db.internal:5432/notary';

describe('storage settings for several instances', () => {
  it('selects PostgreSQL with --db-url postgres:// or postgresql://, over the file', () => {
    for (const url of [PG, 'postgresql://u:secret@127.0.0.1/n?sslmode=require', 'POSTGRES://h/d']) {
      assert.deepEqual(
        load({ storage: { backend: 'sqlite', db_url: 'x.db' } }, ['--db-url', url]).storage,
        {
          backend: 'postgres',
          url,
          consistencyWindowMs: 100,
        }
      );
    }
    assert.deepEqual(load({}, [`--db-url=${PG}`]).storage.backend, 'postgres');
  });

  it('takes any other --db-url as an SQLite file, relative to the working directory; refuses other URLs', () => {
    assert.deepEqual(
      load({ storage: { backend: 'postgres', db_url: PG } }, ['--db-url', 'here.db']).storage,
      {
        backend: 'sqlite',
        path: resolve(dir, 'here.db'),
      }
    );
    assert.deepEqual(load({}, ['--db-url', 'file:///var/lib/countersign/c.db']).storage, {
      backend: 'sqlite',
      path: '/var/lib/countersign/c.db',
    });
    assert.deepEqual(load({}, ['--db-url', 'file:rel.db']).storage, {
      backend: 'sqlite',
      path: resolve(dir, 'rel.db'),
    });
    assert.throws(() => load({}, ['--db-url', 'mysql://u@h/db']), invalid(/--db-url/));
    assert.throws(() => load({}, ['--db-url', '']), invalid(/--db-url/));
  });

  it('reads the pool size from storage.pool_size or countersign.storage.poolSize', () => {
    assert.equal(
      load({ storage: { backend: 'postgres', db_url: PG, pool_size: 25 } }).storage.backend,
      'postgres'
    );
    const pool = (c: Record<string, unknown>, argv: string[] = []) => {
      const s = load(c, argv).storage;
      return s.backend === 'postgres' ? s.poolSize : 'sqlite';
    };
    assert.equal(pool({ storage: { backend: 'postgres', db_url: PG, pool_size: 25 } }), 25);
    assert.equal(
      pool({
        storage: { backend: 'postgres', db_url: PG },
        countersign: { storage: { poolSize: 7 } },
      }),
      7
    );
    assert.equal(pool({ storage: { pool_size: 3 } }, ['--db-url', PG]), 3);
    assert.equal(
      pool({ storage: { pool_size: 3 }, countersign: { storage: { poolSize: 3 } } }, [
        '--db-url',
        PG,
      ]),
      3
    );
    assert.equal(pool({}, ['--db-url', PG]), undefined, 'the backend default (10) applies');
    assert.throws(
      () =>
        load({ storage: { pool_size: 3 }, countersign: { storage: { poolSize: 4 } } }, [
          '--db-url',
          PG,
        ]),
      invalid(/disagree/)
    );
    for (const bad of [0, -1, 2.5, '10']) {
      assert.throws(
        () => load({ storage: { pool_size: bad } }, ['--db-url', PG]),
        invalid(/storage\.pool_size/)
      );
      assert.throws(
        () => load({ countersign: { storage: { poolSize: bad } } }, ['--db-url', PG]),
        invalid(/countersign\.storage\.poolSize/)
      );
    }
  });

  it('reads the consistency window: 100 ms unless countersign.storage.consistencyWindowMs says otherwise, 0 turns it off', () => {
    const window = (cs: Record<string, unknown>) => {
      const s = load({ countersign: { storage: cs } }, ['--db-url', PG]).storage;
      return s.backend === 'postgres' ? s.consistencyWindowMs : 'sqlite';
    };
    assert.equal(window({}), 100);
    assert.equal(window({ consistencyWindowMs: 0 }), 0);
    assert.equal(window({ consistencyWindowMs: 250 }), 250);
    for (const bad of [5, -1, 20_000, 1.5, '100']) {
      assert.throws(() => window({ consistencyWindowMs: bad }), invalid(/consistencyWindowMs/));
    }
  });

  it('keeps the notary-server form working', () => {
    assert.deepEqual(load({ storage: { backend: 'postgres', db_url: PG } }).storage, {
      backend: 'postgres',
      url: PG,
      consistencyWindowMs: 100,
    });
    assert.throws(() => load({ storage: { backend: 'postgres' } }), invalid(/storage\.db_url/));
    assert.deepEqual(load({}).storage, {
      backend: 'sqlite',
      path: join(dir, 'data', 'countersign.db'),
    });
  });
});
