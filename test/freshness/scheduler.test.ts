/**
 * The re-signing scheduler in-process, with a ManualClock and `tick(now)` called directly (no
 * timers, no HTTP reads of the metadata it re-signs): server-held timestamps and snapshots are
 * re-signed once less than half their lifetime is left, client-held roles are left alone with a
 * rate-limited warning, per-prefix lifetimes decide when, and reads after expiry still re-sign.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseSnapshot, parseTimestamp } from '../../src/tuf/metadata.js';
import { PublicKey } from '../../src/crypto/keys.js';
import { post, publishRepo, tuf } from '../helpers/app.js';
import {
  expiresIn,
  plainKey,
  rootSigned,
  sign,
  snapshotSignedFor,
  targetsSigned,
  timestampSignedFor,
  x509Key,
} from '../helpers/tuf-builder.js';
import { createHash } from 'node:crypto';
import { freshApp, sample, type FreshApp } from './fixture.js';

const MIN = 60_000;
const DAY = 86_400_000;

async function latest(t: FreshApp, gun: string, role: 'timestamp' | 'snapshot') {
  const row = await t.app.storage.meta.getLatest(gun, role);
  assert.ok(row, `${gun} has a ${role}`);
  return role === 'timestamp' ? parseTimestamp(row.data).signed : parseSnapshot(row.data).signed;
}

const resignedGuns = (r: { resigned: readonly { gun: string }[] }) => r.resigned.map((e) => e.gun);

/** A repository whose snapshot key the producer holds; the server holds only the timestamp key. */
async function publishClientSnapshotRepo(t: FreshApp, gun: string, snapshotDays: number) {
  const rootKey = await x509Key(gun);
  const targetsKey = plainKey();
  const snapshotKey = plainKey();
  const tsRes = await t.http.get(tuf(gun, 'timestamp.key')).expect(200);
  const timestampKey = PublicKey.fromJSON(JSON.parse(tsRes.text), 'timestamp.key');
  const root = sign(
    rootSigned({
      root: [rootKey],
      targets: [targetsKey],
      snapshot: [snapshotKey],
      timestamp: [{ keyid: timestampKey.id, key: timestampKey }],
    }),
    [rootKey]
  );
  const targets = sign(targetsSigned({ targets: [{ name: 'v1' }] }), [targetsKey]);
  const snapshot = sign(
    snapshotSignedFor(
      new Map([
        ['root', root],
        ['targets', targets],
      ]),
      1,
      expiresIn(snapshotDays, t.clock.now().getTime())
    ),
    [snapshotKey]
  );
  const res = await post(t, gun, { root, targets, snapshot });
  assert.equal(res.status, 200, res.text);
}

