/**
 * `countersign check` and `countersign verify` against real Notary servers — the reference
 * notary-server and Countersign itself — on repositories the real notary CLI built, with and
 * without targets/releases: verify agrees with `notary lookup`/`notary list` on the digest docker
 * would pull and refuses a tag only another delegation signed; check passes on healthy data and
 * fails, with the documented status, on expiry within --min-valid, a bad signature and a snapshot
 * whose hash does not match (a copy of the real repository served with one file altered).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HttpMetadataSource, verifyRepository } from '../../src/client/index.js';
import { parseEnvelope } from '../../src/tuf/metadata.js';
import { systemClock } from '../../src/util/clock.js';
import { Cleanup } from '../helpers/cleanup.js';
import { startCountersign } from '../helpers/countersign.js';
import { NotaryClient } from '../helpers/notary-cli.js';
import { startReferenceNotaryServer } from '../helpers/notary-server.js';
import { repoRoot } from '../helpers/paths.js';
import { run, type RunResult } from '../helpers/proc.js';
import type { StartedServer } from '../helpers/server-under-test.js';
import { makeCa, makeDelegationCert, makeRootCert } from '../helpers/tls.js';
import { RecordingSource } from '../client/recorded-copy.js';
import { serveSource } from '../client/serve-source.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function cli(...args: string[]): Promise<RunResult> {
  return run(process.execPath, [join(repoRoot, 'bin/countersign.js'), ...args], {
    timeoutMs: 60_000,
  });
}

function payload(
  dir: string,
  name: string,
  size: number
): { file: string; hex: string; size: number } {
  const data = randomBytes(size);
  const file = join(dir, name);
  writeFileSync(file, data);
  return { file, hex: sha256(data), size };
}

/** One base64 character of the first signature changed: same length, no longer a valid signature. */
function breakSignature(raw: Buffer): Buffer {
  const out = Buffer.from(raw);
  const at = out.indexOf('"sig":"') + 7 + 10;
  out[at] = out[at] === 0x41 ? 0x42 : 0x41;
  return out;
}

interface Target {
  readonly name: string;
  readonly start: () => Promise<StartedServer>;
}

const TARGETS: Target[] = [
  { name: 'the reference notary-server', start: () => startReferenceNotaryServer() },
  { name: 'Countersign', start: () => startCountersign() },
];

