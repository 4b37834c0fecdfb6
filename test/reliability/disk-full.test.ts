/**
 * Disks that fill: the data dir on a 4 MiB tmpfs mounted by the test (as root). Once the disk is
 * full, a publish answers 503 STORAGE_FULL with Retry-After and writes nothing; reads go on
 * serving the same bytes and the real notary CLI still lists the repository; once space returns,
 * the same publish succeeds without a restart or any repair.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onProcessExit } from '../helpers/exit-hooks.js';
import { NotaryClient } from '../helpers/notary-cli.js';
import { sign, targetsSigned } from '../helpers/tuf-builder.js';
import { FuzzServer, makeRepo, upload, type FuzzRepo } from '../fuzz/harness.js';

function mountTmpfs(dir: string, size: string): void {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], {
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    throw new Error(`mounting a tmpfs needs root (this test fails rather than skips): ${r.stderr}`);
  }
}

/** Writes a file until the file system answers ENOSPC; returns its path. */
function fillDisk(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
  // Smaller writes take the last few blocks too.
  const small = openSync(join(dir, 'filler-small'), 'w');
  try {
    for (;;) writeSync(small, Buffer.alloc(512, 0x5a));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(small);
  }
  return path;
}

describe('a full disk under the data dir', () => {
  const mountPoint = mkdtempSync(join(tmpdir(), 'countersign-diskfull-'));
  let server: FuzzServer;
  let repo: FuzzRepo;
  let version = 2;
  const publish = () =>
    upload(server, repo.gun, {
      targets: sign(
        targetsSigned({ targets: [{ name: `v${version}`, length: version }], version }),
        [repo.targetsKey]
      ),
    });
  const unmount = () => {
    spawnSync('umount', ['-l', mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  };

  before(async () => {
    mountTmpfs(mountPoint, '4m');
    onProcessExit(unmount);
    const dataDir = join(mountPoint, 'data');
    mkdirSync(dataDir);
    server = await FuzzServer.start({}, { dataDir });
    repo = await makeRepo(server, 'example.com/reliability/disk-full');
    const r = await publish();
    assert.equal(r.status, 200, r.body);
    version++;
  });
  after(async () => {
    await server?.stop();
    unmount();
  });

  it('refuses a publish with 503 STORAGE_FULL and Retry-After, writes nothing, and keeps serving reads', async () => {
    const targetsBefore = await server.send('GET', `/v2/${repo.gun}/_trust/tuf/targets.json`);
    const timestampBefore = await server.send('GET', `/v2/${repo.gun}/_trust/tuf/timestamp.json`);
    fillDisk(mountPoint);
    const digest = server.databaseDigest();
    // A publish big enough to need new pages: 2,000 targets.
    const big = sign(
      targetsSigned({
        targets: Array.from({ length: 2_000 }, (_, i) => ({ name: `big-${i}`, length: i + 1 })),
        version,
      }),
      [repo.targetsKey]
    );
    const r = await upload(server, repo.gun, { targets: big });
    assert.equal(r.status, 503, r.body);
    assert.equal(r.headers['retry-after'], '60');
    assert.equal(
      (JSON.parse(r.body) as { errors: { code: string }[] }).errors[0]?.code,
      'STORAGE_FULL'
    );
    assert.equal(server.databaseDigest(), digest, 'nothing was written');
    const targetsAfter = await server.send('GET', `/v2/${repo.gun}/_trust/tuf/targets.json`);
    const timestampAfter = await server.send('GET', `/v2/${repo.gun}/_trust/tuf/timestamp.json`);
    assert.equal(targetsAfter.status, 200);
    assert.equal(targetsAfter.body, targetsBefore.body);
    assert.equal(timestampAfter.body, timestampBefore.body);
    await using client = await NotaryClient.create({ server: server.sut });
    const names = (await client.list(repo.gun)).map((t) => t.name).sort();
    assert.deepEqual(names, ['v2']);
  });

  it('publishes again once space returns, with no restart and no repair', async () => {
    rmSync(join(mountPoint, 'filler'));
    rmSync(join(mountPoint, 'filler-small'));
    const r = await publish();
    assert.equal(r.status, 200, r.body);
    await using client = await NotaryClient.create({ server: server.sut });
    const names = (await client.list(repo.gun)).map((t) => t.name).sort();
    assert.deepEqual(names, [`v${version}`]);
  });
});
