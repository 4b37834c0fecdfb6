/**
 * `import-notary --from-url` from a running notary-server through its public API (as from a
 * hosted Notary service): every root 1..current and the current timestamp, snapshot, targets
 * and delegation, byte for byte. Without the server's keys the repository is read-only, the
 * operator is told about `adopt`, and after `adopt` the owner's trust dir publishes again and a
 * client holding the old root follows.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { openStorage } from '../../src/storage/index.js';
import { Cleanup } from '../helpers/cleanup.js';
import {
  countersignCli,
  startCountersign,
  type StartedCountersign,
} from '../helpers/countersign.js';
import { DEFAULT_PASSPHRASE, NotaryClient } from '../helpers/notary-cli.js';
import { postgresNotaryDatabase, type NotaryDeployment } from '../helpers/notary-deployment.js';
import { startPostgres, type StartedPostgres } from '../helpers/postgres.js';
import { importNotary, KEY_PASSPHRASE } from './import-fixture.js';
import { GUNS, populatedDeployment, type PopulatedScenario } from './notary-scenario.js';

describe('import-notary --from-url, then adopt', () => {
  const cleanup = new Cleanup();
  let pg: StartedPostgres;
  let notary: NotaryDeployment;
  let scenario: PopulatedScenario;
  let dataDir: string;
  let countersign: StartedCountersign;
  /** A copy of the owner's trust dir as notary-server left it. */
  let ownerDir: string;

  before(async () => {
    pg = cleanup.add(await startPostgres());
    ({ notary, scenario } = await populatedDeployment(cleanup, {
      serverDb: await postgresNotaryDatabase(pg),
      signerDb: await postgresNotaryDatabase(pg),
    }));
    ownerDir = cleanup.tempDir('owner-');
    cpSync(scenario.owner.trustDir, ownerDir, { recursive: true });
    dataDir = join(cleanup.tempDir('countersign-'), 'data');
  });
  after(() => cleanup.run());

  const fromUrl = (guns: string[], extra: string[] = []) =>
    importNotary(
      [
        '--from-url',
        notary.sut.url,
        '--ca',
        notary.sut.caFile!,
        ...guns.flatMap((g) => ['--gun', g]),
        '--data-dir',
        dataDir,
        ...extra,
      ],
      {}
    );

  it('refuses a GUN the server does not have and an unreachable server, writing nothing', async () => {
    const missing = await fromUrl([GUNS.serverSnap, 'example.com/acme/nothing']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /the server has no repository example.com\/acme\/nothing/);
    const unreachable = await importNotary(
      ['--from-url', 'https://127.0.0.1:9', '--gun', GUNS.serverSnap, '--data-dir', dataDir],
      {}
    );
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /127\.0\.0\.1:9/);
    const storage = await openStorage(loadConfig({ dataDir }).storage);
    try {
      assert.deepEqual(await storage.meta.listGuns(), []);
    } finally {
      await storage.close();
    }
  });

  it('copies every root and the current files byte for byte, and points at adopt', async () => {
    const r = await fromUrl([GUNS.serverSnap]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(
      r.stdout,
      /note: Countersign holds no timestamp key of example.com\/acme\/server-snap: it is served read-only/
    );
    assert.match(r.stdout, /countersign adopt example.com\/acme\/server-snap --trust-dir/);
    const theirs = await pg.query<{ role: string; version: number; data: Buffer }>(
      `SELECT role, version, data FROM tuf_files WHERE gun = $1 ORDER BY role, version`,
      [GUNS.serverSnap],
      notary.serverDb.url
    );
    const newest = (role: string) => theirs.filter((t) => t.role === role).at(-1)!;
    const expected = [
      ...theirs.filter((t) => t.role === 'root'),
      ...['targets', 'targets/releases', 'snapshot', 'timestamp'].map(newest),
    ];
    assert.ok(
      expected.filter((t) => t.role === 'root').length >= 2,
      'the scenario rotated the root'
    );
    const storage = await openStorage(loadConfig({ dataDir }).storage);
    try {
      for (const t of expected) {
        const got = await storage.meta.getByVersion(GUNS.serverSnap, t.role, t.version);
        assert.deepEqual(got?.data, t.data, `${t.role} v${t.version}`);
      }
    } finally {
      await storage.close();
    }
    const again = await fromUrl([GUNS.serverSnap]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /nothing changed/);
  });

  it('is read-only until adopt; then the owner publishes and an old-root client follows', async () => {
    countersign = cleanup.add(
      await startCountersign({ dataDir, env: { COUNTERSIGN_KEY_PASSPHRASE: KEY_PASSPHRASE } })
    );
    const copyOf = (dir: string) => {
      const to = cleanup.tempDir('trust-');
      cpSync(dir, to, { recursive: true });
      return NotaryClient.create({ server: countersign.sut, trustDir: to });
    };
    const owner = cleanup.add(await copyOf(ownerDir));
    const follower = cleanup.add(await copyOf(ownerDir));
    assert.deepEqual(
      (await follower.list(GUNS.serverSnap)).map((t) => t.name).sort(),
      Object.keys(scenario.targets[GUNS.serverSnap]!).sort()
    );
    const file = join(cleanup.tempDir('target-'), 'moved.txt');
    writeFileSync(file, 'moved in');
    assert.notEqual(
      (await owner.add(GUNS.serverSnap, 'moved', file, { publish: true, check: false })).code,
      0
    );

    const adopted = await countersignCli(
      ['adopt', GUNS.serverSnap, '--trust-dir', owner.trustDir, '--data-dir', dataDir],
      { COUNTERSIGN_KEY_PASSPHRASE: KEY_PASSPHRASE, NOTARY_ROOT_PASSPHRASE: DEFAULT_PASSPHRASE }
    );
    assert.equal(adopted.code, 0, adopted.stderr + adopted.stdout);
    const published = await owner.publish(GUNS.serverSnap, { check: false });
    assert.equal(published.code, 0, published.stdout + published.stderr);
    const v = await follower.verify(GUNS.serverSnap, 'moved', 'moved in');
    assert.equal(v.code, 0, v.stdout + v.stderr);
  });
});
