/**
 * `countersign import-notary --from-db mysql://…` against notary-server + notary-signer on
 * MariaDB (notary's compose default), into a Countersign that itself runs on PostgreSQL: the
 * same trust dir lists, verifies and publishes afterwards, the changefeed carries the history,
 * a second import changes nothing, and a wrong passphrase or a database that is not notary's is
 * refused with Countersign's database left as it was.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import { startCountersign, type StartedCountersign } from '../helpers/countersign.js';
import { startMariadb, type StartedMariadb } from '../helpers/mariadb.js';
import { mariadbNotaryDatabase, type NotaryDeployment } from '../helpers/notary-deployment.js';
import { changefeed } from '../helpers/notary-http.js';
import { startPostgres } from '../helpers/postgres.js';
import {
  countersignState,
  importNotary,
  importSources,
  KEY_PASSPHRASE,
  populatedNotarySide,
  type NotaryRow,
} from './import-fixture.js';
import { GUNS, type PopulatedScenario } from './notary-scenario.js';

describe('import-notary from notary-server + notary-signer on MariaDB', () => {
  const cleanup = new Cleanup();
  let maria: StartedMariadb;
  let notary: NotaryDeployment;
  let scenario: PopulatedScenario;
  let configFile: string;
  let rows: NotaryRow[];
  let keyIds: string[];
  let countersign: StartedCountersign;

  before(async () => {
    maria = cleanup.add(await startMariadb());
    const database = (url: string) => new URL(url).pathname.slice(1);
    ({ notary, scenario, rows, keyIds } = await populatedNotarySide(cleanup, {
      database: () => mariadbNotaryDatabase(maria),
      tufRows: async (url) =>
        (
          await maria.query<NotaryRow & { data: Buffer }>(
            database(url),
            `SELECT gun, role, version, data, UNIX_TIMESTAMP(created_at) * 1000 AS created_ms
             FROM tuf_files ORDER BY gun, role, version`
          )
        ).map((r) => ({ ...r, created_ms: Number(r.created_ms) })),
      keyIds: async (url) =>
        (
          await maria.query<{ key_id: string }>(database(url), 'SELECT key_id FROM private_keys')
        ).map((r) => r.key_id),
    }));
    const pg = cleanup.add(await startPostgres());
    const dir = cleanup.tempDir('countersign-');
    configFile = join(dir, 'config.json');
    writeFileSync(
      configFile,
      JSON.stringify({ storage: { backend: 'postgres', db_url: await pg.createDatabase() } })
    );
  });
  after(() => cleanup.run());

  const sources = (): string[] => importSources(notary, '--config', configFile);

  it("refuses a wrong passphrase and a database that is not notary's, writing nothing", async () => {
    const wrong = await importNotary(sources(), { NOTARY_SIGNER_ALIAS1: 'wrong' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /wrong passphrase/);
    const other = await importNotary(
      ['--from-db', maria.url(await maria.createDatabase()), '--config', configFile],
      {}
    );
    assert.equal(other.code, 1);
    assert.match(other.stderr, /not notary-server's database: it has no table tuf_files/);
    assert.deepEqual(await countersignState({ config: configFile }, rows, keyIds), {
      guns: [],
      changes: [],
      rows: [],
      keys: [],
    });
  });

  it('imports every version byte for byte and every key, then a second run changes nothing', async () => {
    const first = await importNotary(sources(), notary.signerEnv);
    assert.equal(first.code, 0, first.stderr + first.stdout);
    assert.equal(first.stderr, '');
    const state = await countersignState({ config: configFile }, rows, keyIds);
    assert.equal(state.rows.length, rows.length);
    for (const [i, row] of rows.entries()) {
      assert.deepEqual(state.rows[i]!.data, row.data, `${row.gun} ${row.role} v${row.version}`);
      assert.equal(state.rows[i]!.createdAt, row.created_ms);
    }
    assert.deepEqual(state.keys.sort(), [...keyIds].sort());
    const again = await importNotary(sources(), notary.signerEnv);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /nothing changed/);
    assert.deepEqual(await countersignState({ config: configFile }, rows, keyIds), state);
  });

  it('serves the history and lets the same trust dir publish', async () => {
    countersign = cleanup.add(
      await startCountersign({
        config: JSON.parse((await import('node:fs')).readFileSync(configFile, 'utf8')) as Record<
          string,
          unknown
        >,
        env: { COUNTERSIGN_KEY_PASSPHRASE: KEY_PASSPHRASE },
      })
    );
    const shape = (c: { GUN: string; Version: number; SHA256: string; Category: string }) => ({
      gun: c.GUN,
      version: c.Version,
      sha256: c.SHA256.trim(),
      category: c.Category,
    });
    const theirs = await changefeed(notary.sut, 'change_id=0&records=1000');
    const ours = await changefeed(countersign.sut, 'change_id=0&records=1000');
    assert.ok(theirs.records.some((c) => c.Category === 'deletion'));
    assert.deepEqual(ours.records.map(shape), theirs.records.map(shape));

    const client = cleanup.add(await scenario.owner.sharingTrustDir({ server: countersign.sut }));
    for (const [gun, targets] of Object.entries(scenario.targets)) {
      assert.deepEqual(
        (await client.list(gun)).map((t) => t.name).sort(),
        Object.keys(targets).sort()
      );
    }
    const file = join(cleanup.tempDir('publish-'), 'after.txt');
    writeFileSync(file, 'after the move');
    const added = await client.add(GUNS.serverSnap, 'after-import', file, {
      publish: true,
      check: false,
    });
    assert.equal(added.code, 0, added.stdout + added.stderr);
    const stranger = cleanup.add(await scenario.owner.fresh({ server: countersign.sut }));
    const v = await stranger.verify(GUNS.serverSnap, 'after-import', 'after the move');
    assert.equal(v.code, 0, v.stdout + v.stderr);
  });
});
