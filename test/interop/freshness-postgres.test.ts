/**
 * Two `countersign serve` instances on one PostgreSQL database, timestamps living 4 s: exactly
 * one instance (the lease holder) re-signs, every due timestamp is re-signed once (versions
 * consecutive, each counted by the leader and by nobody else), and when the leader shuts down the
 * other takes over without a timestamp ever lapsing; the notary CLI then lists through it.
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
  getOk,
  parseSigned,
  sha256Hex,
  tufPath,
  type ChangeRecord,
} from '../helpers/notary-http.js';
import { startPostgres, type StartedPostgres } from '../helpers/postgres.js';
import { sleep } from '../helpers/proc.js';

const RESIGNED_TS =
  'countersign_resigns_total{resigner="server-snapshot-timestamp",role="timestamp"}';

async function metrics(
  server: StartedCountersign
): Promise<{ leader: number; resigned: number; failed: number }> {
  const text = (await getOk(server.sut, '/metrics')).toString('utf8');
  const value = (prefix: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${prefix} `));
    return line === undefined ? 0 : Number(line.slice(prefix.length + 1));
  };
  return {
    leader: value('countersign_scheduler_leader'),
    resigned: value(RESIGNED_TS),
    failed: value('countersign_resign_failures_total{resigner="server-snapshot-timestamp"}'),
  };
}

async function feed(server: StartedCountersign, gun: string): Promise<ChangeRecord[]> {
  return (await changefeed(server.sut, 'records=1000', gun)).records;
}

/** Each timestamp in the changefeed was written before the one it replaced expired. */
async function assertNoLapse(
  server: StartedCountersign,
  gun: string,
  records: readonly ChangeRecord[]
): Promise<void> {
  let previousExpires: number | undefined;
  for (const r of records) {
    if (previousExpires !== undefined) {
      assert.ok(
        Date.parse(r.CreatedAt) < previousExpires,
        `v${r.Version} written at ${r.CreatedAt}, after v${r.Version - 1} expired`
      );
    }
    const bytes = await getOk(server.sut, tufPath(gun, `timestamp.${r.SHA256}.json`));
    previousExpires = Date.parse(parseSigned<{ expires: string }>(bytes).signed.expires);
  }
}

describe('scheduler on two instances sharing PostgreSQL', () => {
  const cleanup = new Cleanup();
  const gun = 'example.com/freshness/shared';
  let cluster: StartedPostgres;
  let a: StartedCountersign;
  let b: StartedCountersign;
  let expected: { name: string; digestHex: string; size: number; role: string }[];

  before(async () => {
    cluster = await startPostgres();
    cleanup.add({ stop: () => cluster.stop() });
    const dbUrl = await cluster.createDatabase();
    const config = {
      storage: { backend: 'postgres', db_url: dbUrl },
      countersign: { expiry: { timestamp: '4s' } },
    };
    const env = { COUNTERSIGN_KEY_PASSPHRASE: 'freshness on postgres' };
    a = cleanup.add(await startCountersign({ config, env }));
    b = cleanup.add(await startCountersign({ config, env }));
    const client = cleanup.add(await NotaryClient.create({ server: a.sut }));
    const dir = cleanup.tempDir('freshness-pg-');
    const data = randomBytes(300);
    writeFileSync(join(dir, 'app.bin'), data);
    await client.init(gun);
    await client.add(gun, 'app', join(dir, 'app.bin'), { publish: true });
    expected = [{ name: 'app', digestHex: sha256Hex(data), size: 300, role: 'targets' }];
  });
  after(() => cleanup.run());

  let leader: StartedCountersign;
  let follower: StartedCountersign;

  it('only the lease holder re-signs, once per due timestamp', async () => {
    await sleep(6_000);
    const [ma, mb] = await Promise.all([metrics(a), metrics(b)]);
    assert.equal(ma.leader + mb.leader, 1, `exactly one leader (a: ${ma.leader}, b: ${mb.leader})`);
    [leader, follower] = ma.leader === 1 ? [a, b] : [b, a];
    const [ml, mf] = ma.leader === 1 ? [ma, mb] : [mb, ma];
    assert.equal(mf.resigned, 0, 'the follower re-signed nothing');
    assert.equal(ml.failed + mf.failed, 0, 'no re-sign failed (a lost race would)');
    assert.ok(ml.resigned >= 2, `the leader re-signed ${ml.resigned} times in 6 s`);

    const records = await feed(follower, gun);
    const versions = records.map((r) => r.Version);
    assert.deepEqual(
      versions,
      versions.map((_, i) => i + 1),
      'one new version per due time, none skipped'
    );
    // The leader's count may have moved on since the scrape; never below, never two per version.
    // A re-sign is counted when it returns, which is after its COMMIT (visible in the changefeed)
    // and after the consistency window a write waits out while another instance listens
    // (docs/postgres.md), so the count may trail the changefeed briefly: give it 3 s to catch up.
    let now = await metrics(leader);
    for (let waited = 0; now.resigned < versions.length - 1 && waited < 3_000; waited += 100) {
      await sleep(100);
      now = await metrics(leader);
    }
    assert.ok(
      versions.length - 1 >= ml.resigned && versions.length - 1 <= now.resigned,
      `${versions.length - 1} re-signs in the changefeed, leader counted ${ml.resigned}..${now.resigned}`
    );
    await assertNoLapse(follower, gun, records);
  });

  it('the other instance takes over when the leader shuts down, and no timestamp lapses', async () => {
    const before = await metrics(leader);
    await leader.stop(); // SIGTERM: releases the lease
    await sleep(6_000);
    const m = await metrics(follower);
    assert.equal(m.leader, 1, 'the follower holds the lease now');
    assert.ok(m.resigned >= 2, `it re-signed ${m.resigned} times since`);

    const records = await feed(follower, gun);
    const after = await metrics(follower);
    const versions = records.map((r) => r.Version);
    assert.deepEqual(
      versions,
      versions.map((_, i) => i + 1)
    );
    // Every version after the publish is one re-sign by one of them (the old leader may have
    // made one more between its last scrape and its shutdown).
    const made = versions.length - 1;
    assert.ok(
      made >= before.resigned + m.resigned && made <= before.resigned + 1 + after.resigned,
      `${made} re-signs; leader counted ${before.resigned}(+1), follower ${m.resigned}..${after.resigned}`
    );
    assert.equal(after.failed, 0);
    await assertNoLapse(follower, gun, records);

    const client = cleanup.add(await NotaryClient.create({ server: follower.sut }));
    assert.deepEqual(await client.list(gun), expected);
  });
});
