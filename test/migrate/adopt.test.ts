/**
 * Repositories imported without their server keys (no --signer-db) are served read-only, and
 * the one with a server-held snapshot key is wedged: no publish and no key rotation works.
 * `countersign adopt` with the owner's trust dir heals both: the same trust dir publishes again,
 * and a client that cached the old root follows the new one. Bad input changes nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
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
import { startPostgres } from '../helpers/postgres.js';
import { importNotary, KEY_PASSPHRASE } from './import-fixture.js';
import { GUNS, populatedDeployment, type PopulatedScenario } from './notary-scenario.js';

describe('adopt: new server keys for repositories whose keys stayed behind', () => {
  const cleanup = new Cleanup();
  let notary: NotaryDeployment;
  let scenario: PopulatedScenario;
  let dataDir: string;
  let countersign: StartedCountersign;
  /** The owner's trust dir, now talking to Countersign. */
  let owner: NotaryClient;
  /** A copy of the owner's trust dir taken before adopt: it holds the old root. */
  let follower: NotaryClient;

  before(async () => {
    const pg = cleanup.add(await startPostgres());
    ({ notary, scenario } = await populatedDeployment(cleanup, {
      serverDb: await postgresNotaryDatabase(pg),
      signerDb: await postgresNotaryDatabase(pg),
    }));
    dataDir = join(cleanup.tempDir('countersign-'), 'data');
    countersign = cleanup.add(
      await startCountersign({ dataDir, env: { COUNTERSIGN_KEY_PASSPHRASE: KEY_PASSPHRASE } })
    );
    owner = cleanup.add(await scenario.owner.sharingTrustDir({ server: countersign.sut }));
  });
  after(() => cleanup.run());

  const adopt = (gun: string, trustDir: string, passphrase = DEFAULT_PASSPHRASE) =>
    countersignCli(['adopt', gun, '--trust-dir', trustDir, '--data-dir', dataDir], {
      COUNTERSIGN_KEY_PASSPHRASE: KEY_PASSPHRASE,
      NOTARY_ROOT_PASSPHRASE: passphrase,
    });
  const rootVersion = async (gun: string): Promise<number | undefined> => {
    const storage = await openStorage(loadConfig({ dataDir }).storage);
    try {
      return (await storage.meta.getLatest(gun, 'root'))?.version;
    } finally {
      await storage.close();
    }
  };
  const publish = (client: NotaryClient, gun: string, name: string) => {
    const file = join(cleanup.tempDir('target-'), `${name}.txt`);
    writeFileSync(file, `${gun} ${name}`);
    return client.add(gun, name, file, { publish: true, check: false });
  };

  it('an import without the signer database says the repositories are read-only', async () => {
    const r = await importNotary(['--from-db', notary.serverDb.url, '--data-dir', dataDir], {});
    assert.equal(r.code, 0, r.stderr + r.stdout);
    for (const gun of Object.values(GUNS)) {
      assert.match(
        r.stdout,
        new RegExp(`note: Countersign holds no timestamp key of ${gun}: it is served read-only`)
      );
      assert.match(r.stdout, new RegExp(`countersign adopt ${gun} --trust-dir`));
    }
    follower = cleanup.add(await scenario.owner.cloneTrustDir({ server: countersign.sut }));
    assert.deepEqual(
      (await follower.list(GUNS.serverSnap)).map((t) => t.name).sort(),
      Object.keys(scenario.targets[GUNS.serverSnap]!).sort()
    );
  });

  it('the repository with a server-held snapshot key is wedged', async () => {
    assert.notEqual((await publish(owner, GUNS.serverSnap, 'wedged')).code, 0);
    for (const role of ['timestamp', 'snapshot'] as const) {
      const rotated = await owner.keyRotate(GUNS.serverSnap, role, {
        serverManaged: true,
        check: false,
      });
      assert.notEqual(rotated.code, 0, `key rotate ${role} -r: ${rotated.stdout}`);
    }
    await owner.run(['reset', GUNS.serverSnap, '--all']);
  });

  it('refuses a wrong passphrase, a trust dir without the root key and an unknown GUN, changing nothing', async () => {
    const before = await rootVersion(GUNS.serverSnap);
    const wrong = await adopt(GUNS.serverSnap, owner.trustDir, 'not the passphrase');
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /does not open with the root passphrase/);
    const stranger = cleanup.add(await scenario.owner.fresh());
    await stranger.run(['key', 'generate', 'ecdsa', '--role', 'root']);
    const noKey = await adopt(GUNS.serverSnap, stranger.trustDir);
    assert.equal(noKey.code, 1);
    assert.match(noKey.stderr, /holds 0 of the 1 root key/);
    const unknown = await adopt('example.com/acme/nothing', owner.trustDir);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no published repository example.com\/acme\/nothing/);
    assert.equal(await rootVersion(GUNS.serverSnap), before);
  });

  it('adopt heals the wedged repository: the owner publishes, the old-root client follows', async () => {
    const before = await rootVersion(GUNS.serverSnap);
    const r = await adopt(GUNS.serverSnap, owner.trustDir);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, new RegExp(`adopted ${GUNS.serverSnap}: root version ${before! + 1}`));
    const published = await publish(owner, GUNS.serverSnap, 'after-adopt');
    assert.equal(published.code, 0, published.stdout + published.stderr);
    const listed = await follower.run(['list', GUNS.serverSnap]);
    assert.equal(listed.code, 0, listed.stdout + listed.stderr);
    assert.match(listed.stdout, /after-adopt/);
    assert.doesNotMatch(listed.stdout + listed.stderr, /warn|fatal/i);
    const v = await follower.verify(
      GUNS.serverSnap,
      'after-adopt',
      `${GUNS.serverSnap} after-adopt`
    );
    assert.equal(v.code, 0, v.stdout + v.stderr);
  });

  it('adopt also takes over a client-held snapshot key', async () => {
    const r = await adopt(GUNS.clientSnap, owner.trustDir);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const published = await publish(owner, GUNS.clientSnap, 'after-adopt');
    assert.equal(published.code, 0, published.stdout + published.stderr);
    assert.ok((await follower.list(GUNS.clientSnap)).some((t) => t.name === 'after-adopt'));
  });
});