describe('freshness scheduler: server-held timestamps and snapshots', () => {
  let t: FreshApp;
  before(async () => {
    t = await freshApp();
  });
  after(() => t.close());

  it('re-signs a timestamp once less than half its lifetime is left, with no request arriving', async () => {
    const gun = 'example.com/fresh/timestamp';
    await publishRepo(t, gun);
    const first = await latest(t, gun, 'timestamp');
    const feedBefore = await t.app.storage.meta.changes(gun, 0, 100);

    t.clock.set(first.expires.getTime() - 7 * DAY - MIN); // still more than half left
    let r = await t.app.freshness.scheduler.tick();
    assert.equal(r.leader, true);
    assert.deepEqual(resignedGuns(r), []);
    assert.equal((await latest(t, gun, 'timestamp')).version, first.version);

    t.clock.set(first.expires.getTime() - 7 * DAY + MIN); // less than half left
    r = await t.app.freshness.scheduler.tick();
    assert.deepEqual(resignedGuns(r), [gun]);
    assert.deepEqual(
      r.resigned[0]!.written.map((w) => [w.role, w.version]),
      [['timestamp', first.version + 1]]
    );
    const second = await latest(t, gun, 'timestamp');
    assert.equal(second.version, first.version + 1);
    assert.ok(
      Math.abs(second.expires.getTime() - (t.clock.now().getTime() + 14 * DAY)) < 1000,
      'expires = signing time + 14d'
    );
    assert.ok(second.expires > first.expires);

    // In the changefeed (and nothing was read over HTTP: the read path did not do this).
    const feed = await t.app.storage.meta.changes(gun, 0, 100);
    assert.equal(feed.length, feedBefore.length + 1);
    assert.equal(feed.at(-1)!.version, second.version);
    const metrics = (await t.http.get('/metrics').expect(200)).text;
    assert.equal(
      sample(metrics, 'countersign_resigns_total', {
        resigner: 'server-snapshot-timestamp',
        role: 'timestamp',
      }),
      1
    );
    assert.equal(
      sample(metrics, 'notary_server_http_requests_total', {
        code: '200',
        method: 'get',
        operation: 'GetRole',
      }),
      undefined
    );

    // A second tick right after finds nothing due.
    r = await t.app.freshness.scheduler.tick();
    assert.deepEqual(resignedGuns(r), []);
    const logged = t.logs().filter((l) => l.msg === 'metadata re-signed before expiry');
    assert.equal(logged.length, 1);
    assert.equal(logged[0]!.gun, gun);
  });

  it('a GET after a re-sign serves the new timestamp, not the cached one', async () => {
    const gun = 'example.com/fresh/cached';
    await publishRepo(t, gun);
    const served = async () =>
      parseTimestamp(Buffer.from((await t.http.get(tuf(gun, 'timestamp.json')).expect(200)).text))
        .signed;
    const before = await served();
    await served(); // cached now
    t.clock.set(before.expires.getTime() - 6 * DAY);
    const r = await t.app.freshness.scheduler.tick();
    assert.ok(resignedGuns(r).includes(gun));
    assert.equal((await served()).version, before.version + 1);
  });

  it('re-signs a server-held snapshot (and its timestamp) once less than half its lifetime is left', async () => {
    const gun = 'example.com/fresh/snapshot';
    await publishRepo(t, gun);
    const snap1 = await latest(t, gun, 'snapshot');
    const snap1Meta = (await t.app.storage.meta.getLatest(gun, 'snapshot'))!;

    t.clock.set(snap1.expires.getTime() - 1095 * DAY * 0.5 - DAY); // timestamp due, snapshot not yet
    let r = await t.app.freshness.scheduler.tick();
    let mine = r.resigned.filter((e) => e.gun === gun);
    assert.deepEqual(
      mine.flatMap((e) => e.written.map((w) => w.role)),
      ['timestamp']
    );
    assert.equal((await latest(t, gun, 'snapshot')).version, snap1.version);

    t.clock.set(snap1.expires.getTime() - 1095 * DAY * 0.5 + MIN);
    r = await t.app.freshness.scheduler.tick();
    mine = r.resigned.filter((e) => e.gun === gun);
    assert.deepEqual(mine.flatMap((e) => e.written.map((w) => w.role)).sort(), [
      'snapshot',
      'timestamp',
    ]);
    const snap2Row = (await t.app.storage.meta.getLatest(gun, 'snapshot'))!;
    const snap2 = parseSnapshot(snap2Row.data);
    assert.equal(snap2.signed.version, snap1.version + 1);
    assert.deepEqual(snap2.signedJSON.meta, parseSnapshot(snap1Meta.data).signedJSON.meta);
    assert.ok(
      Math.abs(snap2.signed.expires.getTime() - (t.clock.now().getTime() + 1095 * DAY)) < 1000
    );
    const ts = await latest(t, gun, 'timestamp');
    assert.equal(
      Buffer.from(
        (ts as { meta: ReadonlyMap<string, { hashes: Record<string, string> }> }).meta.get(
          'snapshot'
        )!.hashes.sha256!,
        'base64'
      ).toString('hex'),
      snap2Row.sha256,
      'the new timestamp names the new snapshot'
    );
  });

  it('reading an expired timestamp still re-signs it on the spot (scheduler never woke)', async () => {
    const gun = 'example.com/fresh/lazy';
    await publishRepo(t, gun);
    const first = await latest(t, gun, 'timestamp');
    t.clock.set(first.expires.getTime() + 1000);
    const res = await t.http.get(tuf(gun, 'timestamp.json')).expect(200);
    const served = parseTimestamp(Buffer.from(res.text)).signed;
    assert.equal(served.version, first.version + 1);
    assert.ok(served.expires.getTime() > t.clock.now().getTime());
  });
});

