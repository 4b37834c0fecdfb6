/**
 * The Notary read path in-process (supertest, injected clock): what is served after writes and
 * across expiry, cache headers, route quirks, keys, delete and the changefeed.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parseRoot, parseSnapshot, parseTimestamp } from '../../src/tuf/metadata.js';
import { baseRoleVerifier } from '../../src/tuf/root.js';
import { verifySignatures, checkFileMeta } from '../../src/tuf/verify.js';
import { loadCurrentRole } from '../../src/notary/current.js';
import { ReadCache } from '../../src/http/read-cache.js';
import {
  startTestApp,
  publishRepo,
  publishTargets,
  tuf,
  post,
  type TestApp,
} from '../helpers/app.js';
import { ParsedMetadata } from '../../src/notary/parsed.js';
import type { StoredMeta } from '../../src/storage/types.js';

const DAY = 86_400_000;
const sha256hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const tick = () => new Promise((resolve) => setImmediate(resolve));
const body = (res: { body: unknown; text: string }) => Buffer.from(res.text, 'utf8');

describe('Notary read path', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  it('serves the new bytes as soon as a write has returned', async () => {
    const repo = await publishRepo(t, 'example.com/read/fresh', [{ name: 'a' }]);
    const first = await t.http.get(tuf(repo.gun, 'targets.json')).expect(200);
    await t.http.get(tuf(repo.gun, 'targets.json')).expect(200); // now cached
    assert.equal((await publishTargets(t, repo, [{ name: 'a' }, { name: 'b' }])).status, 200);
    const second = await t.http.get(tuf(repo.gun, 'targets.json')).expect(200);
    assert.notEqual(second.text, first.text);
    assert.match(second.text, /"b":/);
    const ts = parseTimestamp(body(await t.http.get(tuf(repo.gun, 'timestamp.json')).expect(200)));
    assert.equal(ts.signed.version, 2);
  });

  it('refills the cache from storage right after a publish, before anyone reads', async () => {
    const repo = await publishRepo(t, 'example.com/read/prewarm', [{ name: 'a' }]);
    assert.equal((await publishTargets(t, repo, [{ name: 'b' }])).status, 200);
    const cache = t.app.notary.cache;
    const now = t.clock.now().getTime();
    const current = (role: string) => ReadCache.key(repo.gun, 'current', role);
    const meta = t.app.storage.meta;
    // The prewarm fills run in parallel after the response: wait (bounded in time, not in turns
    // of the loop, which a loaded machine makes too short) until every file is in.
    const stored = new Map<string, StoredMeta>();
    for (const role of ['root', 'timestamp', 'snapshot', 'targets']) {
      const row = await loadCurrentRole(meta, repo.gun, role, new ParsedMetadata());
      assert.ok(row);
      stored.set(role, row);
    }
    const allCached = () =>
      [...stored].every(
        ([role, row]) =>
          cache.get(current(role), now) &&
          (role === 'root' || cache.get(ReadCache.key(repo.gun, 'sha', role, row.sha256), now))
      );
    for (const deadline = Date.now() + 10_000; !allCached() && Date.now() < deadline;) await tick();
    for (const role of ['root', 'timestamp', 'snapshot', 'targets']) {
      const cached = cache.get(current(role), now);
      assert.ok(cached, `${role} is cached`);
      const row = stored.get(role)!;
      assert.deepEqual(cached.body, row.data, role);
      // …and also by the checksum a client follows from the snapshot.
      const byHash = cache.get(ReadCache.key(repo.gun, 'sha', role, row.sha256), now);
      if (role !== 'root') assert.deepEqual(byHash?.body, row.data, `${role} by checksum`);
    }
    // What GET serves is exactly those bytes.
    const served = await t.http.get(tuf(repo.gun, 'targets.json')).expect(200);
    assert.match(served.text, /"b":/);
  });

  it('never serves an expired timestamp: re-signs it on the first read after expiry', async () => {
    const repo = await publishRepo(t, 'example.com/read/expiry');
    const before = parseTimestamp(
      body(await t.http.get(tuf(repo.gun, 'timestamp.json')).expect(200))
    );
    t.clock.advance(14 * DAY + 1000);
    const res = await t.http.get(tuf(repo.gun, 'timestamp.json')).expect(200);
    const after = parseTimestamp(body(res));
    assert.equal(after.signed.version, before.signed.version + 1);
    assert.ok(after.signed.expires.getTime() > t.clock.now().getTime());
    const root = parseRoot(body(await t.http.get(tuf(repo.gun, 'root.json')).expect(200)));
    assert.equal(verifySignatures(after, baseRoleVerifier(root.signed, 'timestamp')).size, 1);
    // It still names the current snapshot, which is served by checksum with matching bytes.
    const snapHex = Buffer.from(
      after.signed.meta.get('snapshot')!.hashes.sha256!,
      'base64'
    ).toString('hex');
    const snap = body(await t.http.get(tuf(repo.gun, `snapshot.${snapHex}.json`)).expect(200));
    checkFileMeta(snap, after.signed.meta.get('snapshot')!, 'snapshot');
    const changes = JSON.parse(
      (await t.http.get(`/v2/${repo.gun}/_trust/changefeed?records=10`).expect(200)).text
    );
    assert.equal(changes.records.at(-1).Version, after.signed.version);
  });

  it('re-signs an expired server-held snapshot together with the timestamp', async () => {
    const repo = await publishRepo(t, 'example.com/read/snapexpiry');
    const snap1 = parseSnapshot(body(await t.http.get(tuf(repo.gun, 'snapshot.json')).expect(200)));
    t.clock.advance(1096 * DAY);
    const snap2 = parseSnapshot(body(await t.http.get(tuf(repo.gun, 'snapshot.json')).expect(200)));
    assert.equal(snap2.signed.version, snap1.signed.version + 1);
    assert.deepEqual(snap2.signedJSON.meta, snap1.signedJSON.meta);
    const ts = parseTimestamp(body(await t.http.get(tuf(repo.gun, 'timestamp.json')).expect(200)));
    checkFileMeta(
      body(await t.http.get(tuf(repo.gun, 'snapshot.json'))),
      ts.signed.meta.get('snapshot')!,
      'snapshot'
    );
    t.clock.set(Date.now());
  });

  it("sets notary's cache headers: current, consistent, and Last-Modified in Go's UTC form", async () => {
    const repo = await publishRepo(t, 'example.com/read/headers');
    const cur = await t.http.get(tuf(repo.gun, 'root.json')).expect(200);
    assert.equal(
      cur.headers['cache-control'],
      'public, max-age=300, s-maxage=300, must-revalidate'
    );
    assert.match(
      cur.headers['last-modified'] as string,
      /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} UTC$/
    );
    const v1 = await t.http.get(tuf(repo.gun, '1.root.json')).expect(200);
    assert.equal(v1.headers['cache-control'], 'public, max-age=2592000, s-maxage=2592000');
    assert.equal(v1.text, cur.text);
    const byHash = await t.http.get(tuf(repo.gun, `root.${sha256hex(body(cur))}.json`)).expect(200);
    assert.equal(byHash.text, cur.text);
    assert.equal(Number(byHash.headers['content-length']), body(cur).length);
  });

  it('serves a by-checksum URL only for the role it names', async () => {
    const repo = await publishRepo(t, 'example.com/read/role');
    const root = body(await t.http.get(tuf(repo.gun, 'root.json')).expect(200));
    await t.http.get(tuf(repo.gun, `targets.${sha256hex(root)}.json`)).expect(404);
    await t.http.get(tuf(repo.gun, `root.${sha256hex(root).toUpperCase()}.json`)).expect(404);
  });

  it('answers HEAD with 404, unknown methods with an empty 405, and unclean paths with a 301', async () => {
    const repo = await publishRepo(t, 'example.com/read/quirks');
    const head = await t.http.head(tuf(repo.gun, 'root.json'));
    assert.equal(head.status, 404);
    const patch = await t.http.patch(tuf(repo.gun, 'root.json'));
    assert.equal(patch.status, 405);
    assert.equal(patch.text, '');
    const unclean = await t.http.get(`/v2/${repo.gun}//_trust/tuf/root.json?x=1`);
    assert.equal(unclean.status, 301);
    assert.equal(unclean.headers.location, `/v2/${repo.gun}/_trust/tuf/root.json?x=1`);
    const missing = await t.http.get(tuf('example.com/read/none', 'root.json')).expect(404);
    assert.equal(
      missing.text,
      '{"errors":[{"code":"METADATA_NOT_FOUND","message":"You have requested metadata that does not exist.","detail":{}}]}\n'
    );
    await t.http.get(tuf(repo.gun, 'targets/never.json')).expect(404);
  });

  it('keeps GET .key stable once a root lists the key, and rotation changes nothing until a new root', async () => {
    const repo = await publishRepo(t, 'example.com/read/keys');
    const a = (await t.http.get(tuf(repo.gun, 'timestamp.key')).expect(200)).text;
    const b = (await t.http.get(tuf(repo.gun, 'timestamp.key')).expect(200)).text;
    assert.equal(a, b);
    assert.equal(JSON.parse(a).keyval.public, repo.timestampKey.publicB64);
    assert.match(a, /^\{"keytype":"ecdsa","keyval":\{"public":"[^"]+","private":null\}\}$/);
    const rotated = (await t.http.post(tuf(repo.gun, 'timestamp.key')).expect(200)).text;
    assert.notEqual(rotated, a);
    assert.equal((await t.http.get(tuf(repo.gun, 'timestamp.key')).expect(200)).text, a);
    // Publishing still signs with the key the root lists.
    assert.equal((await publishTargets(t, repo, [{ name: 'after-rotate' }])).status, 200);
  });

  it('before any root, hands out one pending key per role until it is used', async () => {
    const gun = 'example.com/read/pending';
    const a = (await t.http.get(tuf(gun, 'snapshot.key')).expect(200)).text;
    const b = (await t.http.get(tuf(gun, 'snapshot.key')).expect(200)).text;
    assert.equal(a, b);
  });

  it('deletes exactly one GUN, and the repository can be created again', async () => {
    const ab = await publishRepo(t, 'example.com/del/a/b');
    await publishRepo(t, 'example.com/del/a/bc');
    await publishRepo(t, 'example.com/del/a/b/c');
    await t.http.delete(tuf(ab.gun)).expect(200);
    await t.http.get(tuf(ab.gun, 'root.json')).expect(404);
    await t.http.get(tuf(ab.gun, '1.root.json')).expect(404);
    await t.http.get(tuf('example.com/del/a/bc', 'root.json')).expect(200);
    await t.http.get(tuf('example.com/del/a/b/c', 'root.json')).expect(200);
    const feed = JSON.parse(
      (await t.http.get(`/v2/${ab.gun}/_trust/changefeed?records=0`).expect(200)).text
    );
    assert.equal(feed.records.at(-1).Category, 'deletion');
    await publishRepo(t, ab.gun);
    const ts = parseTimestamp(body(await t.http.get(tuf(ab.gun, 'timestamp.json')).expect(200)));
    assert.equal(ts.signed.version, 1);
  });

  it('writes the changefeed as notary does and checks its parameters', async () => {
    const feed = await t.http.get('/v2/_trust/changefeed?records=2&change_id=-1').expect(200);
    assert.match(
      feed.text,
      /^\{"count":2,"records":\[\{"ID":"\d+","CreatedAt":"[^"]+","GUN":"[^"]+","Version":\d+,"SHA256":"[0-9a-f]*","Category":"(update|deletion)"\}/
    );
    const bad = await t.http.get('/v2/_trust/changefeed?records=abc').expect(400);
    assert.equal(
      JSON.parse(bad.text).errors[0].detail,
      'invalid records parameter: strconv.ParseInt: parsing "abc": invalid syntax'
    );
    const missing = await t.http.get('/v2/_trust/changefeed').expect(400);
    assert.equal(JSON.parse(missing.text).errors[0].code, 'INVALID_PARAMETERS');
    await t.http.get('/v2/_trust/changefeed?records=1&change_id=x').expect(400);
  });

  it('accepts an empty form on a repository whose snapshot the server holds: a new snapshot and timestamp', async () => {
    const repo = await publishRepo(t, 'example.com/read/empty');
    const before = parseTimestamp(body(await t.http.get(tuf(repo.gun, 'timestamp.json'))));
    const res = await post(t, repo.gun, {});
    assert.equal(res.status, 200);
    const after = parseTimestamp(body(await t.http.get(tuf(repo.gun, 'timestamp.json'))));
    assert.equal(after.signed.version, before.signed.version + 1);
  });

  it('counts every GET in /metrics, whether the cache answered it or storage did', async () => {
    const repo = await publishRepo(t, 'example.com/read/metrics');
    const getRoles = async () => {
      const text = (await t.http.get('/metrics').expect(200)).text;
      const m =
        /notary_server_http_requests_total\{code="200",method="get",operation="GetRoleByVersion"\} (\d+)/.exec(
          text
        );
      return Number(m?.[1] ?? 0);
    };
    const before = await getRoles();
    // A URL never asked before (routed in full), then the same URL twice (the hot path).
    for (let i = 0; i < 3; i++) await t.http.get(tuf(repo.gun, '1.root.json')).expect(200);
    assert.equal((await getRoles()) - before, 3);
  });

  it('answers the ping and the health check', async () => {
    assert.equal((await t.http.get('/v2/').expect(200)).text, '{}');
    assert.equal((await t.http.get('/_notary_server/health').expect(200)).text, '{}');
    const metrics = await t.http.get('/metrics').expect(200);
    assert.match(
      metrics.text,
      /notary_server_http_requests_total\{code="200",method="get",operation="GetRole"\} \d+/
    );
    assert.match(
      metrics.text,
      /notary_server_http_request_duration_microseconds\{quantile="0.99",operation="GetRole"\}/
    );
  });
});

describe('Notary read path with short lifetimes', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ countersign: { expiry: { snapshot: '10s', timestamp: '20s' } } });
  });
  after(() => t.close());

  it('re-signs a server-held snapshot shortly before it expires, so none expires in flight', async () => {
    const repo = await publishRepo(t, 'example.com/short/snap');
    const first = parseSnapshot(body(await t.http.get(tuf(repo.gun, 'snapshot.json')).expect(200)));
    t.clock.advance(9_500); // inside the last second of the snapshot's 10 s
    const second = parseSnapshot(
      body(await t.http.get(tuf(repo.gun, 'snapshot.json')).expect(200))
    );
    assert.equal(second.signed.version, first.signed.version + 1);
    assert.ok(second.signed.expires.getTime() - t.clock.now().getTime() > 9_000);
    const ts = parseTimestamp(body(await t.http.get(tuf(repo.gun, 'timestamp.json')).expect(200)));
    checkFileMeta(
      body(await t.http.get(tuf(repo.gun, 'snapshot.json'))),
      ts.signed.meta.get('snapshot')!,
      'snapshot'
    );
  });
});
