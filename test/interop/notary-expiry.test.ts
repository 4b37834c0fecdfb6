/**
 * Countersign re-signs an expired timestamp when it is read, in real time, and the real notary CLI
 * never notices: with `countersign.expiry.timestamp = 3s` a repository published once stays
 * listable long after its first timestamp expired, the re-sign shows in the changefeed, and no
 * GET ever hands out a timestamp that has already expired.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import { startCountersign, type StartedCountersign } from '../helpers/countersign.js';
import { NotaryClient } from '../helpers/notary-cli.js';
import {
  changefeed,
  fetchRaw,
  getOk,
  parseSigned,
  requestCount,
  sha256Hex,
  tufPath,
  type SnapshotSigned,
} from '../helpers/notary-http.js';
import { sleep } from '../helpers/proc.js';

const LIFETIME_MS = 3_000;

describe('read-triggered re-sign of expired timestamps (countersign.expiry.timestamp = 3s)', () => {
  const cleanup = new Cleanup();
  const gun = 'example.com/countersign/expiring';
  let server: StartedCountersign;
  let alice: NotaryClient;
  let expected: { name: string; digestHex: string; size: number; role: string }[];

  const currentTimestamp = async () => {
    const r = await fetchRaw(server.sut, tufPath(gun, 'timestamp.json'));
    assert.equal(r.status, 200, r.body.toString('utf8'));
    const signed = parseSigned<SnapshotSigned>(r.body).signed;
    return { ...r, version: signed.version, expiresMs: Date.parse(signed.expires) };
  };
  const publishes = () => requestCount(server.sut, { operation: 'UpdateTUF', method: 'post' });

  before(async () => {
    server = cleanup.add(
      await startCountersign({
        config: { countersign: { expiry: { timestamp: '3s' }, scheduler: { enabled: false } } },
      })
    );
    alice = cleanup.add(await NotaryClient.create({ server: server.sut }));
    const dir = cleanup.tempDir('notary-expiry-');
    const data = randomBytes(512);
    writeFileSync(join(dir, 'app.bin'), data);
    await alice.init(gun);
    await alice.add(gun, 'app', join(dir, 'app.bin'), { publish: true });
    expected = [{ name: 'app', digestHex: sha256Hex(data), size: 512, role: 'targets' }];
  });
  after(() => cleanup.run());

  it('a publish gets a timestamp that lives 3 seconds', async () => {
    const ts = await currentTimestamp();
    assert.equal(ts.version, 1);
    const left = ts.expiresMs - ts.receivedAt;
    assert.ok(left > 0 && left <= LIFETIME_MS, `expires ${left} ms after it was received`);
  });

  it('past the expiry, a fresh and an existing notary client still list; the read re-signed it', async () => {
    const first = await currentTimestamp();
    const snapshotBytes = await getOk(server.sut, tufPath(gun, 'snapshot.json'));
    const feedBefore = await changefeed(server.sut, 'records=10');
    const publishesBefore = await publishes();

    await sleep(first.expiresMs - Date.now() + 300);
    assert.ok(Date.now() > first.expiresMs, 'the first timestamp has expired');

    const fresh = cleanup.add(await alice.fresh());
    assert.deepEqual(await fresh.list(gun), expected);
    assert.deepEqual(await alice.list(gun), expected);

    const now = await currentTimestamp();
    assert.ok(now.version > first.version, `version ${first.version} → ${now.version}`);
    assert.ok(now.expiresMs > now.receivedAt, 'the served timestamp is unexpired');
    // Only the timestamp was re-signed: the client-held snapshot is the one it names, unchanged.
    assert.deepEqual(await getOk(server.sut, tufPath(gun, 'snapshot.json')), snapshotBytes);
    assert.equal(await publishes(), publishesBefore, 'nobody published in between');

    const feed = await changefeed(server.sut, 'records=10');
    assert.ok(feed.count > feedBefore.count, 'the changefeed grew');
    const added = feed.records.slice(feedBefore.count);
    assert.ok(added.every((r) => r.GUN === gun && r.Category === 'update'));
    const newest = feed.records.at(-1)!;
    assert.equal(newest.Version, now.version);
    assert.equal(newest.SHA256, sha256Hex(now.body));
    assert.equal(added[0]!.Version, first.version + 1);
  });

  it('polled every 100 ms across expiries, timestamp.json is never expired when it arrives', async () => {
    const seen: { version: number; expiresMs: number; receivedAt: number }[] = [];
    const until = Date.now() + 2 * LIFETIME_MS + 1_000;
    while (Date.now() < until) {
      const ts = await currentTimestamp();
      seen.push({ version: ts.version, expiresMs: ts.expiresMs, receivedAt: ts.receivedAt });
      await sleep(100);
    }
    const expired = seen.filter((s) => s.expiresMs <= s.receivedAt);
    assert.deepEqual(expired, [], 'timestamps already expired when received');
    const versions = seen.map((s) => s.version);
    assert.ok(
      versions.every((v, i) => i === 0 || v >= versions[i - 1]!),
      `versions never go back: ${versions.join(',')}`
    );
    assert.ok(
      new Set(versions).size >= 2,
      `crossed an expiry: ${[...new Set(versions)].join(',')}`
    );
    assert.ok(seen.length >= 40, `polled ${seen.length} times`);

    const fresh = cleanup.add(await alice.fresh());
    assert.deepEqual(await fresh.list(gun), expected);
  });
});
