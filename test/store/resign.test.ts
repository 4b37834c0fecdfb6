/**
 * The store's re-signer under the freshness scheduler, in process with a ManualClock
 * (`countersign.expiry.targets` 10d, `countersign.store.rootLifetime` 20d, resignBefore 0.5):
 *
 * - public targets are re-signed once less than 5 days are left: version + 1, the same targets,
 *   one signature by the store targets key, a new snapshot and timestamp; audited in the same
 *   transaction; the audit chain verifies;
 * - the root is renewed once less than 10 days are left of it or its certificate: version + 1
 *   listing a NEW root key certified by the store CA (CN = GUN, CA:FALSE, digitalSignature, no
 *   EKU), signed by the old and the new root key; a client that walks from version 1 and a client
 *   pinned to the store CA both still resolve the tag; renewed again (1→2→3) with the key the
 *   last renewal made; publishing and revoking go on working;
 * - two renewals racing produce one new root; the loser's key is audited as discarded;
 * - every snapshot/timestamp re-sign, the scheduler's and the read path's, is in the audit log;
 * - a store CA nearing its own expiry is logged as an error and cuts renewals short; a renewal
 *   that could not outlast the current root is not made.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import * as x509 from '@peculiar/x509';
import { verifyRepository } from '../../src/client/index.js';
import { StoreMetadataSource } from '../../src/store/store-source.js';
import { loadPinnedCas, verifyChain } from '../../src/client/pinning.js';
import { sha256 } from '../../src/crypto/hash.js';
import type { GunFacts } from '../../src/freshness/facts.js';
import type { Resigner } from '../../src/freshness/resigner.js';
import { loadCurrentRole } from '../../src/notary/current.js';
import { expiryPolicy } from '../../src/notary/expiry.js';
import type { AuditEntry } from '../../src/storage/types.js';
import { verifyAuditChain } from '../../src/store/audit.js';
import { rootSigningKeyId } from '../../src/store/public-metadata.js';
import { parseRoot, parseSnapshot, parseTargets, parseTimestamp } from '../../src/tuf/metadata.js';
import { formatExpires } from '../../src/tuf/time.js';
import { ManualClock } from '../../src/util/clock.js';
import { createLogger } from '../../src/util/log.js';
import { image, StagingRepo, startStore, type StoreApp } from './fixture.js';
import { ParsedMetadata } from '../../src/notary/parsed.js';

const DAY = 86_400_000;
const MIN = 60_000;

/** Pushes `tags` into the staging repository and publishes the last of them through the store. */
async function publish(s: StoreApp, repo: StagingRepo, tags: [string, string][]): Promise<void> {
  await repo.push({ releases: tags.map(([tag, seed]) => image(tag, seed)) });
  const tag = tags.at(-1)![0];
  const sub = await s.http
    .post('/api/v1/submissions')
    .set('Authorization', s.auth('acme'))
    .send({ gun: repo.gun, tag })
    .expect(201);
  const res = await s.http
    .post(`/api/v1/submissions/${sub.body.id}/reviews`)
    .set('Authorization', s.auth('rev1'))
    .send({ decision: 'approve' })
    .expect(200);
  assert.equal(res.body.state, 'published', JSON.stringify(res.body.publishError));
}

async function current(s: StoreApp, gun: string, role: string): Promise<Buffer> {
  const row = await loadCurrentRole(s.app.storage.meta, gun, role, new ParsedMetadata());
  assert.ok(row, `${gun} has a current ${role}`);
  return row.data;
}

async function auditOf(s: StoreApp, gun: string): Promise<AuditEntry[]> {
  return s.app.storage.audit.list({ gun });
}

async function auditIntact(s: StoreApp): Promise<void> {
  const res = await s.http
    .get('/api/v1/audit/verify')
    .set('Authorization', s.auth('admin'))
    .expect(200);
  assert.equal(res.body.ok, true, JSON.stringify(res.body));
  assert.equal(res.body.firstBroken, null);
}

function storeResigner(s: StoreApp): Resigner {
  const r = s.app.freshness.index.resigner('store');
  assert.ok(r, 'the store registered its re-signer');
  return r;
}

/** Metadata and certificates carry whole seconds: a clock on one makes their times exact. */
const wholeSecondClock = () => new ManualClock(Math.floor(Date.now() / 1000) * 1000);

