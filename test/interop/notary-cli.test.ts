/**
 * The real notary CLI 0.7 against Countersign (`countersign serve`, started as operators run it),
 * over TLS with the CA it generates and over plain HTTP: every command of a repository's life,
 * the metadata it leaves on the server checked byte by byte (hashes and lengths the timestamp and
 * snapshot promise), and the by-version / by-checksum URLs clients walk. The same flow passes
 * against the reference notary-server in harness.test.ts; here it must pass against ours.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import { startCountersign } from '../helpers/countersign.js';
import { startReferenceNotaryServer } from '../helpers/notary-server.js';
import type { StartedServer } from '../helpers/server-under-test.js';
import { isKeyForGun, NotaryClient } from '../helpers/notary-cli.js';
import {
  b64ToHex,
  changefeed,
  fetchRaw,
  fileMetaOf,
  getOk,
  getSigned,
  parseSigned,
  requestCount,
  sha256Hex,
  tufPath,
  type RootSigned,
  type SnapshotSigned,
  type TargetsSigned,
} from '../helpers/notary-http.js';
import { CommandError, httpStatus } from '../helpers/proc.js';
import { makeDelegationCert, type SigningCertFiles } from '../helpers/tls.js';

function payload(
  dir: string,
  name: string,
  bytes: number
): { file: string; data: Buffer; hex: string; size: number } {
  const data = randomBytes(bytes);
  const file = join(dir, name);
  writeFileSync(file, data);
  return { file, data, hex: sha256Hex(data), size: bytes };
}

function cachedRoot(client: NotaryClient, gun: string): { signed: { version: number } } {
  return JSON.parse(
    readFileSync(join(client.trustDir, 'tuf', gun, 'metadata', 'root.json'), 'utf8')
  ) as { signed: { version: number } };
}

/** A client's failed command: notary prints `* fatal: …` on stdout. */
function rejectsWith(re: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof CommandError, String(e));
    assert.match(e.result.stdout, re);
    return true;
  };
}

interface Target {
  name: string;
  tls: boolean;
  /**
   * By-checksum lookups keyed by (GUN, role, hash), as notary-server's SQL backends and
   * Countersign do. The reference runs here on its memory backend, whose checksum lookup
   * ignores the role (observed: it serves root's bytes as `targets.<root hash>.json`).
   */
  checksumPerRole: boolean;
  start(): Promise<StartedServer>;
}

// The reference notary-server runs the very same flow as the yardstick: every assertion below
// is what notary 0.7 itself does, and Countersign must not be told apart from it.
const TARGETS: Target[] = [
  {
    name: 'Countersign (TLS, generated CA)',
    tls: true,
    checksumPerRole: true,
    start: () => startCountersign(),
  },
  {
    name: 'Countersign (plain HTTP)',
    tls: false,
    checksumPerRole: true,
    start: () => startCountersign({ tls: false }),
  },
  {
    name: 'reference notary-server (TLS, memory backend), the yardstick',
    tls: true,
    checksumPerRole: false,
    start: () => startReferenceNotaryServer(),
  },
];

