/**
 * `check --state` and `verify --state` (issue 16) on repositories the real notary CLI builds on
 * Countersign:
 *   - the replay: after the state saw a newer timestamp, the repository's older, still-valid
 *     files (recorded from the server before the re-sign) are served again at the same URL:
 *     both commands exit 5 naming the role and both versions, and the state file is untouched;
 *     without a state, verify resolves the tag to the old digest (what the issue saw);
 *   - a legitimate root rotation (`notary key rotate GUN root`) passes and the new root is kept;
 *   - the repository deleted and re-created with another root fails with 5, at a lower and at
 *     the same root version;
 *   - several GUNs in one run (--gun twice, --gun-file), one JSON array, the summary line, and
 *     a single-valued flag given twice refused.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseState } from '../../src/client/state.js';
import { Cleanup } from '../helpers/cleanup.js';
import { startCountersign, type StartedCountersign } from '../helpers/countersign.js';
import { NotaryClient } from '../helpers/notary-cli.js';
import { repoRoot } from '../helpers/paths.js';
import { run, type RunResult } from '../helpers/proc.js';
import { recordCopy, SwitchableSource } from '../client/recorded-copy.js';
import { serveSource } from '../client/serve-source.js';

function cli(...args: string[]): Promise<RunResult> {
  return run(process.execPath, [join(repoRoot, 'bin/countersign.js'), ...args], {
    timeoutMs: 60_000,
    env: { PATH: process.env.PATH },
  });
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function readState(file: string) {
  return parseState(readFileSync(file, 'utf8'), file);
}

describe('check and verify --state against Countersign and the notary CLI', () => {
  const cleanup = new Cleanup();
  let server: StartedCountersign;
  let alice: NotaryClient;
  let work: string;
  let serverArgs: string[];

  const payload = (name: string, size: number): { file: string; digest: string } => {
    const data = randomBytes(size);
    const file = join(work, name);
    writeFileSync(file, data);
    return { file, digest: `sha256:${sha256(data)}` };
  };

  before(async () => {
    server = cleanup.add(await startCountersign());
    serverArgs = ['--server', server.sut.url, '--ca', server.sut.caFile!];
    alice = cleanup.add(await NotaryClient.create({ server: server.sut }));
    work = cleanup.tempDir('client-state-');
  });
  after(() => cleanup.run());

  it('a replay of older, still-valid metadata fails check and verify with 5; the state is untouched', async () => {
    const gun = 'example.com/client-state/replay';
    const first = payload('replay-v1.bin', 100);
    await alice.init(gun);
    await alice.add(gun, 'v1', first.file);
    await alice.publish(gun);
    const old = await recordCopy(server.sut, gun);
    const second = payload('replay-v1-again.bin', 200);
    await alice.add(gun, 'v1', second.file);
    await alice.publish(gun);
    const current = await recordCopy(server.sut, gun);

    const switchable = new SwitchableSource(current);
    const statik = cleanup.add(await serveSource(switchable, gun));
    const state = join(work, 'replay-state.json');
    const ok = await cli('check', '--server', statik.url, '--gun', gun, '--state', state);
    assert.equal(ok.code, 0, ok.stderr);
    const kept = readState(state).repositories[0]!;
    const ts = kept.versions.timestamp!;
    assert.ok(ts >= 2, `timestamp version ${ts}`);
    const v = await cli('verify', '--server', statik.url, '--state', state, `${gun}:v1`);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout, `${second.digest} 200\n`);
    const before = readFileSync(state);

    switchable.inner = old;
    const replayed = await cli('check', '--server', statik.url, '--gun', gun, '--state', state);
    assert.equal(replayed.code, 5, replayed.stderr);
    assert.match(
      replayed.stderr,
      new RegExp(`rollback: timestamp version ${ts - 1} is below version ${ts} seen before`)
    );
    const rv = await cli('verify', '--server', statik.url, '--state', state, `${gun}:v1`);
    assert.equal(rv.code, 5, rv.stderr);
    assert.equal(rv.stdout, '');
    assert.match(rv.stderr, /rollback: timestamp version \d+ is below version \d+ seen before/);
    assert.deepEqual(readFileSync(state), before, 'a failed run leaves the state as it was');

    // What the issue saw: without a state, the replay passes and resolves the old digest.
    const blind = await cli('verify', '--server', statik.url, `${gun}:v1`);
    assert.equal(blind.code, 0);
    assert.equal(blind.stdout, `${first.digest} 100\n`);
  });

  it('follows a legitimate root rotation, and fails with 5 once the repository is replaced', async () => {
    const gun = 'example.com/client-state/rotated';
    await alice.init(gun);
    await alice.add(gun, 'v1', payload('rotated-v1.bin', 10).file);
    await alice.publish(gun);
    const state = join(work, 'rotation-state.json');
    const first = await cli('check', ...serverArgs, '--gun', gun, '--state', state);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(readState(state).repositories[0]!.root.version, 1);

    await alice.keyRotate(gun, 'root');
    const rotated = await cli('check', ...serverArgs, '--gun', gun, '--state', state);
    assert.equal(rotated.code, 0, rotated.stderr);
    const entry = readState(state).repositories[0]!;
    assert.equal(entry.root.version, 2);
    assert.equal(entry.versions.root, 2);
    assert.equal(entry.server, server.sut.url);

    // Someone with access to the server deletes the repository and makes one with another root.
    await alice.deleteRemote(gun);
    const mallory = cleanup.add(await alice.fresh());
    await mallory.init(gun);
    await mallory.add(gun, 'v1', payload('mallory-v1.bin', 10).file);
    await mallory.publish(gun);
    const replaced = await cli('check', ...serverArgs, '--gun', gun, '--state', state);
    assert.equal(replaced.code, 5, replaced.stderr);
    assert.match(
      replaced.stderr,
      /root: root\.json is version 1, older than the pinned root's version 2/
    );
    const v = await cli('verify', ...serverArgs, '--state', state, `${gun}:v1`);
    assert.equal(v.code, 5, v.stderr);
    assert.equal(readState(state).repositories[0]!.root.version, 2, 'the kept root stays');
  });

  it('a repository replaced by another root of the same version fails with 5, naming both versions', async () => {
    const gun = 'example.com/client-state/replaced';
    await alice.init(gun, { publish: true });
    const state = join(work, 'replaced-state.json');
    const first = await cli('check', ...serverArgs, '--gun', gun, '--state', state);
    assert.equal(first.code, 0, first.stderr);
    await alice.deleteRemote(gun);
    const mallory = cleanup.add(await alice.fresh());
    await mallory.init(gun, { publish: true });
    const r = await cli('check', ...serverArgs, '--gun', gun, '--state', state);
    assert.equal(r.code, 5, r.stderr);
    assert.match(
      r.stderr,
      /rollback: root: the server's root version 1 does not chain from the kept root version 1/
    );
    // Without the state it is a fresh trust on first use, as docker would do.
    const fresh = await cli('check', ...serverArgs, '--gun', gun);
    assert.equal(fresh.code, 0, fresh.stderr);
  });

  it('checks several GUNs in one run: --gun twice, --gun-file, a JSON array and a summary', async () => {
    const a = 'example.com/client-state/many-a';
    const b = 'example.com/client-state/many-b';
    await alice.init(a, { publish: true });
    await alice.init(b, { publish: true });
    const state = join(work, 'many-state.json');
    const r = await cli('check', ...serverArgs, '--gun', a, '--gun', b, '--state', state);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^ok: ${a} verifies`, 'm'));
    assert.match(r.stdout, new RegExp(`^ok: ${b} verifies`, 'm'));
    assert.equal(
      r.stdout.trim().split('\n').at(-1),
      'checked 2 repositories: 2 ok, 0 expiring or expired, 0 rolled back, 0 failed verification, 0 unreachable or absent'
    );
    assert.deepEqual(
      readState(state).repositories.map((x) => x.gun),
      [a, b]
    );

    const list = join(work, 'guns.txt');
    writeFileSync(list, `# repositories\n${a}\n\nexample.com/client-state/absent\n`);
    const j = await cli('check', ...serverArgs, '--gun-file', list, '--json');
    assert.equal(j.code, 4);
    const out = JSON.parse(j.stdout) as { gun: string; exitCode: number }[];
    assert.deepEqual(
      out.map((x) => [x.gun, x.exitCode]),
      [
        [a, 0],
        ['example.com/client-state/absent', 4],
      ]
    );

    const twice = await cli(
      'check',
      '--server',
      server.sut.url,
      '--server',
      server.sut.url,
      '--gun',
      a
    );
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /--server was given twice/);
  });
});
