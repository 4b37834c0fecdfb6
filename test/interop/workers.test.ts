/**
 * `countersign serve --workers 2`: two processes share the port and the SQLite database. Writes
 * through one worker are seen by the other at once (the read cache asks SQLite's data_version on
 * every read in this mode), concurrent publishes stay consistent, and SIGTERM stops everything.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCountersign, type StartedCountersign } from '../helpers/countersign.js';
import { NotaryClient } from '../helpers/notary-cli.js';
import { Cleanup } from '../helpers/cleanup.js';

async function timestampVersion(url: string, gun: string): Promise<number> {
  const res = await fetch(`${url}/v2/${gun}/_trust/tuf/timestamp.json`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { signed: { version: number } }).signed.version;
}

describe('serve --workers 2 on one SQLite database', () => {
  const cleanup = new Cleanup();
  let server: StartedCountersign;
  let payload: string;
  before(async () => {
    server = await startCountersign({ tls: false, extraArgs: ['--workers', '2'] });
    payload = join(cleanup.tempDir(), 'payload.txt');
    writeFileSync(payload, 'hello workers\n');
  });
  after(async () => {
    await server?.stop();
    await cleanup.run();
  });

  it('runs two worker processes behind one listening address', () => {
    const pids = execFileSync('pgrep', ['-P', String(server.service.pid)])
      .toString()
      .trim()
      .split('\n');
    assert.equal(pids.length, 2, `children: ${pids.join(' ')}`);
  });

  it('serves every publish to every worker at once', async () => {
    const client = cleanup.add(await NotaryClient.create({ server: server.sut, passphrase: 'pw' }));
    const gun = 'example.com/workers/one';
    await client.init(gun, { publish: true });
    for (let i = 1; i <= 4; i++) {
      await client.add(gun, `v${i}`, payload, { publish: true });
      const expected = await timestampVersion(server.sut.url, gun);
      // New connections are spread over both workers; every one must see the new version.
      const seen = await Promise.all(
        Array.from({ length: 12 }, () => timestampVersion(server.sut.url, gun))
      );
      assert.ok(
        seen.every((v) => v >= expected),
        `after publish ${i}: saw ${seen.join(',')}, expected ≥ ${expected}`
      );
    }
    const fresh = cleanup.add(await client.fresh());
    assert.deepEqual((await fresh.list(gun)).map((t) => t.name).sort(), ['v1', 'v2', 'v3', 'v4']);
  });

  it('keeps concurrent publishes to different repositories consistent', async () => {
    const guns = Array.from({ length: 6 }, (_, i) => `example.com/workers/many-${i}`);
    const clients = await Promise.all(
      guns.map(async () =>
        cleanup.add(await NotaryClient.create({ server: server.sut, passphrase: 'pw' }))
      )
    );
    await Promise.all(guns.map((g, i) => clients[i]!.init(g, { publish: true })));
    await Promise.all(guns.map((g, i) => clients[i]!.add(g, 'tag', payload, { publish: true })));
    for (const [i, gun] of guns.entries()) {
      const fresh = cleanup.add(await clients[i]!.fresh());
      assert.deepEqual(
        (await fresh.list(gun)).map((t) => t.name),
        ['tag']
      );
    }
  });

  it('stops the primary and both workers on SIGTERM', async () => {
    const pid = server.service.pid!;
    const children = execFileSync('pgrep', ['-P', String(pid)])
      .toString()
      .trim()
      .split('\n')
      .map(Number);
    await server.service.stop();
    for (const child of children) {
      assert.throws(() => process.kill(child, 0), 'worker still running after the primary stopped');
    }
  });
});