for (const target of TARGETS) {
  describe(`check and verify against ${target.name}`, () => {
    const cleanup = new Cleanup();
    let server: StartedServer;
    let alice: NotaryClient;
    let work: string;
    let serverArgs: string[];
    const plainGun = 'example.com/check-verify/plain';
    const delegatedGun = 'example.com/check-verify/delegated';
    const pinnedGun = 'example.com/check-verify/pinned';
    let plainV1: { hex: string; size: number };
    let releasesV1: { file: string; hex: string; size: number };
    let ca: { certFile: string; keyFile: string };

    before(async () => {
      server = cleanup.add(await target.start());
      serverArgs = [
        '--server',
        server.sut.url,
        ...(server.sut.caFile ? ['--ca', server.sut.caFile] : []),
      ];
      alice = cleanup.add(await NotaryClient.create({ server: server.sut }));
      work = cleanup.tempDir('check-verify-');

      // Without targets/releases: tags live in targets.
      const p1 = payload(work, 'plain-v1.bin', 1234);
      plainV1 = p1;
      await alice.init(plainGun);
      await alice.add(plainGun, 'v1', p1.file);
      await alice.add(plainGun, 'v2', payload(work, 'plain-v2.bin', 99).file);
      await alice.publish(plainGun);

      // With targets/releases and targets/alice, each keyed by an openssl certificate.
      const releases = await makeDelegationCert(work, { name: 'releases' });
      const aliceCert = await makeDelegationCert(work, { name: 'alice' });
      await alice.init(delegatedGun, { publish: true });
      await alice.delegationAdd(delegatedGun, 'targets/releases', [releases.certFile], {
        publish: true,
      });
      await alice.delegationAdd(delegatedGun, 'targets/alice', [aliceCert.certFile], {
        publish: true,
      });
      await alice.keyImport(releases.keyFile, { role: 'targets/releases', gun: delegatedGun });
      await alice.keyImport(aliceCert.keyFile, { role: 'targets/alice', gun: delegatedGun });
      await alice.add(delegatedGun, 'v1', payload(work, 'top-v1.bin', 300).file);
      await alice.add(delegatedGun, 'top-only', payload(work, 'top-only.bin', 301).file);
      releasesV1 = payload(work, 'releases-v1.bin', 302);
      await alice.add(delegatedGun, 'v1', releasesV1.file, { roles: ['targets/releases'] });
      await alice.add(delegatedGun, 'alice-only', payload(work, 'alice-only.bin', 303).file, {
        roles: ['targets/alice'],
      });
      await alice.publish(delegatedGun);

      // A root certificate issued by a CA (no extended key usage), for --pin-ca.
      ca = await makeCa(cleanup.tempDir('check-verify-ca-'), 'Check Verify Pinning CA');
      const root = await makeRootCert(work, pinnedGun, {
        passphrase: 'countersign-test-passphrase',
        issuer: ca,
        name: 'pinned-root',
      });
      await alice.init(pinnedGun, { rootKey: root.encryptedKeyFile, rootCert: root.certFile });
      await alice.add(pinnedGun, 'v1', payload(work, 'pinned-v1.bin', 55).file);
      await alice.publish(pinnedGun);
    });
    after(() => cleanup.run());

    it('verify agrees with notary lookup on a repository without targets/releases', async () => {
      const reader = cleanup.add(await alice.fresh());
      const looked = await reader.lookup(plainGun, 'v1');
      assert.deepEqual(looked, { name: 'v1', digestHex: plainV1.hex, size: plainV1.size });
      const r = await cli('verify', ...serverArgs, `${plainGun}:v1`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `sha256:${looked.digestHex} ${looked.size}\n`);
    });

    it('verify takes targets/releases before targets, as notary list -r targets/releases shows it', async () => {
      const reader = cleanup.add(await alice.fresh());
      const inReleases = (await reader.list(delegatedGun, { roles: ['targets/releases'] })).find(
        (t) => t.name === 'v1'
      );
      assert.deepEqual(inReleases, {
        name: 'v1',
        digestHex: releasesV1.hex,
        size: releasesV1.size,
        role: 'targets/releases',
      });
      // notary lookup walks from targets and answers with the top-level entry; docker does not.
      const lookup = await reader.lookup(delegatedGun, 'v1');
      assert.notEqual(lookup.digestHex, releasesV1.hex);
      const r = await cli('verify', ...serverArgs, `${delegatedGun}:v1`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `sha256:${releasesV1.hex} ${releasesV1.size}\n`);

      const top = await reader.lookup(delegatedGun, 'top-only');
      const t = await cli('verify', ...serverArgs, `${delegatedGun}:top-only`);
      assert.equal(t.stdout, `sha256:${top.digestHex} ${top.size}\n`);
    });

    it('verify refuses a tag signed only by targets/alice, which notary list shows there', async () => {
      const reader = cleanup.add(await alice.fresh());
      const listed = (await reader.list(delegatedGun)).find((x) => x.name === 'alice-only');
      assert.equal(listed?.role, 'targets/alice');
      const r = await cli('verify', ...serverArgs, `${delegatedGun}:alice-only`);
      assert.equal(r.code, 6);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /alice-only is signed only by targets\/alice/);
    });

    it('verify --pin-ca accepts a root issued by the pinned CA and refuses another CA; --pin-root accepts the cached root', async () => {
      const ok = await cli('verify', ...serverArgs, '--pin-ca', ca.certFile, `${pinnedGun}:v1`);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /^sha256:[0-9a-f]{64} 55\n$/);
      const other = await makeCa(cleanup.tempDir('check-verify-other-'), 'Another CA');
      const refused = await cli(
        'verify',
        ...serverArgs,
        '--pin-ca',
        other.certFile,
        `${pinnedGun}:v1`
      );
      assert.equal(refused.code, 3);
      assert.match(refused.stderr, /unable to match any certificates to trust_pinning config/);
      // The self-signed root notary made for the plain repository has codeSigning only.
      const selfSigned = await cli(
        'verify',
        ...serverArgs,
        '--pin-ca',
        ca.certFile,
        `${plainGun}:v1`
      );
      assert.equal(selfSigned.code, 3);
      const cachedRoot = join(alice.trustDir, 'tuf', plainGun, 'metadata', 'root.json');
      const pinnedRoot = await cli(
        'verify',
        ...serverArgs,
        '--pin-root',
        cachedRoot,
        `${plainGun}:v1`
      );
      assert.equal(pinnedRoot.code, 0, pinnedRoot.stderr);
    });

    it('check exits 0 on healthy repositories, its lines matching the metadata the notary client cached', async () => {
      const reader = cleanup.add(await alice.fresh());
      await reader.list(delegatedGun);
      const r = await cli('check', ...serverArgs, '--gun', delegatedGun);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      const roles = [
        'root',
        'timestamp',
        'snapshot',
        'targets',
        'targets/releases',
        'targets/alice',
      ];
      assert.equal(lines.length, roles.length + 1);
      roles.forEach((role, i) => {
        const cached = parseEnvelope(
          readFileSync(join(reader.trustDir, 'tuf', delegatedGun, 'metadata', `${role}.json`))
        );
        assert.ok(
          lines[i]!.startsWith(
            `${role} version ${cached.version} expires ${String(cached.signedJSON.expires)}`
          ),
          `${lines[i]} vs ${role} v${cached.version}`
        );
      });
      assert.equal((await cli('check', ...serverArgs, '--gun', plainGun)).code, 0);
    });

    it("check exits 1 when --min-valid exceeds the 14-day timestamp's remaining life", async () => {
      const r = await cli('check', ...serverArgs, '--gun', plainGun, '--min-valid', '30d');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /expiry: timestamp expires within 30d \(at /);
      assert.match(r.stdout, /^timestamp version \d+ expires \S+ EXPIRING$/m);
      assert.equal(
        (await cli('check', ...serverArgs, '--gun', plainGun, '--min-valid', '13d')).code,
        0
      );
    });

    it('check exits 4 for a GUN the server does not know', async () => {
      const r = await cli('check', ...serverArgs, '--gun', 'example.com/check-verify/absent');
      assert.equal(r.code, 4);
      assert.match(r.stderr, /has no trust data/);
    });

    it('a copy of the repository with a bad signature or a mismatched snapshot fails check with 3', async () => {
      const http = new HttpMetadataSource({ server: server.sut.url, caFile: server.sut.caFile });
      const recorder = new RecordingSource(http, delegatedGun);
      const recorded = await verifyRepository({
        source: recorder,
        gun: delegatedGun,
        clock: systemClock,
      });
      assert.equal(recorded.ok, true, JSON.stringify(recorded.failures));
      const copy = recorder.copy;
      const statik = cleanup.add(await serveSource(copy, delegatedGun));

      const faithful = await cli('check', '--server', statik.url, '--gun', delegatedGun);
      assert.equal(faithful.code, 0, `the unaltered copy verifies: ${faithful.stderr}`);

      const ts = copy.currentBytes('timestamp');
      copy.setCurrent('timestamp', breakSignature(ts));
      const badSig = await cli('check', '--server', statik.url, '--gun', delegatedGun);
      assert.equal(badSig.code, 3);
      assert.match(
        badSig.stderr,
        /signatures: timestamp: valid signatures did not meet threshold for timestamp/
      );
      copy.setCurrent('timestamp', ts);

      const snapHex = recorded.roles.find((x) => x.role === 'snapshot')!.sha256;
      const snap = (await copy.getByChecksum(delegatedGun, 'snapshot', snapHex))!;
      assert.equal(sha256(snap), snapHex);
      copy.replaceByChecksum('snapshot', snapHex, breakSignature(snap));
      const badHash = await cli('check', '--server', statik.url, '--gun', delegatedGun);
      assert.equal(badHash.code, 3);
      assert.match(
        badHash.stderr,
        /consistency: snapshot: sha256 checksum for snapshot did not match/
      );
      const v = await cli('verify', '--server', statik.url, `${delegatedGun}:v1`);
      assert.equal(v.code, 3);
      assert.equal(v.stdout, '');
    });
  });
}

