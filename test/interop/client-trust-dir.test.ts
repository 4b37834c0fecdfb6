/**
 * `--trust-dir` (issue 16) continues the trust the docker CLI 28 built: `docker trust inspect`
 * caches a repository (signed with the real notary CLI on Countersign) under
 * `$DOCKER_CONFIG/trust/tuf/<gun>/metadata/`; `check --trust-dir` takes that cached root as the
 * anchor and its versions as the floor, updates the cache with what it verified (docker reads it
 * afterwards), fails with 5 on a replay of the metadata docker had cached once a newer one was
 * seen, and fails with 5 when the repository is replaced by one with another root.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import {
  countersignCli,
  startCountersign,
  type StartedCountersign,
} from '../helpers/countersign.js';
import { DockerClient } from '../helpers/docker-cli.js';
import { NotaryClient } from '../helpers/notary-cli.js';
import { recordCopy } from '../client/recorded-copy.js';
import { serveSource } from '../client/serve-source.js';

const GUN = 'example.com/client-trust-dir/app';

function cachedVersion(trustDir: string, role: string): number {
  const file = join(trustDir, 'tuf', ...GUN.split('/'), 'metadata', `${role}.json`);
  return (JSON.parse(readFileSync(file, 'utf8')) as { signed: { version: number } }).signed.version;
}

describe('--trust-dir continues the trust of a docker trust dir', () => {
  const cleanup = new Cleanup();
  let server: StartedCountersign;
  let alice: NotaryClient;
  let docker: DockerClient;
  let work: string;
  let trustDir: string;
  let serverArgs: string[];

  const payload = (name: string) => {
    const file = join(work, name);
    writeFileSync(file, randomBytes(64));
    return file;
  };

  before(async () => {
    server = cleanup.add(await startCountersign());
    serverArgs = ['--server', server.sut.url, '--ca', server.sut.caFile!];
    alice = cleanup.add(await NotaryClient.create({ server: server.sut }));
    docker = cleanup.add(await DockerClient.create({ server: server.sut }));
    work = cleanup.tempDir('client-trust-dir-');
    trustDir = join(docker.configDir, 'trust');
    await alice.init(GUN);
    await alice.add(GUN, 'v1', payload('v1.bin'));
    await alice.publish(GUN);
  });
  after(() => cleanup.run());

  it('takes docker’s cache as the floor, updates it, and catches a replay of it', async () => {
    const inspected = await docker.trustInspect(GUN);
    assert.deepEqual(
      inspected[0]!.SignedTags.map((t) => t.SignedTag),
      ['v1']
    );
    const dockerSaw = cachedVersion(trustDir, 'timestamp');
    const old = await recordCopy(server.sut, GUN); // what docker cached, as the server served it

    await alice.add(GUN, 'v2', payload('v2.bin'));
    await alice.publish(GUN);
    const r = await countersignCli(['check', ...serverArgs, '--gun', GUN, '--trust-dir', trustDir]);
    assert.equal(r.code, 0, r.stderr);
    const now = cachedVersion(trustDir, 'timestamp');
    assert.ok(now > dockerSaw, `the cache moved from ${dockerSaw} to ${now}`);
    const after = await docker.trustInspect(GUN);
    assert.deepEqual(after[0]!.SignedTags.map((t) => t.SignedTag).sort(), ['v1', 'v2']);
    const v = await countersignCli(['verify', ...serverArgs, '--trust-dir', trustDir, `${GUN}:v2`]);
    assert.equal(v.code, 0, v.stderr);

    const statik = cleanup.add(await serveSource(old, GUN));
    const replay = await countersignCli([
      'check',
      '--server',
      statik.url,
      '--gun',
      GUN,
      '--trust-dir',
      trustDir,
    ]);
    assert.equal(replay.code, 5, replay.stderr);
    assert.match(
      replay.stderr,
      new RegExp(`rollback: timestamp version ${dockerSaw} is below version ${now} seen before`)
    );
    assert.equal(cachedVersion(trustDir, 'timestamp'), now, 'a failed run leaves the cache');
  });

  it('fails with 5 once the repository is replaced by one with another root', async () => {
    await alice.deleteRemote(GUN);
    const mallory = cleanup.add(await alice.fresh());
    await mallory.init(GUN);
    await mallory.add(GUN, 'v1', payload('mallory.bin'));
    await mallory.publish(GUN);
    const r = await countersignCli(['verify', ...serverArgs, '--trust-dir', trustDir, `${GUN}:v1`]);
    assert.equal(r.code, 5, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /root: the server's root version 1 does not chain from the kept root version 1/
    );
  });
});