describe('freshness scheduler: roles the server does not hold', () => {
  let t: FreshApp;
  before(async () => {
    t = await freshApp();
  });
  after(() => t.close());

  it('re-signs the timestamp, leaves a client-held snapshot alone, and warns once a day as it nears expiry', async () => {
    const gun = 'example.com/fresh/client-snapshot';
    const start = t.clock.now().getTime();
    await publishClientSnapshotRepo(t, gun, 40);
    const snap = await latest(t, gun, 'snapshot');
    const warnings = () =>
      t.logs().filter((l) => l.level === 'warn' && l.gun === gun && l.role === 'snapshot');

    t.clock.set(start + DAY);
    let r = await t.app.freshness.scheduler.tick();
    assert.deepEqual(
      r.warned.filter((w) => w.gun === gun),
      []
    );

    t.clock.set(start + 11 * DAY); // snapshot: 29 days left (< warnWithin 30d); timestamp due
    r = await t.app.freshness.scheduler.tick();
    assert.deepEqual(
      r.warned.filter((w) => w.gun === gun),
      [{ gun, role: 'snapshot', state: 'expiring' }]
    );
    assert.deepEqual(
      r.resigned.filter((e) => e.gun === gun).flatMap((e) => e.written.map((w) => w.role)),
      ['timestamp']
    );
    assert.equal((await latest(t, gun, 'snapshot')).version, snap.version);
    assert.equal(warnings().length, 1);
    assert.equal(warnings()[0]!.keyHolder, 'client');
    assert.match(
      String(warnings()[0]!.msg),
      /snapshot of example\.com\/fresh\/client-snapshot expires soon and the server does not re-sign it/
    );

    const status = (await t.http.get(`/api/v1/repositories/${gun}/status`).expect(200)).body;
    const byRole = Object.fromEntries(status.roles.map((x: { role: string }) => [x.role, x]));
    assert.equal(byRole.snapshot.keyHolder, 'client');
    assert.equal(byRole.snapshot.state, 'expiring');
    assert.equal(byRole.snapshot.resignAt, undefined);
    assert.equal(byRole.timestamp.keyHolder, 'server');
    assert.equal(byRole.timestamp.state, 'valid');

    t.clock.set(start + 11 * DAY + 3_600_000); // an hour later: no second warning
    r = await t.app.freshness.scheduler.tick();
    assert.deepEqual(
      r.warned.filter((w) => w.gun === gun),
      []
    );
    assert.equal(warnings().length, 1);

    t.clock.set(start + 12 * DAY + MIN); // a day later: again
    r = await t.app.freshness.scheduler.tick();
    assert.deepEqual(
      r.warned.filter((w) => w.gun === gun),
      [{ gun, role: 'snapshot', state: 'expiring' }]
    );
    assert.equal(warnings().length, 2);

    // Past the snapshot's expiry: the timestamp is still kept fresh, nothing fails, and the
    // snapshot stays the producer's.
    const ts = await latest(t, gun, 'timestamp');
    t.clock.set(Math.max(start + 41 * DAY, ts.expires.getTime() - DAY));
    r = await t.app.freshness.scheduler.tick();
    assert.deepEqual(r.failed, []);
    assert.deepEqual(
      r.resigned.filter((e) => e.gun === gun).flatMap((e) => e.written.map((w) => w.role)),
      ['timestamp']
    );
    assert.deepEqual(
      r.warned.filter((w) => w.gun === gun),
      [{ gun, role: 'snapshot', state: 'expired' }]
    );
    assert.equal((await latest(t, gun, 'snapshot')).version, snap.version);
  });

  it('a timestamp whose key the server does not hold is not the owner to publish: the warning says rotate or import', async () => {
    // As a repository imported from notary-server with its timestamp key left in notary-signer:
    // stored as it was, every key held elsewhere (written to storage directly, as an import does).
    const gun = 'example.com/fresh/imported-timestamp';
    const now = t.clock.now().getTime();
    const [rootKey, targetsKey, snapshotKey, timestampKey] = [
      await x509Key(gun),
      plainKey(),
      plainKey(),
      plainKey(),
    ];
    const root = sign(
      rootSigned({
        root: [rootKey],
        targets: [targetsKey],
        snapshot: [snapshotKey],
        timestamp: [timestampKey],
      }),
      [rootKey]
    );
    const targets = sign(targetsSigned({ targets: [{ name: 'v1' }] }), [targetsKey]);
    const files = new Map([
      ['root', root],
      ['targets', targets],
    ]);
    const snapshot = sign(snapshotSignedFor(files, 1, expiresIn(40, now)), [snapshotKey]);
    const timestamp = sign(timestampSignedFor(snapshot, 1, expiresIn(10, now)), [timestampKey]);
    await t.app.storage.meta.updateMany(
      gun,
      Object.entries({ root, targets, snapshot, timestamp }).map(([role, data]) => ({
        role: role as 'root',
        version: 1,
        sha256: createHash('sha256').update(data).digest('hex'),
        data,
      })),
      new Date(now)
    );
    const r = await t.app.freshness.scheduler.tick();
    assert.deepEqual(
      r.warned.filter((w) => w.gun === gun && w.role === 'timestamp'),
      [{ gun, role: 'timestamp', state: 'expiring' }]
    );
    const warning = t
      .logs()
      .find((l) => l.level === 'warn' && l.gun === gun && l.role === 'timestamp');
    const msg = String(warning?.msg);
    assert.match(msg, /timestamp of example\.com\/fresh\/imported-timestamp expires soon/);
    assert.match(msg, /notary key rotate example\.com\/fresh\/imported-timestamp timestamp -r/);
    assert.match(msg, /countersign import-notary --signer-db/);
    assert.doesNotMatch(msg, /must publish/);
  });
});