for (const target of TARGETS) {
  const tls = target.tls;

  describe(`notary CLI 0.7 against ${target.name}`, () => {
    const cleanup = new Cleanup();
    const gun = `example.com/countersign/${tls ? 'tls' : 'plain'}/app`;
    let server: StartedServer;
    let alice: NotaryClient;
    let work: string;
    let releases: SigningCertFiles;
    /** What the repository should list after each step. */
    const live = new Map<string, { hex: string; size: number; role: string }>();

    const listOf = () =>
      [...live].map(([name, t]) => ({ name, digestHex: t.hex, size: t.size, role: t.role }));
    const sorted = <T extends { name: string }>(xs: T[]): T[] =>
      [...xs].sort((a, b) => a.name.localeCompare(b.name));
    const root = () => getSigned<RootSigned>(server.sut, gun, 'root.json');
    const snapshot = () => getSigned<SnapshotSigned>(server.sut, gun, 'snapshot.json');
    const timestamp = () => getSigned<SnapshotSigned>(server.sut, gun, 'timestamp.json');
    const serverKey = async (role: 'snapshot' | 'timestamp') =>
      JSON.parse((await getOk(server.sut, tufPath(gun, `${role}.key`))).toString('utf8')) as {
        keytype: string;
        keyval: { public: string };
      };

    before(async () => {
      server = cleanup.add(await target.start());
      alice = cleanup.add(await NotaryClient.create({ server: server.sut }));
      work = cleanup.tempDir('notary-cli-work-');
      releases = await makeDelegationCert(work, { name: 'releases' });
    });
    after(() => cleanup.run());

    it('serves over the expected scheme; with TLS, only to clients that trust its CA', async () => {
      assert.match(
        server.sut.url,
        tls ? /^https:\/\/127\.0\.0\.1:\d+$/ : /^http:\/\/127\.0\.0\.1:\d+$/
      );
      assert.equal(server.sut.caFile !== undefined, tls);
      assert.equal(await httpStatus(`${server.sut.url}/v2/`, server.sut.caFile), 200);
      if (!tls) return;
      await assert.rejects(httpStatus(`${server.sut.url}/v2/`), /self-signed|unable to verify/i);
      const untrusting = cleanup.add(
        await NotaryClient.create({ server: { ...server.sut, caFile: undefined } })
      );
      const r = await untrusting.run(['list', gun]);
      assert.notEqual(r.code, 0);
      assert.match(r.stdout + r.stderr, /x509: certificate signed by unknown authority/);
    });

    it('init + publish with a client-held snapshot key; a fresh client lists, looks up and verifies', async () => {
      const missing = await fetchRaw(server.sut, tufPath(gun, 'root.json'));
      assert.equal(missing.status, 404);

      const p = payload(work, 'v1.bin', 1234);
      await alice.init(gun);
      await alice.add(gun, 'v1', p.file);
      await alice.publish(gun);
      live.set('v1', { hex: p.hex, size: 1234, role: 'targets' });

      // The snapshot was signed by the client (its key is in the root, and the server's is not).
      const r = await root();
      assert.equal(r.signed.version, 1);
      const clientSnapshotKey = (await alice.keyList()).find(
        (k) => k.role === 'snapshot' && isKeyForGun(k, gun)
      );
      assert.ok(clientSnapshotKey, 'notary init made a local snapshot key');
      assert.deepEqual(r.signed.roles.snapshot!.keyids, [clientSnapshotKey.keyId]);
      const snap = await snapshot();
      assert.deepEqual(
        snap.signatures.map((s) => s.keyid),
        [clientSnapshotKey.keyId]
      );
      // The timestamp is the server's, signed with the key GET timestamp.key hands out.
      const ts = await timestamp();
      assert.equal(ts.signed.version, 1);
      const tsKeyId = r.signed.roles.timestamp!.keyids[0]!;
      assert.equal(
        r.signed.keys[tsKeyId]!.keyval.public,
        (await serverKey('timestamp')).keyval.public
      );
      assert.deepEqual(
        ts.signatures.map((s) => s.keyid),
        [tsKeyId]
      );

      const bob = cleanup.add(await alice.fresh());
      assert.deepEqual(await bob.list(gun), listOf());
      assert.deepEqual(await bob.lookup(gun, 'v1'), { name: 'v1', digestHex: p.hex, size: 1234 });
      assert.equal((await bob.verify(gun, 'v1', p.data)).code, 0);
      const tampered = Buffer.from(p.data);
      tampered[7] = tampered[7]! ^ 0x40;
      const bad = await bob.verify(gun, 'v1', tampered);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stdout, /checksum for v1 did not match/);
      const wrongSize = await bob.verify(gun, 'v1', p.data.subarray(1));
      assert.notEqual(wrongSize.code, 0);
    });

    it('add and remove in one publish; a fresh client sees exactly the result', async () => {
      const targetsBefore = (await getSigned<TargetsSigned>(server.sut, gun, 'targets.json')).signed
        .version;
      const timestampBefore = (await timestamp()).signed.version;
      const p2 = payload(work, 'v2.bin', 4096);
      const p3 = payload(work, 'v3.bin', 17);
      await alice.add(gun, 'v2', p2.file);
      await alice.add(gun, 'v3', p3.file);
      await alice.remove(gun, 'v1');
      await alice.publish(gun);
      live.delete('v1');
      live.set('v2', { hex: p2.hex, size: 4096, role: 'targets' });
      live.set('v3', { hex: p3.hex, size: 17, role: 'targets' });

      const t = await getSigned<TargetsSigned>(server.sut, gun, 'targets.json');
      assert.equal(t.signed.version, targetsBefore + 1);
      assert.deepEqual(Object.keys(t.signed.targets).sort(), ['v2', 'v3']);
      const reader = cleanup.add(await alice.fresh());
      assert.deepEqual(sorted(await reader.list(gun)), sorted(listOf()));
      await assert.rejects(reader.lookup(gun, 'v1'), rejectsWith(/No valid trust data for v1/));
      assert.equal((await timestamp()).signed.version, timestampBefore + 1);
    });

    it('snapshot and timestamp keys rotated to the server; later publishes get server-signed snapshots', async () => {
      const before = await root();
      const oldSnapshotKey = before.signed.roles.snapshot!.keyids[0]!;
      const oldTimestampKey = before.signed.roles.timestamp!.keyids[0]!;
      const snapBefore = (await snapshot()).signed.version;

      await alice.keyRotate(gun, 'snapshot', { serverManaged: true });
      await alice.keyRotate(gun, 'timestamp', { serverManaged: true });

      const after = await root();
      assert.equal(after.signed.version, before.signed.version + 2);
      const snapKeyId = after.signed.roles.snapshot!.keyids[0]!;
      const tsKeyId = after.signed.roles.timestamp!.keyids[0]!;
      assert.equal(after.signed.roles.snapshot!.keyids.length, 1);
      assert.notEqual(snapKeyId, oldSnapshotKey);
      assert.notEqual(tsKeyId, oldTimestampKey);
      // GET .key now answers, stably, with the keys the new root lists.
      for (let i = 0; i < 2; i++) {
        assert.equal(
          (await serverKey('snapshot')).keyval.public,
          after.signed.keys[snapKeyId]!.keyval.public
        );
        assert.equal(
          (await serverKey('timestamp')).keyval.public,
          after.signed.keys[tsKeyId]!.keyval.public
        );
      }
      // The client no longer holds a snapshot key for this GUN.
      assert.ok(!(await alice.keyList()).some((k) => k.role === 'snapshot' && isKeyForGun(k, gun)));

      const p4 = payload(work, 'v4.bin', 999);
      await alice.add(gun, 'v4', p4.file, { publish: true });
      live.set('v4', { hex: p4.hex, size: 999, role: 'targets' });

      const snap = await snapshot();
      assert.ok(snap.signed.version > snapBefore);
      assert.deepEqual(
        snap.signatures.map((s) => s.keyid),
        [snapKeyId]
      );
      assert.deepEqual(
        (await timestamp()).signatures.map((s) => s.keyid),
        [tsKeyId]
      );
      const reader = cleanup.add(await alice.fresh());
      assert.deepEqual(sorted(await reader.list(gun)), sorted(listOf()));
      assert.equal(cachedRoot(reader, gun).signed.version, after.signed.version);
    });

    it('a targets/releases delegation from an openssl certificate holds a target added with -r', async () => {
      await alice.delegationAdd(gun, 'targets/releases', [releases.certFile], { publish: true });
      await alice.keyImport(releases.keyFile, { role: 'targets/releases', gun });
      const p = payload(work, 'rel.bin', 777);
      await alice.add(gun, 'rel-1.0', p.file, { roles: ['targets/releases'], publish: true });
      live.set('rel-1.0', { hex: p.hex, size: 777, role: 'targets/releases' });

      const expected = [{ name: 'rel-1.0', digestHex: p.hex, size: 777, role: 'targets/releases' }];
      assert.deepEqual(await alice.list(gun, { roles: ['targets/releases'] }), expected);

      const t = await getSigned<TargetsSigned>(server.sut, gun, 'targets.json');
      assert.deepEqual(Object.keys(t.signed.delegations!.keys), [releases.keyId]);
      assert.deepEqual(
        t.signed.delegations!.roles.map((r) => [r.name, r.keyids]),
        [['targets/releases', [releases.keyId]]]
      );
      const rel = await getSigned<TargetsSigned>(server.sut, gun, 'targets/releases.json');
      assert.deepEqual(
        rel.signatures.map((s) => s.keyid),
        [releases.keyId]
      );
      assert.ok('targets/releases' in (await snapshot()).signed.meta);

      const reader = cleanup.add(await alice.fresh());
      assert.deepEqual(await reader.delegationList(gun), [
        { role: 'targets/releases', paths: [''], keyIds: [releases.canonicalKeyId], threshold: 1 },
      ]);
      assert.deepEqual(await reader.list(gun, { roles: ['targets/releases'] }), expected);
      assert.deepEqual(sorted(await reader.list(gun)), sorted(listOf()));
    });

    it('witness re-signs targets and targets/releases with new versions and the same content', async () => {
      const before = {
        targets: await getSigned<TargetsSigned>(server.sut, gun, 'targets.json'),
        releases: await getSigned<TargetsSigned>(server.sut, gun, 'targets/releases.json'),
      };
      const r = await alice.witness(gun, ['targets', 'targets/releases'], { publish: true });
      assert.equal(r.code, 0);
      const afterTargets = await getSigned<TargetsSigned>(server.sut, gun, 'targets.json');
      const afterReleases = await getSigned<TargetsSigned>(
        server.sut,
        gun,
        'targets/releases.json'
      );
      assert.equal(afterTargets.signed.version, before.targets.signed.version + 1);
      assert.equal(afterReleases.signed.version, before.releases.signed.version + 1);
      assert.deepEqual(afterTargets.signed.targets, before.targets.signed.targets);
      assert.deepEqual(afterReleases.signed.targets, before.releases.signed.targets);
      assert.deepEqual(
        afterReleases.signatures.map((s) => s.keyid),
        [releases.keyId]
      );
      const reader = cleanup.add(await alice.fresh());
      assert.deepEqual(sorted(await reader.list(gun)), sorted(listOf()));
    });

    it('a nested delegation targets/releases/beta (paths beta/) and addhash with sha512 into targets/releases', async () => {
      const beta = await makeDelegationCert(work, { name: 'beta' });
      await alice.keyImport(beta.keyFile, { role: 'targets/releases/beta', gun });
      await alice.delegationAdd(gun, 'targets/releases/beta', [beta.certFile], {
        paths: ['beta/'],
        publish: true,
      });
      const p = payload(work, 'beta.bin', 2048);
      await alice.add(gun, 'beta/1.0', p.file, { roles: ['targets/releases/beta'], publish: true });
      live.set('beta/1.0', { hex: p.hex, size: 2048, role: 'targets/releases/beta' });
      const sha256 = sha256Hex('by hash only');
      const sha512 = createHash('sha512').update('by hash only').digest('hex');
      await alice.addHash(gun, 'rel-hash', 12, sha256, {
        sha512Hex: sha512,
        roles: ['targets/releases'],
        publish: true,
      });
      live.set('rel-hash', { hex: sha256, size: 12, role: 'targets/releases' });

      const rel = await getSigned<TargetsSigned>(server.sut, gun, 'targets/releases.json');
      assert.deepEqual(
        rel.signed.delegations!.roles.map((r) => [r.name, r.keyids]),
        [['targets/releases/beta', [beta.keyId]]]
      );
      assert.deepEqual(rel.signed.targets['rel-hash'], {
        hashes: {
          sha256: Buffer.from(sha256, 'hex').toString('base64'),
          sha512: Buffer.from(sha512, 'hex').toString('base64'),
        },
        length: 12,
      });
      const reader = cleanup.add(await alice.fresh());
      assert.deepEqual(await reader.list(gun, { roles: ['targets/releases/beta'] }), [
        { name: 'beta/1.0', digestHex: p.hex, size: 2048, role: 'targets/releases/beta' },
      ]);
      assert.deepEqual(sorted(await reader.list(gun)), sorted(listOf()));
      assert.deepEqual(
        (await reader.delegationList(gun)).map((d) => [d.role, d.paths, d.keyIds]),
        [
          ['targets/releases', [''], [releases.canonicalKeyId]],
          ['targets/releases/beta', ['beta/'], [beta.canonicalKeyId]],
        ]
      );
    });

    it('targets key rotation: new root lists the new key and targets is re-signed with it', async () => {
      const before = await root();
      const oldTargetsKey = before.signed.roles.targets!.keyids[0]!;
      await alice.keyRotate(gun, 'targets');
      const after = await root();
      assert.equal(after.signed.version, before.signed.version + 1);
      const newTargetsKey = after.signed.roles.targets!.keyids[0]!;
      assert.notEqual(newTargetsKey, oldTargetsKey);
      const t = await getSigned<TargetsSigned>(server.sut, gun, 'targets.json');
      assert.deepEqual(
        t.signatures.map((s) => s.keyid),
        [newTargetsKey]
      );
      const reader = cleanup.add(await alice.fresh());
      assert.deepEqual(sorted(await reader.list(gun)), sorted(listOf()));
    });

    it('root key rotation: a fresh client and one with an older cached root (walking N.root.json) follow', async () => {
      // `key rotate` publishes without updating the client's cached root; a read does.
      await alice.list(gun);
      const stale = cleanup.add(await alice.cloneTrustDir());
      const cachedVersion = cachedRoot(stale, gun).signed.version;
      const before = await root();
      assert.equal(cachedVersion, before.signed.version);
      const oldRootKeys = before.signed.roles.root!.keyids;

      // Two rotations, so the stale client must fetch the intermediate root by version.
      await alice.keyRotate(gun, 'root');
      await alice.keyRotate(gun, 'root');
      const p = payload(work, 'post-rotation.bin', 99);
      await alice.add(gun, 'post-rotation', p.file, { publish: true });
      live.set('post-rotation', { hex: p.hex, size: 99, role: 'targets' });

      const after = await root();
      assert.equal(after.signed.version, before.signed.version + 2);
      assert.notDeepEqual(after.signed.roles.root!.keyids, oldRootKeys);
      // A rotated root carries the signatures of the previous root key and the new one.
      const middle = await getSigned<RootSigned>(
        server.sut,
        gun,
        `${before.signed.version + 1}.root.json`
      );
      assert.equal(middle.signed.version, before.signed.version + 1);
      const middleSigners = middle.signatures.map((s) => s.keyid);
      assert.ok(
        oldRootKeys.every((k) => middleSigners.includes(k)),
        'signed by the old root key'
      );
      assert.ok(
        middle.signed.roles.root!.keyids.every((k) => middleSigners.includes(k)),
        'signed by the new root key'
      );

      const fresh = cleanup.add(await alice.fresh());
      assert.deepEqual(sorted(await fresh.list(gun)), sorted(listOf()));
      assert.equal(cachedRoot(fresh, gun).signed.version, after.signed.version);

      const byVersionBefore = await requestCount(server.sut, { operation: 'GetRoleByVersion' });
      assert.deepEqual(sorted(await stale.list(gun)), sorted(listOf()));
      assert.equal(cachedRoot(stale, gun).signed.version, after.signed.version);
      const byVersionAfter = await requestCount(server.sut, { operation: 'GetRoleByVersion' });
      assert.ok(
        byVersionAfter > byVersionBefore,
        `the stale client fetched no <v>.root.json (${byVersionBefore} → ${byVersionAfter})`
      );
    });

    it('by-version and by-checksum GETs serve exactly the bytes timestamp and snapshot promise', async () => {
      const tsBytes = await getOk(server.sut, tufPath(gun, 'timestamp.json'));
      const ts = parseSigned<SnapshotSigned>(tsBytes);
      const promisedSnapshot = ts.signed.meta.snapshot!;
      const snapBytes = await getOk(
        server.sut,
        tufPath(gun, `snapshot.${b64ToHex(promisedSnapshot.hashes.sha256)}.json`)
      );
      assert.deepEqual(fileMetaOf(snapBytes), promisedSnapshot);
      assert.deepEqual(snapBytes, await getOk(server.sut, tufPath(gun, 'snapshot.json')));

      const snap = parseSigned<SnapshotSigned>(snapBytes);
      assert.deepEqual(Object.keys(snap.signed.meta).sort(), [
        'root',
        'targets',
        'targets/releases',
        'targets/releases/beta',
      ]);
      for (const [role, promised] of Object.entries(snap.signed.meta)) {
        const byHash = await getOk(
          server.sut,
          tufPath(gun, `${role}.${b64ToHex(promised.hashes.sha256)}.json`)
        );
        assert.deepEqual(fileMetaOf(byHash), promised, `${role} by checksum`);
        assert.deepEqual(byHash, await getOk(server.sut, tufPath(gun, `${role}.json`)), role);
        const version = parseSigned<unknown>(byHash).signed.version;
        assert.deepEqual(
          await getOk(server.sut, tufPath(gun, `${version}.${role}.json`)),
          byHash,
          `${version}.${role}.json`
        );
      }

      const current = await root();
      for (let v = 1; v <= current.signed.version; v++) {
        const b = await getOk(server.sut, tufPath(gun, `${v}.root.json`));
        assert.equal(parseSigned<RootSigned>(b).signed.version, v);
      }
      const beyond = await fetchRaw(
        server.sut,
        tufPath(gun, `${current.signed.version + 1}.root.json`)
      );
      assert.equal(beyond.status, 404);

      for (const file of [
        'timestamp.json',
        'root.json',
        `snapshot.${b64ToHex(promisedSnapshot.hashes.sha256)}.json`,
      ]) {
        const head = await fetchRaw(server.sut, tufPath(gun, file), { method: 'HEAD' });
        assert.equal(head.status, 404, `HEAD ${file}`);
      }
      // Role X by role Y's hash: no such file.
      const rootHex = b64ToHex(snap.signed.meta.root!.hashes.sha256);
      const targetsHex = b64ToHex(snap.signed.meta.targets!.hashes.sha256);
      const crossRole = [
        `targets.${rootHex}.json`,
        `root.${targetsHex}.json`,
        `snapshot.${targetsHex}.json`,
        `targets/releases.${targetsHex}.json`,
      ];
      // A hash nobody stored, and sha512-length names (only sha256 is indexed).
      const unknown = [
        `root.${'0'.repeat(64)}.json`,
        `snapshot.${b64ToHex(promisedSnapshot.hashes.sha512!)}.json`,
      ];
      for (const file of [...(target.checksumPerRole ? crossRole : []), ...unknown]) {
        const r = await fetchRaw(server.sut, tufPath(gun, file));
        assert.equal(r.status, 404, file);
        assert.equal(
          JSON.parse(r.body.toString('utf8')).errors[0].code,
          'METADATA_NOT_FOUND',
          file
        );
      }
    });

    it('snapshot key rotated back to the client: publishes carry client-signed snapshots again', async () => {
      const serverHeld = (await root()).signed.roles.snapshot!.keyids[0]!;
      await alice.keyRotate(gun, 'snapshot');
      const clientKey = (await alice.keyList()).find(
        (k) => k.role === 'snapshot' && isKeyForGun(k, gun)
      );
      assert.ok(clientKey, 'the client holds a snapshot key again');
      const r = await root();
      assert.deepEqual(r.signed.roles.snapshot!.keyids, [clientKey.keyId]);
      assert.notEqual(clientKey.keyId, serverHeld);

      const p = payload(work, 'client-snap.bin', 64);
      await alice.add(gun, 'client-snap', p.file, { publish: true });
      live.set('client-snap', { hex: p.hex, size: 64, role: 'targets' });
      assert.deepEqual(
        (await snapshot()).signatures.map((s) => s.keyid),
        [clientKey.keyId]
      );
      const reader = cleanup.add(await alice.fresh());
      assert.deepEqual(sorted(await reader.list(gun)), sorted(listOf()));
    });

    it('delete --remote: a fresh client finds no trust data; the GUN can be initialised again', async () => {
      await alice.deleteRemote(gun);
      for (const file of ['root.json', 'timestamp.json', 'snapshot.json', '1.root.json']) {
        assert.equal((await fetchRaw(server.sut, tufPath(gun, file))).status, 404, file);
      }
      const nobody = cleanup.add(await alice.fresh());
      await assert.rejects(
        nobody.list(gun),
        rejectsWith(new RegExp(`does not have trust data for ${gun.replace(/[./]/g, '\\$&')}`))
      );
      const feed = await changefeed(server.sut, 'records=100', gun);
      assert.equal(feed.records.at(-1)?.Category, 'deletion');

      await alice.init(gun);
      const p = payload(work, 'again.bin', 321);
      await alice.add(gun, 'again', p.file, { publish: true });
      const again = [{ name: 'again', digestHex: p.hex, size: 321, role: 'targets' }];
      assert.equal((await root()).signed.version, 1);
      assert.equal((await timestamp()).signed.version, 1);
      const reader = cleanup.add(await alice.fresh());
      assert.deepEqual(await reader.list(gun), again);
      assert.deepEqual(await nobody.list(gun), again);
    });
  });
}
