/**
 * Proactive re-signing in real time, on `countersign serve` as operators run it, with a 4 s
 * timestamp lifetime: the scheduler re-signs the timestamp before it expires with no request for
 * it arriving (watched through the changefeed and by-checksum reads, which never re-sign), the
 * real notary CLI lists the repository after the original timestamp would have expired, and with
 * the scheduler off a read after expiry still re-signs on the spot.
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
  type ChangeRecord,
} from '../helpers/notary-http.js';
import { sleep } from '../helpers/proc.js';

const LIFETIME_MS = 4_000;

interface TimestampSigned {
  version: number;
  expires: string;
}

/** The GUN's newest changefeed record. */
async function newestChange(server: StartedCountersign, gun: string): Promise<ChangeRecord> {
  const feed = await changefeed(server.sut, 'change_id=-1&records=1', gun);
  assert.equal(feed.count, 1);
  return feed.records[0]!;
}

/** A timestamp by checksum: never re-signed by the read, unlike timestamp.json. */
async function timestampBySha(
  server: StartedCountersign,
  gun: string,
  sha: string
): Promise<TimestampSigned> {
  const bytes = await getOk(server.sut, tufPath(gun, `timestamp.${sha}.json`));
  assert.equal(sha256Hex(bytes), sha);
  return parseSigned<TimestampSigned>(bytes).signed;
}

async function metric(server: StartedCountersign, name: string, labels: string): Promise<number> {
  const text = (await getOk(server.sut, '/metrics')).toString('utf8');
  const line = text
    .split('\n')
    .find(
      (l) => l.startsWith(`${name}{${labels}} `) || (labels === '' && l.startsWith(`${name} `))
    );
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}
const RESIGNED_TS = 'resigner="server-snapshot-timestamp",role="timestamp"';

async function publishOne(cleanup: Cleanup, server: StartedCountersign, gun: string) {
  const client = cleanup.add(await NotaryClient.create({ server: server.sut }));
  const dir = cleanup.tempDir('freshness-target-');
  const data = randomBytes(256);
  writeFileSync(join(dir, 'app.bin'), data);
  await client.init(gun);
  await client.add(gun, 'app', join(dir, 'app.bin'), { publish: true });
  return {
    client,
    expected: [{ name: 'app', digestHex: sha256Hex(data), size: 256, role: 'targets' }],
  };
}

