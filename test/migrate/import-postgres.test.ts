/**
 * `countersign import-notary` against a real notary-server + notary-signer deployment on
 * PostgreSQL, populated through the notary CLI (test/migrate/notary-scenario.ts): after the
 * import the very same trust dirs list, verify and publish against Countersign; the history is
 * byte for byte, the changefeed carries it, a second import changes nothing, and bad inputs are
 * refused with Countersign's database left as it was.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cleanup } from '../helpers/cleanup.js';
import { startPostgres, type StartedPostgres } from '../helpers/postgres.js';
import { postgresNotaryDatabase, type NotaryDeployment } from '../helpers/notary-deployment.js';
import { startCountersign, type StartedCountersign } from '../helpers/countersign.js';
import { changefeed } from '../helpers/notary-http.js';
import { DockerClient } from '../helpers/docker-cli.js';
import { GUNS, type PopulatedScenario } from './notary-scenario.js';
import {
  assertCleanRun,
  changeExpiry,
  copyNotaryDatabase,
  countersignState,
  importNotary,
  importSources,
  KEY_PASSPHRASE,
  populatedNotarySide,
  type NotaryRow,
} from './import-fixture.js';

describe('import-notary from notary-server + notary-signer on PostgreSQL', () => {
  const cleanup = new Cleanup();
  let pg: StartedPostgres;
  let notary: NotaryDeployment;
  let scenario: PopulatedScenario;
  let dataDir: string;
  let rows: NotaryRow[];
  let keyIds: string[];
  let countersign: StartedCountersign;

  before(async () => {
    pg = cleanup.add(await startPostgres());
    ({ notary, scenario, rows, keyIds } = await populatedNotarySide(cleanup, {
      database: () => postgresNotaryDatabase(pg),
      tufRows: (url) =>
        pg.query<NotaryRow>(
          `SELECT gun, role, version, data, (extract(epoch from created_at) * 1000)::float8 AS created_ms
           FROM tuf_files ORDER BY gun, role, version`,
          [],
          url
        ),
      keyIds: async (url) =>
        (await pg.query<{ key_id: string }>('SELECT key_id FROM private_keys', [], url)).map(
          (r) => r.key_id
        ),
    }));
    dataDir = `${cleanup.tempDir('countersign-')}/data`;
  });
  after(() => cleanup.run());

  const sources = (): string[] => importSources(notary, '--data-dir', dataDir);

  it('--dry-run lists what it would import and writes nothing', async () => {
    const r = await importNotary([...sources(), '--dry-run'], notary.signerEnv);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /dry run: nothing is written/);
    for (const gun of Object.values(GUNS)) {
      const n = rows.filter((x) => x.gun === gun).length;
      assert.match(
        r.stdout,
        new RegExp(`would import ${gun}: ${n} new versions \\(0 already there\\)`)
      );
    }
    assert.doesNotMatch(r.stdout, /would refuse/);
    const state = await countersignState(dataDir, rows, keyIds);
    assert.deepEqual(state, { guns: [], changes: [], rows: [], keys: [] });
  });

  it('imports every version byte for byte, the keys and the changefeed', async () => {
    const r = await importNotary(sources(), notary.signerEnv);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assertCleanRun(r);
    const state = await countersignState(dataDir, rows, keyIds);
    assert.equal(state.rows.length, rows.length);
    for (const [i, row] of rows.entries()) {
      const got = state.rows[i]!;
      assert.deepEqual(got.data, row.data, `${row.gun} ${row.role} v${row.version}`);
      assert.equal(got.createdAt, Math.floor(row.created_ms));
    }
    assert.deepEqual(state.keys.sort(), [...keyIds].sort());
    const feed = await pg.query<{
      gun: string;
      version: number;
      sha256: string;
      category: string;
      created_ms: number;
    }>(
      `SELECT gun, version, coalesce(sha256, '') AS sha256, category,
         (extract(epoch from created_at) * 1000)::float8 AS created_ms FROM changefeed ORDER BY id`,
      [],
      notary.serverDb.url
    );
    assert.ok(feed.some((c) => c.category === 'deletion' && c.gun === GUNS.recreated));
    assert.deepEqual(
      state.changes,
      feed.map((c) => ({ ...c, sha256: c.sha256.trim(), created_ms: Math.floor(c.created_ms) }))
    );
  });

  it('serves the changefeed as notary-server did', async () => {
    countersign = cleanup.add(
      await startCountersign({ dataDir, env: { COUNTERSIGN_KEY_PASSPHRASE: KEY_PASSPHRASE } })
    );
    const shape = (c: {
      GUN: string;
      Version: number;
      SHA256: string;
      Category: string;
      CreatedAt: string;
    }) => ({
      gun: c.GUN,
      version: c.Version,
      // A deletion's sha256 is '' in Countersign; PostgreSQL pads notary's char(64) with spaces.
      sha256: c.SHA256.trim(),
      category: c.Category,
      at: Math.floor(Date.parse(c.CreatedAt)),
    });
    const theirs = await changefeed(notary.sut, 'change_id=0&records=1000');
    const ours = await changefeed(countersign.sut, 'change_id=0&records=1000');
    assert.ok(theirs.count > 5);
    assert.deepEqual(ours.records.map(shape), theirs.records.map(shape));
  });

  it('docker trust inspect agrees with what it says against notary-server', async () => {
    const viaNotary = cleanup.add(await DockerClient.create({ server: notary.sut }));
    const viaCountersign = cleanup.add(await DockerClient.create({ server: countersign.sut }));
    for (const gun of Object.values(GUNS)) {
      const theirs = await viaNotary.trustInspect(gun);
      assert.ok(theirs[0]!.SignedTags.length > 0, gun);
      assert.deepEqual(await viaCountersign.trustInspect(gun), theirs);
    }
  });

  it('the same trust dir lists and verifies every repository without a warning', async () => {
    const client = cleanup.add(await scenario.owner.sharingTrustDir({ server: countersign.sut }));
    for (const [gun, targets] of Object.entries(scenario.targets)) {
      const listed = await client.run(['list', gun]);
      assert.equal(listed.code, 0, listed.stdout + listed.stderr);
      assert.doesNotMatch(listed.stderr + listed.stdout, /warn|error|fatal/i);
      assert.deepEqual(
        (await client.list(gun)).map((t) => t.name).sort(),
        Object.keys(targets).sort()
      );
      for (const [name, content] of Object.entries(targets)) {
        const v = await client.verify(gun, name, content);
        assert.equal(v.code, 0, `${gun} ${name}: ${v.stdout}${v.stderr}`);
      }
    }
    const wrong = await client.verify(GUNS.serverSnap, 'v1', 'not the content');
    assert.notEqual(wrong.code, 0);
  });

  it('the same trust dir publishes to every repository, server-held snapshot key included', async () => {
    const client = cleanup.add(await scenario.owner.sharingTrustDir({ server: countersign.sut }));
    for (const gun of Object.values(GUNS)) {
      const file = `${cleanup.tempDir('publish-')}/after.txt`;
      await import('node:fs').then((fs) => fs.writeFileSync(file, `after import ${gun}`));
      const added = await client.add(gun, 'after-import', file, { publish: true, check: false });
      assert.equal(added.code, 0, added.stdout + added.stderr);
      assert.doesNotMatch(added.stderr + added.stdout, /warn|fatal/i);
      // A client that never saw notary-server reads the new target too.
      const stranger = cleanup.add(await scenario.owner.fresh({ server: countersign.sut }));
      const names = (await stranger.list(gun)).map((t) => t.name);
      assert.ok(names.includes('after-import'), `${gun}: ${names.join(', ')}`);
    }
  });

  it('a second import changes nothing and says so', async () => {
    const before = await countersignState(dataDir, rows, keyIds);
    const r = await importNotary(sources(), notary.signerEnv);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /nothing changed: every version, key and change was already imported/);
    assert.deepEqual(await countersignState(dataDir, rows, keyIds), before);
  });

  describe('refusals leave Countersign as it was', () => {
    it("a database that is not notary-server's", async () => {
      const before = await countersignState(dataDir, rows, keyIds);
      const r = await importNotary(
        ['--from-db', await pg.createDatabase(), '--data-dir', dataDir],
        {}
      );
      assert.equal(r.code, 1);
      assert.match(r.stderr, /not notary-server's database: it has no table tuf_files/);
      assert.deepEqual(await countersignState(dataDir, rows, keyIds), before);
    });

    it("notary-server's database named as the signer database", async () => {
      const r = await importNotary(
        [
          '--from-db',
          notary.serverDb.url,
          '--signer-db',
          notary.serverDb.url,
          '--data-dir',
          dataDir,
        ],
        notary.signerEnv
      );
      assert.equal(r.code, 1);
      assert.match(r.stderr, /not notary-signer's database: it has no table private_keys/);
    });

    it('a wrong or missing signer passphrase', async () => {
      const fresh = `${cleanup.tempDir('refused-')}/data`;
      const wrong = await importNotary([...sources().slice(0, 4), '--data-dir', fresh], {
        NOTARY_SIGNER_ALIAS1: 'not the passphrase',
      });
      assert.equal(wrong.code, 1);
      assert.match(
        wrong.stderr,
        /does not decrypt with the passphrase in NOTARY_SIGNER_ALIAS1: wrong passphrase/
      );
      const missing = await importNotary([...sources().slice(0, 4), '--data-dir', fresh], {});
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /need the passphrase in NOTARY_SIGNER_ALIAS1/);
      assert.deepEqual(await countersignState(fresh, rows, keyIds), {
        guns: [],
        changes: [],
        rows: [],
        keys: [],
      });
    });

    it('a GUN that is not there', async () => {
      const fresh = `${cleanup.tempDir('refused-')}/data`;
      const r = await importNotary(
        [
          ...sources().slice(0, 4),
          '--data-dir',
          fresh,
          '--gun',
          GUNS.clientSnap,
          '--gun',
          'example.com/nobody',
        ],
        notary.signerEnv
      );
      assert.equal(r.code, 1);
      assert.match(r.stderr, /notary-server has no repository "example.com\/nobody"/);
      assert.deepEqual((await countersignState(fresh, rows, keyIds)).rows, []);
    });

    it('metadata that does not verify', async () => {
      const tampered = await copyNotaryDatabase(pg, notary.serverDb.url, (row) =>
        row.gun === GUNS.serverSnap && row.role === 'targets/releases'
          ? changeExpiry(row.data)
          : row.data
      );
      const fresh = `${cleanup.tempDir('refused-')}/data`;
      const r = await importNotary(['--from-db', tampered, '--data-dir', fresh], {});
      assert.equal(r.code, 1);
      assert.match(r.stderr, /nothing imported: the history does not verify/);
      assert.match(r.stderr, new RegExp(`${GUNS.serverSnap}: .*targets/releases`));
      assert.deepEqual((await countersignState(fresh, rows, keyIds)).rows, []);
      const dry = await importNotary(['--from-db', tampered, '--data-dir', fresh, '--dry-run'], {});
      assert.equal(dry.code, 1);
      assert.match(dry.stdout, /would refuse: example.com\/acme\/server-snap: /);
    });

    it('an unknown flag or a missing --from-db', async () => {
      assert.equal((await importNotary(['--data-dir', dataDir], {})).code, 2);
      assert.equal(
        (await importNotary(['--from-db', 'sqlite:///x', '--data-dir', dataDir], {})).code,
        2
      );
    });
  });
});