/** A logger whose JSON lines the test reads. */
function capturingLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return {
    log: createLogger({ level: 'info', destination }),
    lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('store re-signer: public targets and root renewal (targets 10d, rootLifetime 20d)', () => {
  const STAGING = 'staging.store.test/acme/fresh';
  const PUBLIC = 'store.test/acme/fresh';
  let s: StoreApp;
  let staging: StagingRepo;
  let caPem: string;
  let published: number;
  let targetsV1: ReturnType<typeof parseTargets>;
  let rootV1: ReturnType<typeof parseRoot>;
  let firstRootKeyId: string;

  before(async () => {
    s = await startStore(
      { rootLifetime: '20d' },
      { clock: wholeSecondClock(), extra: { expiry: { targets: '10d' } } }
    );
    caPem = await s.app.store!.caCertificatePem();
    staging = await StagingRepo.create(s.app.storage, STAGING);
    await publish(s, staging, [['1.0', 'f']]);
    published = s.clock.now().getTime();
    targetsV1 = parseTargets(await current(s, PUBLIC, 'targets'));
    rootV1 = parseRoot(await current(s, PUBLIC, 'root'));
    firstRootKeyId = (await s.app.storage.storeRepositories.get(PUBLIC))!.rootKeyId;
  });
  after(() => s.close());

  const verifyTag = async (trust: { kind: 'tofu' } | { kind: 'ca'; pem: string }) =>
    verifyRepository({
      source: new StoreMetadataSource(s.app.storage.meta, new ParsedMetadata()),
      gun: PUBLIC,
      clock: s.clock,
      trust,
      target: '1.0',
    });

  it('status: the public targets and root are kept fresh by the store, due at resignBefore × their lifetime', async () => {
    await s.app.freshness.scheduler.tick();
    const entry = s.app.freshness.index.get(PUBLIC);
    assert.ok(entry);
    const roles = new Map(entry.roles.map((r) => [r.role, r]));
    assert.equal(roles.get('targets')?.managedBy, 'store');
    assert.equal(roles.get('targets')?.keyHolder, 'store');
    assert.equal(roles.get('targets')?.resignAt, targetsV1.signed.expires.getTime() - 5 * DAY);
    assert.equal(roles.get('root')?.managedBy, 'store');
    assert.equal(roles.get('root')?.keyHolder, 'store');
    assert.equal(roles.get('root')?.resignAt, rootV1.signed.expires.getTime() - 10 * DAY);
    assert.equal(rootV1.signed.expires.getTime(), published + 20 * DAY, 'root lives rootLifetime');
    assert.equal(roles.get('timestamp')?.managedBy, 'server-snapshot-timestamp');
    // The staging repository is the producer's: the store re-signs nothing there.
    const producer = s.app.freshness.index.get(STAGING);
    assert.ok(producer);
    assert.ok(producer.roles.every((r) => r.managedBy === undefined));
  });

  it('nothing is re-signed before it is due', async () => {
    s.clock.set(published + 5 * DAY - MIN);
    const before = await s.app.storage.meta.getLatest(PUBLIC, 'timestamp');
    const result = await s.app.freshness.scheduler.tick();
    assert.equal(result.leader, true);
    assert.deepEqual(result.resigned, []);
    assert.equal((await s.app.storage.meta.getLatest(PUBLIC, 'timestamp'))?.sha256, before?.sha256);
  });

  it('past resignBefore × targets lifetime: targets version 2 with the same targets, one store signature, new snapshot and timestamp', async () => {
    s.clock.set(published + 5 * DAY + MIN);
    const now = s.clock.now();
    const tsBefore = parseTimestamp(await current(s, PUBLIC, 'timestamp'));
    const snapBefore = parseSnapshot(await current(s, PUBLIC, 'snapshot'));
    const result = await s.app.freshness.scheduler.tick();
    assert.deepEqual(
      result.resigned.map((e) => [e.resigner, e.written.map((w) => `${w.role} ${w.version}`)]),
      [
        [
          'store',
          [
            'targets 2',
            `snapshot ${snapBefore.signed.version + 1}`,
            `timestamp ${tsBefore.signed.version + 1}`,
          ],
        ],
      ]
    );
    const root = parseRoot(await current(s, PUBLIC, 'root'));
    assert.equal(root.signed.version, 1, 'the root is not due yet');
    const targets = parseTargets(await current(s, PUBLIC, 'targets'));
    assert.equal(targets.signed.version, 2);
    assert.deepEqual(targets.signedJSON.targets, targetsV1.signedJSON.targets);
    assert.deepEqual(targets.signedJSON.delegations, { keys: {}, roles: [] });
    assert.equal(targets.signedJSON.expires, formatExpires(new Date(now.getTime() + 10 * DAY)));
    assert.deepEqual(
      targets.signatures.map((x) => x.keyid),
      root.signed.roles.targets.keyids,
      'one signature, by the store targets key'
    );
    const snapshot = parseSnapshot(await current(s, PUBLIC, 'snapshot'));
    assert.equal(
      snapshot.signed.meta.get('targets')?.hashes.sha256,
      sha256(targets.raw).toString('base64')
    );
    assert.deepEqual(snapshot.signed.meta.get('root'), snapBefore.signed.meta.get('root'));
    const ts = parseTimestamp(await current(s, PUBLIC, 'timestamp'));
    assert.equal(
      ts.signed.meta.get('snapshot')?.hashes.sha256,
      sha256(snapshot.raw).toString('base64')
    );

    // Served at once (the read cache was dropped), and still what a pinned consumer accepts.
    const served = await s.http.get(`/v2/${PUBLIC}/_trust/tuf/targets.json`).expect(200);
    assert.equal(JSON.parse(served.text).signed.version, 2);
    const pinned = await verifyTag({ kind: 'ca', pem: caPem });
    assert.equal(pinned.ok, true, JSON.stringify(pinned.failures));

    const [entry] = (await auditOf(s, PUBLIC)).slice(-1);
    assert.equal(entry?.action, 'metadata.resigned');
    assert.equal(entry.actor, 'scheduler');
    assert.equal(entry.subject, PUBLIC);
    assert.equal(entry.details.resigner, 'store');
    assert.deepEqual(entry.details.versions, {
      targets: 2,
      snapshot: snapshot.signed.version,
      timestamp: ts.signed.version,
    });
    assert.equal(
      (entry.details.expires as Record<string, string>).targets,
      targets.signedJSON.expires
    );
    await auditIntact(s);

    const again = await s.app.freshness.scheduler.tick();
    assert.deepEqual(again.resigned, [], 'nothing is due right after');
  });

  it('near root expiry: root version 2 with a new root key certified by the store CA, signed by the old and the new key', async () => {
    s.clock.set(published + 10 * DAY + 30_000);
    const now = s.clock.now();
    const auditBefore = (await auditOf(s, PUBLIC)).length;
    const result = await s.app.freshness.scheduler.tick();
    assert.deepEqual(
      result.resigned.map((e) => [e.resigner, e.written.map((w) => w.role)]),
      [['store', ['root', 'snapshot', 'timestamp']]],
      'the root alone (targets are due a minute later)'
    );
    const root = parseRoot(await current(s, PUBLIC, 'root'));
    assert.equal(root.signed.version, 2);
    assert.equal(root.signedJSON.expires, formatExpires(new Date(now.getTime() + 20 * DAY)));
    const [oldCertId] = rootV1.signed.roles.root.keyids;
    const [newCertId] = root.signed.roles.root.keyids;
    assert.ok(oldCertId && newCertId);
    assert.notEqual(newCertId, oldCertId, 'a new root key');
    assert.deepEqual(
      root.signatures.map((x) => x.keyid).sort(),
      [oldCertId, newCertId].sort(),
      'signed by the old and the new root key'
    );
    const sigOld = root.signatures.find((x) => x.keyid === oldCertId)!;
    const sigNew = root.signatures.find((x) => x.keyid === newCertId)!;
    assert.notEqual(sigOld.sig, sigNew.sig, 'two keys, two signatures');
    for (const role of ['targets', 'snapshot', 'timestamp'] as const)
      assert.deepEqual(root.signed.roles[role].keyids, rootV1.signed.roles[role].keyids);

    // The certificate: the new key's, from the store CA, CN = GUN, CA:FALSE, digitalSignature, no EKU.
    const key = root.signed.keys.get(newCertId)!;
    const [leaf] = key.certificates ?? [];
    assert.ok(leaf);
    assert.equal(leaf.commonName, PUBLIC);
    assert.equal(leaf.isCA, false);
    assert.equal(leaf.extKeyUsage, undefined);
    const parsed = new x509.X509Certificate(leaf.der);
    assert.equal(
      parsed.getExtension(x509.KeyUsagesExtension)?.usages,
      x509.KeyUsageFlags.digitalSignature
    );
    assert.equal(parsed.getExtension(x509.BasicConstraintsExtension)?.ca, false);
    assert.equal(leaf.notAfter.getTime(), now.getTime() + 20 * DAY);
    assert.equal(verifyChain(leaf, [], loadPinnedCas(caPem, now), now).ok, true);

    const repo = (await s.app.storage.storeRepositories.get(PUBLIC))!;
    assert.equal(Buffer.from(key.publicB64, 'base64').toString('utf8'), repo.rootCertificate);
    const newKeyId = rootSigningKeyId(repo);
    assert.notEqual(newKeyId, firstRootKeyId);
    assert.equal(key.canonicalId(), newKeyId);
    assert.equal((await s.app.signer.held([newKeyId])).size, 1, 'the server holds the new key');

    for (const trust of [{ kind: 'tofu' as const }, { kind: 'ca' as const, pem: caPem }]) {
      const r = await verifyTag(trust);
      assert.equal(r.ok, true, JSON.stringify(r.failures));
      assert.match(r.checks[0]!.detail, /root versions 1→2/);
      assert.equal(r.target?.digest, `sha256:${sha256(image('1.0', 'f').bytes).toString('hex')}`);
    }

    const entries = (await auditOf(s, PUBLIC)).slice(auditBefore);
    assert.deepEqual(
      entries.map((e) => [e.actor, e.action]),
      [
        ['scheduler', 'key.created'],
        ['scheduler', 'certificate.issued'],
        ['scheduler', 'root.renewed'],
      ]
    );
    assert.equal(entries[0]!.details.keyId, newKeyId);
    assert.equal(entries[1]!.details.certificate, repo.rootCertificate);
    const renewed = entries[2]!.details;
    assert.equal(renewed.previousRootKeyId, firstRootKeyId);
    assert.equal(renewed.rootKeyId, newKeyId);
    assert.equal(renewed.certificateKeyId, newCertId);
    assert.equal((renewed.versions as Record<string, number>).root, 2);
    assert.equal((renewed.expires as Record<string, string>).root, root.signedJSON.expires);
    await auditIntact(s);
  });

  it('publishing and revoking go on under the renewed root', async () => {
    await publish(s, staging, [
      ['1.0', 'f'],
      ['2.0', 'g'],
    ]);
    const pinned = await verifyRepository({
      source: new StoreMetadataSource(s.app.storage.meta, new ParsedMetadata()),
      gun: PUBLIC,
      clock: s.clock,
      trust: { kind: 'ca', pem: caPem },
      target: '2.0',
    });
    assert.equal(pinned.ok, true, JSON.stringify(pinned.failures));
    assert.equal(parseRoot(await current(s, PUBLIC, 'root')).signed.version, 2);
    await s.http
      .post(`/api/v1/repositories/${PUBLIC}/revocations`)
      .set('Authorization', s.auth('admin'))
      .send({ tag: '2.0', reason: 'test' })
      .expect(200);
    const targets = parseTargets(await current(s, PUBLIC, 'targets'));
    assert.deepEqual([...targets.signed.targets.keys()], ['1.0']);
  });

  it('renewed again with the key the last renewal made: root 3 signed by the keys of roots 2 and 3; a client walks 1→2→3', async () => {
    const v2 = parseRoot(await current(s, PUBLIC, 'root'));
    const repoV2 = (await s.app.storage.storeRepositories.get(PUBLIC))!;
    s.clock.set(v2.signed.expires.getTime() - 10 * DAY + MIN);
    const result = await s.app.freshness.scheduler.tick();
    assert.equal(result.failed.length, 0, JSON.stringify(result.failed));
    const v3 = parseRoot(await current(s, PUBLIC, 'root'));
    assert.equal(v3.signed.version, 3);
    assert.deepEqual(
      v3.signatures.map((x) => x.keyid).sort(),
      [v2.signed.roles.root.keyids[0], v3.signed.roles.root.keyids[0]].sort()
    );
    const repoV3 = (await s.app.storage.storeRepositories.get(PUBLIC))!;
    assert.notEqual(rootSigningKeyId(repoV3), rootSigningKeyId(repoV2));
    for (const trust of [{ kind: 'tofu' as const }, { kind: 'ca' as const, pem: caPem }]) {
      const r = await verifyTag(trust);
      assert.equal(r.ok, true, JSON.stringify(r.failures));
      assert.match(r.checks[0]!.detail, /root versions 1→3/);
    }
    await auditIntact(s);
  });
});

describe('store re-signer: races, read-path and scheduler audit, plan', () => {
  const STAGING = 'staging.store.test/acme/race';
  const PUBLIC = 'store.test/acme/race';
  let s: StoreApp;
  let published: number;

  before(async () => {
    // The root falls due (at 8 days) before the targets expire (at 10).
    s = await startStore(
      { rootLifetime: '16d' },
      { clock: wholeSecondClock(), extra: { expiry: { targets: '10d' } } }
    );
    await publish(s, await StagingRepo.create(s.app.storage, STAGING), [['1.0', 'r']]);
    published = s.clock.now().getTime();
    await s.app.freshness.scheduler.tick();
  });
  after(() => s.close());

  it('two renewals racing make one new root; the key of the other is audited as discarded', async () => {
    s.clock.set(published + 8 * DAY + MIN);
    const now = s.clock.now();
    const r = storeResigner(s);
    const planned = [{ role: 'root', resignAt: published + 8 * DAY, keyHolder: 'store' as const }];
    const [a, b] = await Promise.all([
      r.resign({ gun: PUBLIC, now, planned, due: planned }),
      r.resign({ gun: PUBLIC, now, planned, due: planned }),
    ]);
    const roots = [a, b].map((w) => w.filter((x) => x.role === 'root').length);
    assert.deepEqual(roots.sort(), [0, 1]);
    assert.equal(parseRoot(await current(s, PUBLIC, 'root')).signed.version, 2);
    assert.equal(await s.app.storage.meta.getByVersion(PUBLIC, 'root', 3), null);
    const entries = await auditOf(s, PUBLIC);
    const created = entries.filter(
      (e) => e.action === 'key.created' && e.details.reason === 'root renewal'
    );
    assert.equal(created.length, 2);
    const discarded = entries.filter((e) => e.action === 'key.discarded');
    assert.equal(discarded.length, 1);
    const renewed = entries.filter((e) => e.action === 'root.renewed');
    assert.equal(renewed.length, 1);
    assert.deepEqual(
      [discarded[0]!.details.keyIds, [renewed[0]!.details.rootKeyId]].flat().sort(),
      created.map((e) => e.details.keyId).sort()
    );
    await auditIntact(s);
  });

  it('the scheduler’s timestamp re-sign and a read-triggered one are audited (actors scheduler and reader)', async () => {
    // The public timestamp was last signed now (the renewal); it lives 14 days.
    const signedAt = s.clock.now().getTime();
    s.clock.set(signedAt + 7 * DAY + MIN);
    const result = await s.app.freshness.scheduler.tick();
    const server = result.resigned.find((e) => e.resigner === 'server-snapshot-timestamp');
    assert.ok(server, JSON.stringify(result));
    const ts = server.written.find((w) => w.role === 'timestamp')!;
    const [entry] = (await auditOf(s, PUBLIC)).filter(
      (e) => e.action === 'metadata.resigned' && e.details.resigner === 'server-snapshot-timestamp'
    );
    assert.equal(entry?.actor, 'scheduler');
    assert.deepEqual(entry.details.versions, { timestamp: ts.version });
    assert.deepEqual(entry.details.written, [`timestamp ${ts.version} ${ts.sha256}`]);

    // No scheduler tick now: the timestamp expires, and a GET re-signs it on the spot.
    const latest = (await s.app.storage.meta.getLatest(PUBLIC, 'timestamp'))!;
    s.clock.set(parseTimestamp(latest.data).signed.expires.getTime() + MIN);
    const res = await s.http.get(`/v2/${PUBLIC}/_trust/tuf/timestamp.json`).expect(200);
    const served = JSON.parse(res.text).signed;
    assert.equal(served.version, latest.version + 1);
    const [read] = (await auditOf(s, PUBLIC)).slice(-1);
    assert.equal(read?.action, 'metadata.resigned');
    assert.equal(read.actor, 'reader');
    assert.equal(read.details.resigner, 'read');
    assert.deepEqual(read.details.versions, { timestamp: latest.version + 1 });
    assert.deepEqual(read.details.expires, { timestamp: served.expires });
    await auditIntact(s);
    assert.equal((await verifyAuditChain(s.app.storage.audit)).ok, true);
  });

  it('plan: only public GUNs whose targets key the server holds; targets and root with their own lifetimes', () => {
    const r = storeResigner(s);
    const policy = expiryPolicy({ base: { targets: 10 * DAY }, resignBefore: 0.25 });
    const expires = new Date('2030-01-01T00:00:00Z');
    const certs = new Date('2029-12-01T00:00:00Z');
    const facts = (gun: string, targetsHeld: boolean): GunFacts => ({
      gun,
      stateId: 'x',
      roles: [
        { role: 'timestamp', version: 1, expires, expiresText: '', held: true },
        { role: 'snapshot', version: 1, expires, expiresText: '', held: true },
        {
          role: 'root',
          version: 1,
          expires,
          expiresText: '',
          held: false,
          certificatesExpire: certs,
        },
        { role: 'targets', version: 1, expires, expiresText: '', held: targetsHeld },
      ],
    });
    assert.deepEqual(r.plan(facts('store.test/a/b', true), policy), [
      { role: 'targets', resignAt: expires.getTime() - 0.25 * 10 * DAY, keyHolder: 'store' },
      { role: 'root', resignAt: certs.getTime() - 0.25 * 16 * DAY, keyHolder: 'store' },
    ]);
    assert.deepEqual(r.plan(facts('store.test/a/b', false), policy), [], 'not the store’s');
    assert.deepEqual(r.plan(facts('staging.store.test/a/b', true), policy), [], 'staging');
    assert.deepEqual(r.plan(facts('example.com/a/b', true), policy), [], 'outside the zones');
  });
});

describe('store re-signer: a store CA near its own expiry (caLifetime 30d, rootLifetime 20d)', () => {
  const STAGING = 'staging.store.test/acme/ca';
  const PUBLIC = 'store.test/acme/ca';
  let s: StoreApp;
  let logs: ReturnType<typeof capturingLogger>;
  let caNotAfter: number;

  before(async () => {
    logs = capturingLogger();
    const clock = wholeSecondClock();
    s = await startStore(
      { rootLifetime: '20d', caLifetime: '30d' },
      { clock, appOptions: { log: logs.log } }
    );
    caNotAfter = Date.parse((await s.app.store!.ca.get()).notAfter);
    s.clock.advance(MIN);
    await publish(s, await StagingRepo.create(s.app.storage, STAGING), [['1.0', 'c']]);
  });
  after(() => s.close());

  it('renewal is cut short to the CA, with an error logged; then no renewal that would not outlast the root', async () => {
    const published = s.clock.now().getTime();
    assert.equal(
      logs.lines().filter((l) => l.level === 'error').length,
      0,
      'the CA is young: no error at start'
    );
    // Past the root's re-sign time: the CA has less than rootLifetime left.
    s.clock.set(published + 10 * DAY + MIN);
    const first = await s.app.freshness.scheduler.tick();
    assert.equal(first.failed.length, 0, JSON.stringify(first.failed));
    const root = parseRoot(await current(s, PUBLIC, 'root'));
    assert.equal(root.signed.version, 2);
    const [leaf] = root.signed.keys.get(root.signed.roles.root.keyids[0]!)!.certificates ?? [];
    assert.equal(leaf?.notAfter.getTime(), caNotAfter, 'the certificate ends with the CA');
    assert.ok(root.signed.expires.getTime() <= caNotAfter);
    const caErrors = logs
      .lines()
      .filter(
        (l) => l.level === 'error' && /store CA expires within rootLifetime/.test(String(l.msg))
      );
    assert.equal(caErrors.length, 1, JSON.stringify(logs.lines()));

    // The renewed root falls due again 10 days before the CA ends; a new certificate could not
    // outlast it, so none is made.
    s.clock.set(caNotAfter - 10 * DAY + MIN);
    const second = await s.app.freshness.scheduler.tick();
    assert.equal(second.failed.length, 0);
    assert.ok(!second.resigned.some((e) => e.written.some((w) => w.role === 'root')));
    assert.equal(parseRoot(await current(s, PUBLIC, 'root')).signed.version, 2);
    assert.ok(
      logs.lines().some((l) => l.level === 'error' && /cannot be renewed/.test(String(l.msg))),
      'the stuck renewal is logged as an error'
    );
    const status = await s.http
      .get(`/api/v1/repositories/${PUBLIC}/status`)
      .set('Authorization', s.auth('admin'))
      .expect(200);
    const rootStatus = status.body.roles.find((r: { role: string }) => r.role === 'root');
    assert.equal(rootStatus.state, 'expiring', 'status shows the root the store cannot keep fresh');
    await auditIntact(s);
  });
});
