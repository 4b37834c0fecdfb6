/**
 * `countersign serve` as operators start it (bin/countersign.js, a real process): notary-server's
 * `-config FILE`, stray arguments and unknown flags refused, typos in the countersign section
 * refused before anything is written, notary-server keys warned about, NOTARY_SERVER_* overrides
 * starting on PostgreSQL, and notary-server's own database (PostgreSQL or SQLite) and
 * notary-signer (`trust_service.type: remote`) refused with the way to import them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
// The test builds notary-server's SQLite file itself; src/ reaches SQLite only through src/storage/sqlite.ts.
import Database from 'better-sqlite3';
import { Cleanup } from '../helpers/cleanup.js';
import { startCountersign } from '../helpers/countersign.js';
import { freePort, run, Service } from '../helpers/proc.js';
import { repoRoot } from '../helpers/paths.js';
import { startPostgres, type StartedPostgres } from '../helpers/postgres.js';

const BIN = join(repoRoot, 'bin/countersign.js');
const NOTARY_SCHEMA = readFileSync(
  join(repoRoot, 'scripts/bench/notary-server-postgres.sql'),
  'utf8'
);

/** Nothing at all in `dir` (or no `dir`): what a refused start must leave. */
function assertUntouched(dir: string): void {
  assert.ok(
    !existsSync(dir) || readdirSync(dir).length === 0,
    `${dir} was written: ${existsSync(dir) ? readdirSync(dir).join(', ') : ''}`
  );
}

/** `countersign serve ARGS` in `cwd`, with only PATH and `env`: for starts that must be refused. */
function serveIn(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return run(process.execPath, [BIN, 'serve', ...args], {
    cwd,
    env: { PATH: process.env.PATH, ...env },
    timeoutMs: 60_000,
  });
}

describe('serve: flags and configuration mistakes', () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run());

  it("starts on the file given with notary-server's -config, and warns once about notary keys it does not know", async () => {
    const dir = cleanup.tempDir('countersign-serve-');
    const port = await freePort();
    const config = join(dir, 'server.json');
    writeFileSync(
      config,
      JSON.stringify({
        server: { http_addr: `127.0.0.1:${port}`, tls_min_version: '1.2' },
        storage: { backend: 'sqlite', db_url: 'notary.db' },
        reporting: { bugsnag: { api_key: 'k' } },
        logging: { level: 'warn', format: 'fancy' },
        countersign: { dataDir: join(dir, 'state') },
      })
    );
    const service = cleanup.add(
      Service.start(
        process.execPath,
        [BIN, 'serve', '-config', config, '-logf', 'logfmt', '--plain-http'],
        {
          cwd: dir,
          env: { PATH: process.env.PATH },
        }
      )
    );
    await service.waitForOutput(new RegExp(`listening on http://127\\.0\\.0\\.1:${port}`), 20_000);
    await service.waitForUrl(`http://127.0.0.1:${port}/_notary_server/health`);
    // The database the file names, relative to the file; the key file in the file's data dir.
    assert.ok(existsSync(join(dir, 'notary.db')));
    assert.ok(existsSync(join(dir, 'state', 'keyring.key')));
    const warnings = service
      .output()
      .split('\n')
      .filter((l) => l.startsWith('warning: ignoring'));
    assert.equal(warnings.length, 1, service.output());
    assert.match(warnings[0] as string, /server\.tls_min_version, logging\.format/);
  });

  it('refuses a stray argument (notary-server users write `serve server.json`) before writing anything', async () => {
    const dir = cleanup.tempDir('countersign-serve-');
    writeFileSync(join(dir, 'server.json'), '{}');
    const r = await serveIn(dir, ['server.json']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /serve takes no arguments, but got "server\.json".*--config FILE/);
    assert.deepEqual(readdirSync(dir), ['server.json']);
  });

  it('refuses unknown flags, naming them and the nearest known one', async () => {
    const dir = cleanup.tempDir('countersign-serve-');
    for (const [args, pattern] of [
      [['-conifg', 'x.json'], /unknown flag -conifg \(did you mean -config\?\)/],
      [['--lisen', '127.0.0.1:0'], /unknown flag --lisen \(did you mean --listen\?\)/],
      [['-listen', '127.0.0.1:0'], /unknown flag -listen \(did you mean --listen\?\)/],
      [['-logf', 'xml'], /-logf must be json or logfmt/],
      [['--workers', 'two'], /--workers must be a positive integer/],
    ] as const) {
      const r = await serveIn(dir, [...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, pattern);
    }
    assertUntouched(join(dir, 'data'));
  });

  it('refuses a typo in the countersign section, naming the key, with nothing written', async () => {
    const dir = cleanup.tempDir('countersign-serve-');
    const config = join(dir, 'server.json');
    writeFileSync(
      config,
      JSON.stringify({
        countersign: { store: { zones: [{ staging: 's.test/', public: 'p.test/' }], approval: 2 } },
      })
    );
    const r = await serveIn(dir, ['-config', config, '--plain-http']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /unknown key countersign\.store\.approval \(did you mean "approvals"\?\)/
    );
    assertUntouched(join(dir, 'data'));
  });

  it('refuses a bad value from the environment before anything is written', async () => {
    const dir = cleanup.tempDir('countersign-serve-');
    const r = await serveIn(dir, ['--plain-http'], { COUNTERSIGN__SCHEDULER__INTERVALMS: '1' });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /COUNTERSIGN__SCHEDULER__INTERVALMS: countersign\.scheduler\.intervalMs must be an integer of at least 10/
    );
    assertUntouched(join(dir, 'data'));
  });

  it('refuses a TLS certificate it cannot read before the database is created', async () => {
    const dir = cleanup.tempDir('countersign-serve-');
    const r = await serveIn(dir, ['--tls-cert', 'missing.crt', '--tls-key', 'missing.key']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /the TLS certificate \(--tls-cert, server\.tls_cert_file\) \S*missing\.crt cannot be read/
    );
    assertUntouched(join(dir, 'data'));
  });

  it('refuses trust_service.type remote (notary-signer), pointing to the import', async () => {
    const dir = cleanup.tempDir('countersign-serve-');
    const config = join(dir, 'server.json');
    writeFileSync(
      config,
      JSON.stringify({
        trust_service: {
          type: 'remote',
          hostname: 'notarysigner',
          port: '7899',
          key_algorithm: 'ecdsa',
        },
      })
    );
    const r = await serveIn(dir, ['-config', config]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /trust_service\.type "remote" \(notary-signer\) is not supported/);
    assert.match(r.stderr, /countersign import-notary --signer-db DSN` \(docs\/migrate\.md\)/);
    assertUntouched(join(dir, 'data'));
  });

  it("refuses an SQLite file holding notary-server's schema and leaves it byte for byte", async () => {
    const dir = cleanup.tempDir('countersign-serve-');
    const file = join(dir, 'notary.db');
    const db = new Database(file);
    db.exec(`CREATE TABLE tuf_files (id integer PRIMARY KEY, created_at datetime, updated_at datetime,
        deleted_at datetime, gun varchar(255) NOT NULL, role varchar(255) NOT NULL,
        version integer NOT NULL, data blob NOT NULL, sha256 char(64), UNIQUE (gun, role, version));
      CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
      INSERT INTO tuf_files (gun, role, version, data) VALUES ('example.com/app', 'root', 1, x'7b7d');`);
    db.close();
    const digest = createHash('sha256').update(readFileSync(file)).digest('hex');
    const r = await serveIn(dir, ['--db-url', file, '--plain-http']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is a notary-server database \(NOTARY_DATABASE/);
    assert.match(r.stderr, /countersign import-notary --from-db DSN` \(docs\/migrate\.md\)/);
    assert.equal(createHash('sha256').update(readFileSync(file)).digest('hex'), digest);
    assert.deepEqual(readdirSync(dir), ['notary.db']);
  });
});

