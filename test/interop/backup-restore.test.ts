/**
 * `countersign backup` while the real notary CLI publishes, `countersign restore` into another
 * data dir, then a server on the restored data: the notary CLI lists every publish acknowledged
 * before the backup began (and nothing that was never published) and publishes again with the
 * same keys. A restore onto an existing database is refused and changes nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import {
  countersignCli,
  startCountersign,
  type StartedCountersign,
} from '../helpers/countersign.js';
import { NotaryClient } from '../helpers/notary-cli.js';

const GUN = 'example.com/backup/app';
const HASH = 'a'.repeat(64);

describe('backup and restore (SQLite)', () => {
  const cleanup = new Cleanup();
  let source: StartedCountersign;
  let publisher: NotaryClient;
  after(() => cleanup.run());

  before(async () => {
    source = cleanup.add(await startCountersign({ tls: false }));
    publisher = cleanup.add(await NotaryClient.create({ server: source.sut }));
    await publisher.init(GUN, { publish: true });
  });

  it('backs up online, restores elsewhere, and the notary CLI lists and publishes there', async () => {
    const dir = cleanup.tempDir();
    const out = join(dir, 'backup');
    const acknowledged: { name: string; at: number }[] = [];
    let backupStarted = Infinity;
    const publishing = (async () => {
      for (let i = 0; i < 8; i++) {
        await publisher.addHash(GUN, `t${i}`, 1, HASH, { publish: true });
        acknowledged.push({ name: `t${i}`, at: performance.now() });
      }
    })();
    while (acknowledged.length < 3) await new Promise((r) => setTimeout(r, 20));
    backupStarted = performance.now();
    const backup = await countersignCli(['backup', '--data-dir', source.dataDir, out]);
    assert.equal(backup.code, 0, backup.stderr + backup.stdout);
    assert.match(backup.stdout, /includes the key file/);
    await publishing;
    const manifest = JSON.parse(readFileSync(join(out, 'MANIFEST.json'), 'utf8'));
    assert.deepEqual(Object.keys(manifest.files).sort(), ['countersign.db', 'keyring.key']);
    assert.equal(statSync(join(out, 'countersign.db')).mode & 0o077, 0, 'not readable by others');

    const restoredDir = join(dir, 'restored');
    const restore = await countersignCli(['restore', out, '--data-dir', restoredDir]);
    assert.equal(restore.code, 0, restore.stderr + restore.stdout);
    const restored = cleanup.add(await startCountersign({ tls: false, dataDir: restoredDir }));

    const reader = cleanup.add(await NotaryClient.create({ server: restored.sut }));
    const listed = (await reader.list(GUN)).map((t) => t.name);
    const before = acknowledged.filter((a) => a.at < backupStarted).map((a) => a.name);
    for (const name of before)
      assert.ok(listed.includes(name), `${name} was published before the backup`);
    const all = acknowledged.map((a) => a.name);
    for (const name of listed) assert.ok(all.includes(name), `${name} was never published`);

    // The producer's keys, without the metadata it cached from the newer source server.
    const producer = cleanup.add(await publisher.cloneTrustDir({ server: restored.sut }));
    rmSync(join(producer.trustDir, 'tuf'), { recursive: true, force: true });
    await producer.addHash(GUN, 'after-restore', 1, HASH, { publish: true });
    const again = (await reader.fresh()).list(GUN);
    assert.ok((await again).some((t) => t.name === 'after-restore'));
  });

  it('refuses to restore over an existing database and leaves it untouched', async () => {
    const dir = cleanup.tempDir();
    const out = join(dir, 'backup');
    const made = await countersignCli(['backup', '--data-dir', source.dataDir, out]);
    assert.equal(made.code, 0, made.stderr);
    const r = await countersignCli(['restore', out, '--data-dir', source.dataDir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /exists: stop the server/);
    // The live server still serves everything published to it.
    const reader = cleanup.add(await publisher.fresh());
    const names = (await reader.list(GUN)).map((t) => t.name);
    for (let i = 0; i < 8; i++) assert.ok(names.includes(`t${i}`), `t${i}`);
    const again = await countersignCli(['backup', '--data-dir', source.dataDir, out]);
    assert.equal(again.code, 2, 'a backup never overwrites');
    // Keys sealed under the key file, a restore configured with a passphrase: refused at once
    // (the key ring does not open), and the target data dir is left without a database.
    const elsewhere = join(dir, 'elsewhere');
    const wrong = await countersignCli(['restore', out, '--data-dir', elsewhere], {
      COUNTERSIGN_KEY_PASSPHRASE: 'not the secret these keys are sealed with',
    });
    assert.equal(wrong.code, 1, wrong.stderr);
    assert.match(wrong.stderr, /sealed|decrypt|passphrase/i);
    assert.deepEqual(readdirSync(elsewhere), []);
  });
});
