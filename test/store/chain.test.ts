/**
 * The certification chain through the store API, in process (supertest): a producer's staging
 * repository verified check by check, approved, published with the store's signature alone,
 * published again with a second tag, revoked — and what a consumer pinned to the store CA then
 * reads from the public repository.
 */
import { after, before, describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import assert from 'node:assert/strict';
import { verifyRepository, CHECK_NAMES } from '../../src/client/index.js';
import { StoreMetadataSource } from '../../src/store/store-source.js';
import { loadPinnedCas, verifyChain } from '../../src/client/pinning.js';
import { parseCertificateBundle } from '../../src/crypto/x509.js';
import { loadCurrentRole } from '../../src/notary/current.js';
import { parseRoot, parseTargets } from '../../src/tuf/metadata.js';
import { sha256 } from '../../src/crypto/hash.js';
import { fileMetaOf } from '../../src/tuf/verify.js';
import { image, StagingRepo, startStore, type StoreApp } from './fixture.js';
import { ParsedMetadata } from '../../src/notary/parsed.js';

const GUN = 'staging.store.test/acme/web';
const PUBLIC = 'store.test/acme/web';

describe('store chain: verify, approve, publish, publish again, revoke', () => {
  let s: StoreApp;
  let repo: StagingRepo;
  let caPem: string;
  const v1 = image('1.0', 'a', 1234);
  const v2 = image('2.0', 'b', 999);
  let firstId: string;

  before(async () => {
    s = await startStore();
    repo = await StagingRepo.create(s.app.storage, GUN);
    await repo.push({ releases: [v1] });
  });
  after(() => s.close());

  const publicFile = async (role: string) => {
    const row = await loadCurrentRole(s.app.storage.meta, PUBLIC, role, new ParsedMetadata());
    assert.ok(row, `public ${role} exists`);
    return row.data;
  };

  it('serves the store CA to anyone, as a CA certificate', async () => {
    const res = await s.http.get('/api/v1/store/ca.pem').expect(200);
    assert.match(res.headers['content-type'] ?? '', /application\/x-pem-file/);
    caPem = res.text;
    const [ca] = parseCertificateBundle(caPem) ?? [];
    assert.ok(ca);
    assert.equal(ca.isCA, true);
    assert.equal(ca.commonName, 'Countersign store CA');
  });

  it('creates a submission and verifies it: one passed entry per check, the exact target, the producer key', async () => {
    const res = await s.http
      .post('/api/v1/submissions')
      .set('Authorization', s.auth('acme'))
      .send({ gun: GUN, tag: '1.0' })
      .expect(201);
    const sub = res.body;
    firstId = sub.id;
    assert.match(sub.id, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(sub.gun, GUN);
    assert.equal(sub.publicGun, PUBLIC);
    assert.equal(sub.tag, '1.0');
    assert.equal(sub.state, 'verified');
    assert.equal(sub.submitter, 'acme');
    assert.deepEqual(
      sub.verification.checks.map((c: { name: string; passed: boolean }) => [c.name, c.passed]),
      CHECK_NAMES.map((n) => [n, true])
    );
    assert.deepEqual(sub.target, {
      name: '1.0',
      length: 1234,
      hashes: fileMetaOf(v1.bytes).hashes,
      digest: `sha256:${sha256(v1.bytes).toString('hex')}`,
      role: 'targets/releases',
    });
    assert.deepEqual(sub.staging.producerKeyIds, [repo.releasesKey.publicKey.id]);
    assert.deepEqual(sub.staging.versions, {
      root: 1,
      timestamp: 1,
      snapshot: 1,
      targets: 1,
      'targets/releases': 1,
    });
    assert.deepEqual(sub.policy, { checks: [] });
    assert.deepEqual(sub.reviews, []);
    const got = await s.http
      .get(`/api/v1/submissions/${sub.id}`)
      .set('Authorization', s.auth('rev1'))
      .expect(200);
    assert.deepEqual(got.body, sub);
  });

  it('a reviewer approves; the quorum of one publishes at once', async () => {
    const res = await s.http
      .post(`/api/v1/submissions/${firstId}/reviews`)
      .set('Authorization', s.auth('rev1'))
      .send({ decision: 'approve', note: 'looks good' })
      .expect(200);
    assert.equal(res.body.state, 'published');
    assert.equal(res.body.reviews.length, 1);
    assert.deepEqual(
      {
        reviewer: res.body.reviews[0].reviewer,
        decision: res.body.reviews[0].decision,
        note: res.body.reviews[0].note,
      },
      { reviewer: 'rev1', decision: 'approve', note: 'looks good' }
    );
    assert.equal(res.body.published.by, 'rev1');
    assert.equal(res.body.published.targetsVersion, 1);
    const got = await s.http
      .get(`/api/v1/submissions/${firstId}`)
      .set('Authorization', s.auth('acme'))
      .expect(200);
    assert.equal(got.body.state, 'published');
  });

  it('the public root: a store root key certified by the store CA (CN = public GUN, no EKU), server keys, nothing from staging', async () => {
    const root = parseRoot(await publicFile('root'));
    assert.equal(root.signed.version, 1);
    const [rootKeyId] = root.signed.roles.root.keyids;
    const rootKey = root.signed.keys.get(rootKeyId!);
    assert.equal(rootKey?.keyType, 'ecdsa-x509');
    const [leaf] = rootKey?.certificates ?? [];
    assert.ok(leaf);
    assert.equal(leaf.commonName, PUBLIC);
    assert.equal(leaf.isCA, false);
    assert.equal(leaf.extKeyUsage, undefined);
    const parsed = new x509.X509Certificate(leaf.der);
    const usage = parsed.getExtension(x509.KeyUsagesExtension);
    assert.equal(usage?.usages, x509.KeyUsageFlags.digitalSignature);
    assert.equal(parsed.getExtension(x509.BasicConstraintsExtension)?.ca, false);
    const verdict = verifyChain(leaf, [], loadPinnedCas(caPem, s.clock.now()), s.clock.now());
    assert.equal(verdict.ok, true);
    assert.equal(root.signatures.length, 1);
    assert.equal(root.signatures[0]?.keyid, rootKeyId);
    const allIds = [...root.signed.keys.keys()];
    for (const id of repo.keyIds())
      assert.ok(!allIds.includes(id), `staging key ${id} is in the public root`);
    const held = await s.app.signer.held(
      (['targets', 'snapshot', 'timestamp'] as const).flatMap((r) => root.signed.roles[r].keyids)
    );
    assert.equal(held.size, 3, 'the server holds the targets, snapshot and timestamp keys');
  });

  it('the public targets: the tag with the producer digest and length, provenance in custom, one signature by the store key, no delegations', async () => {
    const root = parseRoot(await publicFile('root'));
    const targets = parseTargets(await publicFile('targets'));
    assert.deepEqual(
      targets.signatures.map((x) => x.keyid),
      root.signed.roles.targets.keyids
    );
    assert.deepEqual(targets.signedJSON.delegations, { keys: {}, roles: [] });
    const t = targets.signed.targets.get('1.0');
    assert.ok(t);
    assert.equal(t.length, 1234);
    assert.equal(t.hashes.sha256, sha256(v1.bytes).toString('base64'));
    const custom = t.custom as Record<string, unknown>;
    assert.equal(custom.submission, firstId);
    assert.equal(custom.stagingGun, GUN);
    assert.equal(custom.stagingRole, 'targets/releases');
    assert.deepEqual(custom.stagingVersions, {
      root: 1,
      timestamp: 1,
      snapshot: 1,
      targets: 1,
      'targets/releases': 1,
    });
    assert.deepEqual(custom.producerKeyIds, [repo.releasesKey.publicKey.id]);
    assert.equal(custom.submitter, 'acme');
    assert.deepEqual(
      (custom.reviewers as { name: string }[]).map((r) => r.name),
      ['rev1']
    );
    for (const k of ['submittedAt', 'verifiedAt', 'approvedAt', 'publishedAt'])
      assert.equal(typeof custom[k], 'string', k);
  });

  it('a consumer pinned to the store CA verifies the tag (the client workflow over the public metadata)', async () => {
    const result = await verifyRepository({
      source: new StoreMetadataSource(s.app.storage.meta, new ParsedMetadata()),
      gun: PUBLIC,
      clock: s.clock,
      trust: { kind: 'ca', pem: caPem },
      target: '1.0',
    });
    assert.equal(result.ok, true, JSON.stringify(result.failures));
    assert.equal(result.target?.digest, `sha256:${sha256(v1.bytes).toString('hex')}`);
    assert.equal(result.target?.role, 'targets');
  });

  it('publishing another tag of the repository adds it to the same targets, same root and keys', async () => {
    const rootBefore = await publicFile('root');
    await repo.push({ releases: [v1, v2] });
    const created = await s.http
      .post('/api/v1/submissions')
      .set('Authorization', s.auth('acme'))
      .send({ gun: GUN, tag: '2.0' })
      .expect(201);
    assert.equal(created.body.state, 'verified');
    await s.http
      .post(`/api/v1/submissions/${created.body.id}/reviews`)
      .set('Authorization', s.auth('rev2'))
      .send({ decision: 'approve' })
      .expect(200);
    assert.deepEqual(await publicFile('root'), rootBefore);
    const targets = parseTargets(await publicFile('targets'));
    assert.equal(targets.signed.version, 2);
    assert.deepEqual([...targets.signed.targets.keys()].sort(), ['1.0', '2.0']);
    assert.equal(
      (targets.signed.targets.get('1.0')?.custom as { submission: string }).submission,
      firstId
    );
    assert.equal(
      (targets.signed.targets.get('2.0')?.custom as { submission: string }).submission,
      created.body.id
    );
  });

  it('revoking a tag removes it from the public targets and marks its submission revoked, with the reason', async () => {
    const res = await s.http
      .post(`/api/v1/repositories/${PUBLIC}/revocations`)
      .set('Authorization', s.auth('admin'))
      .send({ tag: '1.0', reason: 'CVE-2026-0001' })
      .expect(200);
    assert.equal(res.body.tag, '1.0');
    assert.equal(res.body.submission, firstId);
    assert.equal(res.body.targetsVersion, 3);
    const targets = parseTargets(await publicFile('targets'));
    assert.deepEqual([...targets.signed.targets.keys()], ['2.0']);
    const sub = await s.http
      .get(`/api/v1/submissions/${firstId}`)
      .set('Authorization', s.auth('admin'))
      .expect(200);
    assert.equal(sub.body.state, 'revoked');
    assert.equal(sub.body.revoked.reason, 'CVE-2026-0001');
    const result = await verifyRepository({
      source: new StoreMetadataSource(s.app.storage.meta, new ParsedMetadata()),
      gun: PUBLIC,
      clock: s.clock,
      trust: { kind: 'ca', pem: caPem },
      target: '1.0',
    });
    assert.equal(result.checks.find((c) => c.name === 'target')?.passed, false);
    await s.http
      .post(`/api/v1/repositories/${PUBLIC}/revocations`)
      .set('Authorization', s.auth('admin'))
      .send({ tag: '1.0', reason: 'again' })
      .expect(404);
  });

  it('the Notary API serves the new public metadata at once (no stale cached copy)', async () => {
    const res = await s.http.get(`/v2/${PUBLIC}/_trust/tuf/targets.json`).expect(200);
    assert.deepEqual([...parseTargets(Buffer.from(res.text)).signed.targets.keys()], ['2.0']);
  });

  it('the audit log holds every state change and key operation, and its chain verifies', async () => {
    const res = await s.http.get('/api/v1/audit').set('Authorization', s.auth('admin')).expect(200);
    const actions = res.body.entries.map((e: { action: string }) => e.action);
    for (const a of [
      'key.created',
      'ca.created',
      'certificate.issued',
      'repository.created',
      'submission.created',
      'submission.verified',
      'submission.reviewed',
      'submission.approved',
      'submission.published',
      'submission.revoked',
    ]) {
      assert.ok(actions.includes(a), `audit has ${a}`);
    }
    const byGun = await s.http
      .get(`/api/v1/audit?gun=${PUBLIC}`)
      .set('Authorization', s.auth('admin'))
      .expect(200);
    assert.ok(byGun.body.entries.length > 0);
    assert.ok(
      byGun.body.entries.every(
        (e: { subject: string; details: { publicGun?: string } }) =>
          e.subject.startsWith(PUBLIC) || e.details.publicGun === PUBLIC
      )
    );
    const verify = await s.http
      .get('/api/v1/audit/verify')
      .set('Authorization', s.auth('admin'))
      .expect(200);
    assert.deepEqual(verify.body, {
      ok: true,
      entries: res.body.entries.length,
      firstBroken: null,
    });
  });
});