describe('freshness scheduler: lifetimes per GUN prefix', () => {
  let t: FreshApp;
  before(async () => {
    t = await freshApp({
      countersign: { expiry: { gunPrefixes: { 'short.example/': { timestamp: '1h' } } } },
    });
  });
  after(() => t.close());

  it('re-signs a GUN under a short-lifetime prefix at its own half-life, others at theirs', async () => {
    const start = t.clock.now().getTime();
    await publishRepo(t, 'short.example/app');
    await publishRepo(t, 'long.example/app');
    const short = await latest(t, 'short.example/app', 'timestamp');
    assert.ok(
      Math.abs(short.expires.getTime() - (start + 3_600_000)) < 1000,
      'published with the 1h lifetime'
    );
    assert.equal(t.app.freshness.settings.intervalMs, 60_000, 'min(60 s, 1h / 10)');

    t.clock.set(start + 29 * MIN);
    assert.deepEqual(resignedGuns(await t.app.freshness.scheduler.tick()), []);
    t.clock.set(start + 31 * MIN);
    assert.deepEqual(resignedGuns(await t.app.freshness.scheduler.tick()), ['short.example/app']);
    const status = (await t.http.get('/api/v1/repositories/short.example/app/status').expect(200))
      .body;
    const ts = status.roles.find((r: { role: string }) => r.role === 'timestamp');
    assert.equal(Date.parse(ts.resignAt), Date.parse(ts.expires) - 30 * MIN);
  });
});
