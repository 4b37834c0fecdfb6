/**
 * Countersign stopped and started again on the same data directory keeps serving what the
 * notary CLI published: the same bytes, the same server-held keys (they decrypt, `GET .key` is
 * stable), the same TLS CA, and the repository stays publishable with those keys.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import { startCountersign, type StartedCountersign } from '../helpers/countersign.js';
import { NotaryClient } from '../helpers/notary-cli.js';
import {
  getOk,
  getSigned,
  sha256Hex,
  tufPath,
  type RootSigned,
  type SnapshotSigned,
} from '../helpers/notary-http.js';

describe('Countersign restarted on the same data dir', () => {
  const cleanup = new Cleanup();
  const gun = 'example.com/countersign/restarted';
  let dataDir: string;
  let work: string;
  let first: StartedCountersign;
  let alice: NotaryClient;
  const expected: { name: string; digestHex: string; size: number; role: string }[] = [];
  const before_: Record<string, Buffer> = {};

  const file = (name: string, size: number) => {
    const data = randomBytes(size);
    writeFileSync(join(work, name), data);
    expected.push({ name, digestHex: sha256Hex(data), size, role: 'targets' });
    return join(work, name);
  };
  const sorted = <T extends { name: string }>(xs: T[]): T[] =>
    [...xs].sort((a, b) => a.name.localeCompare(b.name));

  before(async () => {
    dataDir = join(cleanup.tempDir('countersign-restart-'), 'data');
    work = cleanup.tempDir('notary-restart-work-');
    first = cleanup.add(await startCountersign({ dataDir }));
    alice = cleanup.add(await NotaryClient.create({ server: first.sut }));
    await alice.init(gun);
    await alice.add(gun, 'before', file('before', 300), { publish: true });
    // Both snapshot and timestamp keys held (sealed) by the server from now on.
    await alice.keyRotate(gun, 'snapshot', { serverManaged: true });
    for (const f of [
      'snapshot.key',
      'timestamp.key',
      'root.json',
      'timestamp.json',
      'snapshot.json',
    ]) {
      before_[f] = await getOk(first.sut, tufPath(gun, f));
    }
    before_.ca = readFileSync(first.sut.caFile!);
    await first.stop();
    assert.equal(first.service.running, false);
  });
  after(() => cleanup.run());

  it('serves the same CA, keys and metadata bytes, and stays publishable', async () => {
    const second = cleanup.add(await startCountersign({ dataDir }));
    assert.notEqual(second.sut.url, first.sut.url);
    assert.equal(second.sut.caFile, first.sut.caFile);
    assert.deepEqual(readFileSync(second.sut.caFile!), before_.ca, 'the TLS CA was kept');

    for (const f of [
      'snapshot.key',
      'timestamp.key',
      'root.json',
      'timestamp.json',
      'snapshot.json',
    ]) {
      assert.deepEqual(await getOk(second.sut, tufPath(gun, f)), before_[f], f);
    }

    const reader = cleanup.add(await NotaryClient.create({ server: second.sut }));
    assert.deepEqual(await reader.list(gun), expected);

    // Alice's keys and cache, pointed at the new address.
    const again = cleanup.add(await alice.sharingTrustDir({ server: second.sut }));
    await again.add(gun, 'after', file('after', 42), { publish: true });

    const root = await getSigned<RootSigned>(second.sut, gun, 'root.json');
    const snapshotKey = root.signed.roles.snapshot!.keyids[0]!;
    const timestampKey = root.signed.roles.timestamp!.keyids[0]!;
    const snap = await getSigned<SnapshotSigned>(second.sut, gun, 'snapshot.json');
    const ts = await getSigned<SnapshotSigned>(second.sut, gun, 'timestamp.json');
    const oldSnap = JSON.parse(before_['snapshot.json']!.toString('utf8')) as {
      signed: { version: number };
    };
    const oldTs = JSON.parse(before_['timestamp.json']!.toString('utf8')) as {
      signed: { version: number };
    };
    // Signed after the restart, by the keys sealed before it.
    assert.equal(snap.signed.version, oldSnap.signed.version + 1);
    assert.equal(ts.signed.version, oldTs.signed.version + 1);
    assert.deepEqual(
      snap.signatures.map((s) => s.keyid),
      [snapshotKey]
    );
    assert.deepEqual(
      ts.signatures.map((s) => s.keyid),
      [timestampKey]
    );
    for (const f of ['snapshot.key', 'timestamp.key']) {
      assert.deepEqual(
        await getOk(second.sut, tufPath(gun, f)),
        before_[f],
        `${f} after publishing`
      );
    }

    const later = cleanup.add(await reader.fresh());
    assert.deepEqual(sorted(await later.list(gun)), sorted(expected));
    assert.deepEqual(sorted(await reader.list(gun)), sorted(expected));
  });
});
