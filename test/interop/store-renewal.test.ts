/**
 * Root renewal of a store repository with the real notary CLI, in real time, on
 * `countersign serve` as operators run it (TLS, accounts from `countersign user add`), with
 * `countersign.store.rootLifetime` = 60s and resignBefore 0.7: the scheduler renews the public
 * root (and its certificate) every 18 seconds, each time with a NEW root key, signing the new
 * root with the old and the new key.
 *
 *   1. a publisher signs 1.0 into staging with the notary CLI; a reviewer approves; the store
 *      publishes store.test/acme/renew (root version 1);
 *   2. a notary CLI pinned to the store CA lists 1.0 and so caches root version 1; copies of its
 *      trust directory are put aside;
 *   3. the scheduler renews the root: version 2, another root key, signed by both;
 *   4. the SAME client lists 1.0 again — it walks 1→2 and caches version 2 — and so do a copy
 *      still holding version 1 and a fresh client pinned to the store CA;
 *   5. after the next renewal (version 3) a copy still holding version 1 walks 1→2→3;
 *   6. what notary 0.7 cannot do, pinned down so the docs stay true: once the certificate of the
 *      root a client cached has expired, it cannot walk several renewals (it re-validates its
 *      cached root, certificate expiry included, before walking); dropping its cached trust
 *      data for the GUN lets the CA-pinned client start again;
 *   7. the audit log has every renewal (key.created, certificate.issued, root.renewed by the
 *      scheduler) and verifies.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import type { NotaryClient } from '../helpers/notary-cli.js';
import { sha256Hex, tufPath } from '../helpers/notary-http.js';
import { sleep } from '../helpers/proc.js';
import { startStoreFixture, type StoreFixture } from '../helpers/store-fixture.js';

const STAGING = 'staging.store.test/acme/renew';
const PUBLIC = 'store.test/acme/renew';
const ROOT_LIFETIME_MS = 60_000;
const RESIGN_BEFORE = 0.7;

interface RootSigned {
  version: number;
  expires: string;
  keys: Record<string, { keytype: string; keyval: { public: string } }>;
  roles: Record<string, { keyids: string[]; threshold: number }>;
}
interface Signed<T> {
  signed: T;
  signatures: { keyid: string; sig: string }[];
}

describe('store root renewal with the real notary CLI (rootLifetime 60s)', () => {
  const cleanup = new Cleanup();
  let f: StoreFixture;
  let payload: Buffer;
  let caPemFile: string;
  let consumer: NotaryClient;
  /** Copies of the consumer's trust directory holding root version 1. */
  const older: NotaryClient[] = [];
  let rootV1: Signed<RootSigned>;
  let rootV2: Signed<RootSigned>;
  let expected: { name: string; digestHex: string; size: number; role: string }[];

  const publicRoot = () => f.okJson<Signed<RootSigned>>(tufPath(PUBLIC, 'root.json'));
  /** Waits (real time) until the served root has at least `version`. */
  const rootVersion = async (version: number, timeoutMs: number) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const root = await publicRoot();
      if (root.signed.version >= version) return root;
      if (Date.now() > until)
        assert.fail(`root version ${version} did not appear (still ${root.signed.version})`);
      await sleep(250);
    }
  };
  /** The root a client has cached for the public GUN. */
  const cachedRoot = (client: NotaryClient): Signed<RootSigned> =>
    JSON.parse(
      readFileSync(join(client.trustDir, 'tuf', PUBLIC, 'metadata', 'root.json'), 'utf8')
    ) as Signed<RootSigned>;

  before(async () => {
    f = await startStoreFixture(cleanup, {
      name: 'store-renewal',
      store: { rootLifetime: `${ROOT_LIFETIME_MS / 1000}s` },
      countersign: { expiry: { resignBefore: RESIGN_BEFORE }, scheduler: { intervalMs: 500 } },
    });
    payload = randomBytes(2345);
    writeFileSync(join(f.work, 'image.bin'), payload);
    expected = [{ name: '1.0', digestHex: sha256Hex(payload), size: 2345, role: 'targets' }];
  });
  after(() => cleanup.run());

  it('the store publishes 1.0 signed in staging with the notary CLI', async () => {
    const acme = await f.notary('acme');
    await acme.init(STAGING, { publish: true });
    await acme.add(STAGING, '1.0', join(f.work, 'image.bin'), { publish: true });
    // Submitted (it verifies) and approved (it publishes).
    await f.submitAndApprove(`${STAGING}:1.0`);
    rootV1 = await publicRoot();
    assert.equal(rootV1.signed.version, 1);
    const lifetime = Date.parse(rootV1.signed.expires) - Date.now();
    assert.ok(
      lifetime > 0 && lifetime <= ROOT_LIFETIME_MS,
      `root v1 lives rootLifetime (${lifetime} ms left)`
    );
  });

  it('a notary CLI pinned to the store CA lists 1.0, caching root version 1', async () => {
    caPemFile = await f.saveCaPem();
    consumer = await f.pinnedNotary(caPemFile);
    assert.deepEqual(await consumer.list(PUBLIC), expected);
    assert.equal(cachedRoot(consumer).signed.version, 1);
    for (let i = 0; i < 3; i++) older.push(cleanup.add(await consumer.cloneTrustDir()));
    for (const c of older) assert.equal(cachedRoot(c).signed.version, 1);
  });

  it('the scheduler renews the root: version 2 with a new root key, signed by the old and the new key', async () => {
    // Due 18 s after the root was made; allow for the scheduler's wake-up and slow machines.
    rootV2 = await rootVersion(2, ROOT_LIFETIME_MS);
    assert.equal(rootV2.signed.version, 2);
    const [oldId] = rootV1.signed.roles.root!.keyids;
    const [newId] = rootV2.signed.roles.root!.keyids;
    assert.ok(oldId && newId);
    assert.notEqual(newId, oldId, 'the root key changed');
    assert.notEqual(
      rootV2.signed.keys[newId]!.keyval.public,
      rootV1.signed.keys[oldId]!.keyval.public
    );
    assert.deepEqual(rootV2.signatures.map((s) => s.keyid).sort(), [oldId, newId].sort());
    assert.ok(Date.parse(rootV2.signed.expires) > Date.parse(rootV1.signed.expires));
  });

  it('the same client lists 1.0 again: it walks 1→2 and caches version 2; so do a copy holding version 1 and a fresh pinned client', async () => {
    assert.deepEqual(await consumer.list(PUBLIC), expected);
    const cached = cachedRoot(consumer);
    assert.ok(cached.signed.version >= 2, `cached root version ${cached.signed.version}`);
    assert.notEqual(cached.signed.roles.root!.keyids[0], rootV1.signed.roles.root!.keyids[0]);
    assert.deepEqual(await older[0]!.list(PUBLIC), expected);
    assert.ok(cachedRoot(older[0]!).signed.version >= 2);
    const fresh = await f.pinnedNotary(caPemFile);
    assert.deepEqual(await fresh.list(PUBLIC), expected);
  });

  it('after the next renewal a copy still holding version 1 walks 1→2→3', async () => {
    const rootV3 = await rootVersion(3, ROOT_LIFETIME_MS);
    assert.notEqual(rootV3.signed.roles.root!.keyids[0], rootV2.signed.roles.root!.keyids[0]);
    assert.ok(
      Date.now() < Date.parse(rootV1.signed.expires),
      'the cached root is still valid (else see the next test)'
    );
    assert.equal(cachedRoot(older[1]!).signed.version, 1);
    assert.deepEqual(await older[1]!.list(PUBLIC), expected);
    assert.ok(cachedRoot(older[1]!).signed.version >= 3);
  });

  it('notary 0.7: a client whose cached root certificate expired cannot walk several renewals; dropping its cache for the GUN recovers', async () => {
    const stale = older[2]!;
    const wait = Date.parse(rootV1.signed.expires) + 1000 - Date.now();
    if (wait > 0) await sleep(wait);
    const newest = await publicRoot();
    assert.ok(
      newest.signed.version >= 3,
      `two or more renewals behind (at ${newest.signed.version})`
    );
    const stuck = await stale.run(['list', PUBLIC]);
    assert.notEqual(stuck.code, 0, stuck.stdout);
    assert.match(
      stuck.stdout,
      /could not validate the path to a trusted root: unable to retrieve valid leaf certificates/
    );
    rmSync(join(stale.trustDir, 'tuf', PUBLIC), { recursive: true, force: true });
    assert.deepEqual(await stale.list(PUBLIC), expected);
  });

  it('the audit log records every renewal by the scheduler and verifies', async () => {
    const res = await f.https(`/api/v1/audit?gun=${encodeURIComponent(PUBLIC)}`, { user: 'admin' });
    assert.equal(res.status, 200, res.body.toString());
    const entries = JSON.parse(res.body.toString()).entries as {
      actor: string;
      action: string;
      details: Record<string, unknown>;
    }[];
    const renewals = entries.filter((e) => e.action === 'root.renewed');
    assert.ok(renewals.length >= 2, JSON.stringify(entries.map((e) => e.action)));
    assert.ok(renewals.every((e) => e.actor === 'scheduler'));
    assert.deepEqual(
      renewals.slice(0, 2).map((e) => (e.details.versions as { root: number }).root),
      [2, 3]
    );
    const renewalKeys = entries.filter(
      (e) => e.action === 'key.created' && e.details.reason === 'root renewal'
    );
    assert.ok(renewalKeys.length >= 2);
    assert.ok(entries.filter((e) => e.action === 'certificate.issued').length >= 3);
    const online = await f.store('admin', ['audit', 'verify']);
    assert.equal(online.code, 0, online.stderr + online.stdout);
    assert.match(online.stdout, /^audit log intact: \d+ entries/);
  });
});