describe('check against Countersign with a 30-second timestamp lifetime', () => {
  const cleanup = new Cleanup();
  let serverArgs: string[];
  const gun = 'example.com/check-verify/short';

  before(async () => {
    const server = cleanup.add(
      await startCountersign({ config: { countersign: { expiry: { timestamp: '30s' } } } })
    );
    serverArgs = [
      '--server',
      server.sut.url,
      ...(server.sut.caFile ? ['--ca', server.sut.caFile] : []),
    ];
    const client = cleanup.add(await NotaryClient.create({ server: server.sut }));
    const work = cleanup.tempDir('check-verify-short-');
    await client.init(gun);
    await client.add(gun, 'v1', payload(work, 'v1.bin', 10).file);
    await client.publish(gun);
  });
  after(() => cleanup.run());

  it('fails with 1 under the default --min-valid of 24h and passes with a few seconds', async () => {
    const r = await cli('check', ...serverArgs, '--gun', gun);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /expiry: timestamp expires within 24h/);
    const ok = await cli('check', ...serverArgs, '--gun', gun, '--min-valid', '2s');
    assert.equal(ok.code, 0, ok.stderr);
    const v = await cli('verify', ...serverArgs, `${gun}:v1`);
    assert.equal(v.code, 0, v.stderr);
  });
});