describe('serve on PostgreSQL chosen by NOTARY_SERVER_* variables', () => {
  let pg: StartedPostgres;
  const cleanup = new Cleanup();
  before(async () => {
    pg = await startPostgres();
    cleanup.add(pg);
  });
  after(() => cleanup.run());

  const tables = async (url: string) =>
    (
      await pg.query<{ t: string }>(
        "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
        [],
        url
      )
    ).map((r) => r.t);

  it('NOTARY_SERVER_STORAGE_BACKEND and _DB_URL start Countersign on PostgreSQL', async () => {
    const url = await pg.createDatabase();
    const server = cleanup.add(
      await startCountersign({
        tls: false,
        env: {
          NOTARY_SERVER_STORAGE_BACKEND: 'postgres',
          NOTARY_SERVER_STORAGE_DB_URL: url,
          COUNTERSIGN_KEY_PASSPHRASE: 'serve-start test passphrase',
        },
      })
    );
    const migrated = await pg.query<{ name: string }>(
      'SELECT name FROM schema_migrations ORDER BY version',
      [],
      url
    );
    assert.ok(migrated.length > 0);
    assert.ok((await tables(url)).includes('server_keys'));
    // Nothing went to SQLite in the data dir.
    assert.ok(!existsSync(join(server.dataDir, 'countersign.db')));
  });

  it("refuses notary-server's PostgreSQL database, pointing to import-notary, and changes nothing in it", async () => {
    const url = await pg.createDatabase();
    await pg.query(NOTARY_SCHEMA, [], url);
    // golang-migrate's bookkeeping, as notary's own deployments leave it.
    await pg.query(
      'CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (2, false)',
      [],
      url
    );
    const before = await tables(url);
    const dir = cleanup.tempDir('countersign-serve-');
    const r = await serveIn(dir, ['--plain-http'], {
      NOTARY_SERVER_STORAGE_BACKEND: 'postgres',
      NOTARY_SERVER_STORAGE_DB_URL: url,
      COUNTERSIGN_KEY_PASSPHRASE: 'serve-start test passphrase',
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /the PostgreSQL database is a notary-server database \(NOTARY_DATABASE/);
    assert.match(r.stderr, /countersign import-notary --from-db DSN/);
    assert.deepEqual(await tables(url), before);
    assertUntouched(join(dir, 'data'));
  });

  it('refuses PostgreSQL without a key passphrase before touching the database', async () => {
    const url = await pg.createDatabase();
    const dir = cleanup.tempDir('countersign-serve-');
    const r = await serveIn(dir, ['--plain-http', '--db-url', url]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /set COUNTERSIGN_KEY_PASSPHRASE or a key file \(countersign\.keys\.keyFile\)/
    );
    assert.deepEqual(await tables(url), []);
    assertUntouched(join(dir, 'data'));
  });
});