describe('scheduler re-signs before expiry (countersign.expiry.timestamp = 4s)', () => {
  const cleanup = new Cleanup();
  const gun = 'example.com/freshness/proactive';
  let server: StartedCountersign;
  let alice: NotaryClient;
  let expected: { name: string; digestHex: string; size: number; role: string }[];

  before(async () => {
    server = cleanup.add(
      await startCountersign({ config: { countersign: { expiry: { timestamp: '4s' } } } })
    );
    ({ client: alice, expected } = await publishOne(cleanup, server, gun));
  });
  after(() => cleanup.run());

  it('re-signs the timestamp before the original expires, with no request for current metadata', async () => {
    const published = await newestChange(server, gun);
    const original = await timestampBySha(server, gun, published.SHA256);
    assert.equal(original.version, published.Version);
    const originalExpires = Date.parse(original.expires);
    assert.ok(
      originalExpires - Date.parse(published.CreatedAt) <= LIFETIME_MS + 1000,
      'a 4 s timestamp'
    );
    const readsBefore = await requestCount(server.sut, { operation: 'GetRole' });
    const publishesBefore = await requestCount(server.sut, {
      operation: 'UpdateTUF',
      method: 'post',
    });

    let next: ChangeRecord | undefined;
    while (Date.now() < originalExpires - 100) {
      const c = await newestChange(server, gun);
      if (c.Version > original.version) {
        next = c;
        break;
      }
      await sleep(100);
    }
    assert.ok(next, 'a new timestamp appeared in the changefeed before the original expired');
    assert.ok(Date.now() < originalExpires, 'seen before the original expired');
    assert.equal(next.Version, original.version + 1);
    assert.ok(Date.parse(next.CreatedAt) < originalExpires);
    const renewed = await timestampBySha(server, gun, next.SHA256);
    assert.equal(renewed.version, next.Version);
    assert.ok(Date.parse(renewed.expires) > originalExpires, 'the new one outlives the original');

    assert.equal(
      await requestCount(server.sut, { operation: 'GetRole' }),
      readsBefore,
      'nobody read current metadata'
    );
    assert.equal(
      await requestCount(server.sut, { operation: 'UpdateTUF', method: 'post' }),
      publishesBefore,
      'nobody published'
    );
    assert.ok((await metric(server, 'countersign_resigns_total', RESIGNED_TS)) >= 1);
    assert.equal(await metric(server, 'countersign_scheduler_leader', ''), 1);
  });

  it('keeps re-signing: the notary CLI lists the repository long after the original timestamp expired', async () => {
    const published = (await changefeed(server.sut, 'records=100', gun)).records.find(
      (r) => r.Version === 1
    )!;
    const originalExpires = Date.parse(
      (await timestampBySha(server, gun, published.SHA256)).expires
    );
    await sleep(Math.max(0, originalExpires + 2 * LIFETIME_MS - Date.now()));

    // Before any client reads: the changefeed already holds a timestamp valid now.
    const current = await newestChange(server, gun);
    const ts = await timestampBySha(server, gun, current.SHA256);
    assert.ok(
      Date.parse(ts.expires) > Date.now() + 500,
      `timestamp v${ts.version} expires ${ts.expires}`
    );

    const fresh = cleanup.add(await alice.fresh());
    assert.deepEqual(await fresh.list(gun), expected);
    assert.deepEqual(await alice.list(gun), expected);

    // Every new version came from the scheduler (the read path never had to re-sign), one per
    // due time, and versions never skip.
    const feed = (await changefeed(server.sut, 'records=100', gun)).records;
    const versions = feed.map((r) => r.Version);
    assert.deepEqual(
      versions,
      versions.map((_, i) => i + 1)
    );
    assert.equal(
      await metric(server, 'countersign_resigns_total', RESIGNED_TS),
      versions.length - 1
    );
    assert.ok(
      versions.length - 1 >= 4,
      `re-signed ${versions.length - 1} times over ${2 * LIFETIME_MS + LIFETIME_MS} ms`
    );
  });
});

describe('with the scheduler off, a read after expiry still re-signs on the spot', () => {
  const cleanup = new Cleanup();
  const gun = 'example.com/freshness/lazy';
  let server: StartedCountersign;

  before(async () => {
    server = cleanup.add(
      await startCountersign({
        config: { countersign: { expiry: { timestamp: '4s' }, scheduler: { enabled: false } } },
      })
    );
    await publishOne(cleanup, server, gun);
  });
  after(() => cleanup.run());

  it('serves a fresh timestamp when read after the original expired', async () => {
    const published = await newestChange(server, gun);
    const original = await timestampBySha(server, gun, published.SHA256);
    await sleep(Date.parse(original.expires) - Date.now() + 500);
    assert.equal(
      (await newestChange(server, gun)).Version,
      original.version,
      'nothing re-signed it before the read'
    );

    const r = await fetchRaw(server.sut, tufPath(gun, 'timestamp.json'));
    assert.equal(r.status, 200);
    const served = parseSigned<TimestampSigned>(r.body).signed;
    assert.equal(served.version, original.version + 1);
    assert.ok(Date.parse(served.expires) > r.receivedAt);
    assert.equal((await newestChange(server, gun)).Version, served.version);
    assert.equal(await metric(server, 'countersign_resigns_total', RESIGNED_TS), 0);
    assert.equal(await metric(server, 'countersign_scheduler_leader', ''), 0);
  });
});
