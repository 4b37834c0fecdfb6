/**
 * `countersign check` and `countersign verify` as CI runs them (the compiled bin, a real HTTP
 * server), over repositories signed in the test so expiry is always relative to now: output
 * lines, --json, and each documented exit status.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import { repoRoot } from '../helpers/paths.js';
import { run, type RunResult } from '../helpers/proc.js';
import { plainKey, expiresIn } from '../helpers/tuf-builder.js';
import { buildRepo, makeTestCa, type BuiltRepo } from '../unit/client/repo-builder.js';
import { sha256Hex } from '../unit/client/memory-source.js';
import { serveSource, type StaticNotary } from './serve-source.js';

const GUN = '127.0.0.1:5000/acme/app';
const hashOf = (byte: number) => Buffer.alloc(32, byte);
const digestOf = (byte: number) => `sha256:${hashOf(byte).toString('hex')}`;

function cli(...args: string[]): Promise<RunResult> {
  return run(process.execPath, [join(repoRoot, 'bin/countersign.js'), ...args], {
    timeoutMs: 30_000,
  });
}

describe('countersign check / verify', () => {
  const cleanup = new Cleanup();
  let repo: BuiltRepo;
  let server: StaticNotary;
  let dir: string;

  before(async () => {
    const releases = plainKey();
    const alice = plainKey();
    repo = await buildRepo({
      gun: GUN,
      targets: [
        { name: 'v1', sha256: hashOf(1), length: 11 },
        { name: 'top-only', sha256: hashOf(2), length: 22 },
      ],
      delegations: {
        keys: [releases, alice],
        roles: [
          { name: 'targets/releases', keyids: [releases.publicKey.id], paths: [''] },
          { name: 'targets/alice', keyids: [alice.publicKey.id], paths: [''] },
        ],
      },
      delegationFiles: [
        {
          name: 'targets/releases',
          targets: [{ name: 'v1', sha256: hashOf(3), length: 33 }],
          signers: [releases],
        },
        {
          name: 'targets/alice',
          targets: [{ name: 'alice-only', sha256: hashOf(4), length: 44 }],
          signers: [alice],
        },
      ],
    });
    server = cleanup.add(await serveSource(repo.source, GUN));
    dir = cleanup.tempDir('cli-test-');
  });
  after(() => cleanup.run());

  it('verify prints the digest and size docker would pull: targets/releases before targets', async () => {
    const r = await cli('verify', '--server', server.url, `${GUN}:v1`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${digestOf(3)} 33\n`);
    const top = await cli('verify', '--server', server.url, `${GUN}:top-only`);
    assert.equal(top.stdout, `${digestOf(2)} 22\n`);
  });

  it('verify refuses a tag signed only by another delegation, and an unknown tag, with status 6', async () => {
    const r = await cli('verify', '--server', server.url, `${GUN}:alice-only`);
    assert.equal(r.code, 6);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /target: alice-only is signed only by targets\/alice/);
    const none = await cli('verify', '--server', server.url, `${GUN}:nope`);
    assert.equal(none.code, 6);
    assert.match(none.stderr, /no valid trust data for nope/);
  });

  it('verify --json carries the target, checks and roles', async () => {
    const r = await cli('verify', '--json', '--server', server.url, `${GUN}:v1`);
    assert.equal(r.code, 0);
    const out = JSON.parse(r.stdout);
    assert.equal(out.exitCode, 0);
    assert.equal(out.gun, GUN);
    assert.equal(out.tag, 'v1');
    assert.deepEqual(out.target, {
      name: 'v1',
      length: 33,
      hashes: { sha256: hashOf(3).toString('base64') },
      role: 'targets/releases',
      digest: digestOf(3),
    });
    assert.deepEqual(
      out.checks.map((c: { name: string; passed: boolean }) => [c.name, c.passed]),
      [
        ['root-chain', true],
        ['signatures', true],
        ['consistency', true],
        ['target', true],
        ['expiry', true],
        ['rollback', true],
      ]
    );
  });

  it("verify --pin-root with the repository's own root passes; --pin-ca with a CA that did not issue it fails with 3", async () => {
    const rootFile = join(dir, 'root.json');
    writeFileSync(rootFile, repo.rootBytes);
    const pinned = await cli('verify', '--server', server.url, '--pin-root', rootFile, `${GUN}:v1`);
    assert.equal(pinned.code, 0, pinned.stderr);
    const caFile = join(dir, 'other-ca.pem');
    writeFileSync(caFile, (await makeTestCa('Unrelated CA')).pem);
    const r = await cli('verify', '--server', server.url, '--pin-ca', caFile, `${GUN}:v1`);
    assert.equal(r.code, 3);
    assert.match(
      r.stderr,
      /root-chain: .*unable to match any certificates to trust_pinning config/
    );
  });

  it('check prints one line per role with version and expires, and passes', async () => {
    const r = await cli('check', '--server', server.url, '--gun', GUN);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(
      lines.slice(0, -1).map((l) => l.split(' ').slice(0, 3).join(' ')),
      [
        'root version 1',
        'timestamp version 1',
        'snapshot version 1',
        'targets version 1',
        'targets/releases version 1',
        'targets/alice version 1',
      ]
    );
    for (const l of lines.slice(0, -1))
      assert.match(l, / expires \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/);
    assert.equal(lines.at(-1), `ok: ${GUN} verifies and nothing expires within 24h`);
  });

  it('check --min-valid beyond the timestamp\'s life fails with 1, naming the role and "expires within"', async () => {
    const r = await cli('check', '--server', server.url, '--gun', GUN, '--min-valid', '30d');
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^timestamp version 1 expires \S+ EXPIRING$/m);
    assert.match(r.stderr, /expiry: timestamp expires within 30d \(at /);
    const ok = await cli('check', '--server', server.url, '--gun', GUN, '--min-valid', '13d');
    assert.equal(ok.code, 0);
  });

  it('check --json is one object with roles, checks and the exit code', async () => {
    const r = await cli(
      'check',
      '--json',
      '--server',
      server.url,
      '--gun',
      GUN,
      '--min-valid',
      '2000d'
    );
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout);
    assert.equal(out.exitCode, 1);
    assert.equal(out.minValid, '2000d');
    assert.deepEqual(
      out.roles.map((x: { role: string }) => x.role),
      ['root', 'timestamp', 'snapshot', 'targets', 'targets/releases', 'targets/alice']
    );
    assert.equal(out.roles[1].state, 'expiring');
    assert.ok(out.failures.every((f: { check: string }) => f.check === 'expiry'));
    assert.ok(
      out.failures.some(
        (f: { role: string; message: string }) =>
          f.role === 'targets' && /expires within 2000d/.test(f.message)
      )
    );
  });

  it('check exits 1 on an expired timestamp', async () => {
    const expired = await buildRepo({ gun: GUN, timestampExpires: expiresIn(-1) });
    const s = await serveSource(expired.source, GUN);
    try {
      const r = await cli('check', '--server', s.url, '--gun', GUN);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /expiry: timestamp expired at /);
    } finally {
      await s.stop();
    }
  });

  it('check exits 3 on a bad signature or a snapshot whose hash does not match', async () => {
    const bad = await buildRepo({ gun: GUN });
    const ts = bad.source.currentBytes('timestamp');
    const forged = Buffer.from(ts);
    const at = forged.indexOf('"sig":"') + 20;
    forged[at] = forged[at] === 0x41 ? 0x42 : 0x41;
    bad.source.setCurrent('timestamp', forged);
    const snap = bad.source.currentBytes('snapshot');
    const s = await serveSource(bad.source, GUN);
    try {
      const r = await cli('check', '--server', s.url, '--gun', GUN);
      assert.equal(r.code, 3);
      assert.match(r.stderr, /signatures: timestamp: valid signatures did not meet threshold/);
      bad.source.setCurrent('timestamp', ts);
      const other = Buffer.from(snap);
      const i = other.indexOf('"sig":"') + 20;
      other[i] = other[i] === 0x41 ? 0x42 : 0x41;
      bad.source.replaceByChecksum('snapshot', sha256Hex(snap), other);
      const h = await cli('check', '--server', s.url, '--gun', GUN);
      assert.equal(h.code, 3);
      assert.match(h.stderr, /consistency: snapshot: sha256 checksum for snapshot did not match/);
    } finally {
      await s.stop();
    }
  });

  it('exits 4 for a GUN the server has no trust data for, and for a server that is not there', async () => {
    const r = await cli('check', '--server', server.url, '--gun', 'example.com/absent');
    assert.equal(r.code, 4);
    assert.match(r.stderr, /example\.com\/absent has no trust data/);
    const down = await cli('verify', '--server', 'http://127.0.0.1:9', `${GUN}:v1`);
    assert.equal(down.code, 4);
    assert.match(down.stderr, /unable to reach trust server/);
  });

  it('verify NAME@sha256:… checks the digest is what a tag resolves to, and prints those tags', async () => {
    const r = await cli('verify', '--server', server.url, `${GUN}@${digestOf(3)}`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${digestOf(3)} 33 v1\n`);
    const top = await cli('verify', '--server', server.url, `${GUN}@${digestOf(2)}`);
    assert.equal(top.stdout, `${digestOf(2)} 22 top-only\n`);
    // v1 in targets is shadowed by targets/releases; alice-only comes from another delegation.
    for (const byte of [1, 4]) {
      const refused = await cli('verify', '--server', server.url, `${GUN}@${digestOf(byte)}`);
      assert.equal(refused.code, 6, refused.stderr);
      assert.match(refused.stderr, /no tag in targets\/releases or targets is signed with sha256:/);
    }
    const both = await cli('verify', '--server', server.url, `${GUN}:v1@${digestOf(3)}`);
    assert.equal(both.code, 0, both.stderr);
    const mismatch = await cli('verify', '--server', server.url, `${GUN}:v1@${digestOf(2)}`);
    assert.equal(mismatch.code, 6);
    assert.match(mismatch.stderr, /v1 is signed as sha256:0303.*, not sha256:0202/);
  });

  it('verify --output ref prints NAME@sha256:…, and DOCKER_CONTENT_TRUST_SERVER stands in for --server', async () => {
    const r = await run(
      process.execPath,
      [join(repoRoot, 'bin/countersign.js'), 'verify', '--output', 'ref', `${GUN}:v1`],
      {
        env: { PATH: process.env.PATH, DOCKER_CONTENT_TRUST_SERVER: server.url },
        timeoutMs: 30_000,
      }
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${GUN}@${digestOf(3)}\n`);
    const none = await run(
      process.execPath,
      [join(repoRoot, 'bin/countersign.js'), 'verify', `${GUN}:v1`],
      {
        env: { PATH: process.env.PATH },
        timeoutMs: 30_000,
      }
    );
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--server is required \(or set DOCKER_CONTENT_TRUST_SERVER\)/);
  });

  it("check --pin-root passes with the repository's root and fails with 3 with another one", async () => {
    const own = join(dir, 'check-root.json');
    writeFileSync(own, repo.rootBytes);
    const r = await cli('check', '--server', server.url, '--gun', GUN, '--pin-root', own);
    assert.equal(r.code, 0, r.stderr);
    const other = join(dir, 'other-root.json');
    writeFileSync(other, (await buildRepo({ gun: GUN })).rootBytes);
    const bad = await cli('check', '--server', server.url, '--gun', GUN, '--pin-root', other);
    assert.equal(bad.code, 3, bad.stderr);
    assert.match(
      bad.stderr,
      /root-chain: root: root\.json is version 1 like the pinned root, but not the same file/
    );
  });

  it('verify --state keeps the versions seen even when the tag is not signed (6)', async () => {
    const state = join(dir, 'unsigned-tag-state.json');
    const r = await cli('verify', '--server', server.url, '--state', state, `${GUN}:nope`);
    assert.equal(r.code, 6, r.stderr);
    const kept = JSON.parse(readFileSync(state, 'utf8'));
    assert.equal(kept.repositories[0].gun, GUN);
    assert.equal(kept.repositories[0].versions.timestamp, 1);
    assert.equal(kept.repositories[0].versions['targets/alice'], 1);
  });

  it('a corrupt or foreign --state file is an error (2) and stays exactly as it was', async () => {
    for (const [text, why] of [
      ['{"format":"countersign-trust-st', /not JSON/],
      ['{"auths":{}}', /not a Countersign state file/],
      [
        '{"format":"countersign-trust-state","formatVersion":9,"repositories":[]}',
        /formatVersion 9 is not supported/,
      ],
    ] as const) {
      const file = join(dir, 'bad-state.json');
      writeFileSync(file, text);
      for (const args of [
        ['check', '--server', server.url, '--gun', GUN, '--state', file],
        ['verify', '--server', server.url, '--state', file, `${GUN}:v1`],
      ]) {
        const r = await cli(...args);
        assert.equal(r.code, 2, r.stderr);
        assert.match(
          r.stderr,
          new RegExp(`state file ${file.replace(/[.]/g, '\\.')}: .*${why.source}`)
        );
        assert.equal(readFileSync(file, 'utf8'), text);
      }
    }
  });

  it('exits 4 with what the server answered when it answers garbage or an error status', async () => {
    for (const [status, body] of [
      [200, '<html><body>Welcome to the proxy</body></html>'],
      [502, 'upstream notary is down'],
    ] as const) {
      const garbage = createServer((_req, res) => {
        res.writeHead(status, { 'Content-Type': 'text/html' });
        res.end(body);
      });
      await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', () => resolve()));
      try {
        const url = `http://127.0.0.1:${(garbage.address() as AddressInfo).port}`;
        const r = await cli('check', '--server', url, '--gun', GUN);
        assert.equal(r.code, 4, r.stderr);
        assert.ok(r.stderr.includes(body), r.stderr);
      } finally {
        garbage.closeAllConnections();
        await new Promise((resolve) => garbage.close(resolve));
      }
    }
  });

  it('exits 2 on usage errors', async () => {
    for (const args of [
      ['check', '--gun', GUN],
      ['check', '--server', server.url],
      ['check', '--server', server.url, '--gun', GUN, '--min-valid', '1w'],
      ['verify', '--server', server.url, '127.0.0.1:5000/Acme/app:v1'],
      ['verify', '--server', server.url, '--pin-ca', 'a', '--pin-root', 'b', `${GUN}:v1`],
      ['verify', '--server', server.url, '--pin-root', join(dir, 'missing.json'), `${GUN}:v1`],
      ['verify', '--bogus', `${GUN}:v1`],
    ]) {
      const r = await cli(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    }
    const help = await cli('check', '--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit status:\n {2}0 .*\n {2}1 .*expire/);
  });
});
