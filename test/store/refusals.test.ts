/**
 * What the store refuses, each time leaving the public repository exactly as it was: staging
 * targets signed by a key the root does not list, an expired staging timestamp or targets, an
 * older staging version after a newer one, the staging tag re-signed to another digest between
 * approval and publish, something expiring between approval and publish, self-approval, a
 * second publisher submitting in acme's namespace, and a write to the public GUN through the
 * Notary API (even by an admin with a token).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { multipart } from '../helpers/app.js';
import {
  expiresIn,
  plainKey,
  rootSigned,
  sign,
  targetsSigned,
  x509Key,
} from '../helpers/tuf-builder.js';
import { sha256 } from '../../src/crypto/hash.js';
import { image, publicTimestamp, StagingRepo, startStore, type StoreApp } from './fixture.js';

type Check = { name: string; passed: boolean; detail: string };
const check = (body: { verification: { checks: Check[] } }, name: string): Check => {
  const c = body.verification.checks.find((x) => x.name === name);
  assert.ok(c, `check ${name} is reported`);
  return c;
};

describe('verification refusals (auto-publish on)', () => {
  let s: StoreApp;
  before(async () => {
    s = await startStore({}, { extra: { auth: { service: 'store-test' } } });
  });
  after(() => s.close());

  const submit = (gun: string, tag: string, as = 'acme') =>
    s.http.post('/api/v1/submissions').set('Authorization', s.auth(as)).send({ gun, tag });
  const approve = (id: string, as = 'rev1') =>
    s.http
      .post(`/api/v1/submissions/${id}/reviews`)
      .set('Authorization', s.auth(as))
      .send({ decision: 'approve' });

  /** Verification fails, approving is refused, an admin cannot publish it, and nothing is public. */
  async function refusedThroughout(gun: string, id: string): Promise<void> {
    const publicGun = gun.replace('staging.store.test/', 'store.test/');
    const res = await approve(id).expect(409);
    assert.equal(res.body.error.code, 'conflict');
    await s.http
      .post(`/api/v1/submissions/${id}/publish`)
      .set('Authorization', s.auth('admin'))
      .expect(409);
    assert.equal(await publicTimestamp(s.app.storage, publicGun), null);
  }

  it('staging targets signed by a key the root does not list', async () => {
    const gun = 'staging.store.test/acme/badkey';
    const repo = await StagingRepo.create(s.app.storage, gun);
    await repo.push({ targets: [image('1.0', 'x')], targetsSigner: plainKey() });
    const res = await submit(gun, '1.0').expect(201);
    assert.equal(res.body.state, 'verification_failed');
    const sig = check(res.body, 'signatures');
    assert.equal(sig.passed, false);
    assert.match(sig.detail, /targets/);
    assert.match(sig.detail, /threshold/);
    await refusedThroughout(gun, res.body.id);
  });

  it('an expired staging timestamp', async () => {
    const gun = 'staging.store.test/acme/oldts';
    const repo = await StagingRepo.create(s.app.storage, gun);
    await repo.push({ releases: [image('1.0', 'y')], expires: { timestamp: expiresIn(-1) } });
    const res = await submit(gun, '1.0').expect(201);
    assert.equal(res.body.state, 'verification_failed');
    const expiry = check(res.body, 'expiry');
    assert.equal(expiry.passed, false);
    assert.match(expiry.detail, /timestamp expired at/);
    await refusedThroughout(gun, res.body.id);
  });

  it('expired staging targets', async () => {
    const gun = 'staging.store.test/acme/oldtargets';
    const repo = await StagingRepo.create(s.app.storage, gun);
    await repo.push({ targets: [image('1.0', 'z')], expires: { targets: expiresIn(-2) } });
    const res = await submit(gun, '1.0').expect(201);
    assert.equal(res.body.state, 'verification_failed');
    assert.match(check(res.body, 'expiry').detail, /targets expired at/);
    await refusedThroughout(gun, res.body.id);
  });

  it('an older staging version submitted after a newer one (rollback)', async () => {
    const gun = 'staging.store.test/acme/rollback';
    const repo = await StagingRepo.create(s.app.storage, gun);
    const tag = image('1.0', 'r');
    await repo.push({ releases: [tag] });
    await repo.push({ releases: [tag] });
    const newer = await submit(gun, '1.0').expect(201);
    assert.equal(newer.body.state, 'verified');
    assert.equal(newer.body.staging.versions.targets, 2);
    // The producer (or anyone who can delete and re-create the staging repository) goes back.
    await repo.resetVersions();
    await repo.push({ releases: [tag] });
    const older = await submit(gun, '1.0').expect(201);
    assert.equal(older.body.state, 'verification_failed');
    const rollback = check(older.body, 'rollback');
    assert.equal(rollback.passed, false);
    assert.match(rollback.detail, /targets version 1 is below version 2 seen before/);
    await refusedThroughout(gun, older.body.id);
  });

  it('a tag the staging repository does not sign', async () => {
    const gun = 'staging.store.test/acme/notag';
    const repo = await StagingRepo.create(s.app.storage, gun);
    await repo.push({ releases: [image('1.0', 'n')] });
    const res = await submit(gun, '9.9').expect(201);
    assert.equal(res.body.state, 'verification_failed');
    assert.equal(res.body.target, null);
    assert.equal(check(res.body, 'target').passed, false);
    await refusedThroughout(gun, res.body.id);
  });

  it('a staging GUN without trust data is not found, and nothing is recorded', async () => {
    const res = await submit('staging.store.test/acme/nothing', '1.0').expect(404);
    assert.equal(res.body.error.code, 'not_found');
    assert.deepEqual(
      await s.app.storage.submissions.list({ gun: 'staging.store.test/acme/nothing' }),
      []
    );
  });

  it('a second publisher submitting in acme’s namespace: 403, nothing recorded', async () => {
    const gun = 'staging.store.test/acme/owned';
    const repo = await StagingRepo.create(s.app.storage, gun);
    await repo.push({ releases: [image('1.0', 'o')] });
    const res = await submit(gun, '1.0', 'other').expect(403);
    assert.deepEqual(Object.keys(res.body), ['error']);
    assert.equal(res.body.error.code, 'forbidden');
    assert.match(res.body.error.message, /other does not own staging\.store\.test\/acme\/owned/);
    assert.deepEqual(await s.app.storage.submissions.list({ gun }), []);
  });

  it('self-approval: the submitter may not review its own submission, even as an admin', async () => {
    const gun = 'staging.store.test/acme/self';
    const repo = await StagingRepo.create(s.app.storage, gun);
    await repo.push({ releases: [image('1.0', 's')] });
    const created = await submit(gun, '1.0', 'admin').expect(201);
    assert.equal(created.body.state, 'verified');
    const res = await approve(created.body.id, 'admin').expect(403);
    assert.equal(res.body.error.code, 'forbidden');
    assert.match(res.body.error.message, /admin submitted this and may not review it/);
    // A publisher cannot review at all.
    const byPublisher = await submit(gun, '1.0').expect(201);
    await approve(byPublisher.body.id, 'acme').expect(403);
    const after = await s.http
      .get(`/api/v1/submissions/${created.body.id}`)
      .set('Authorization', s.auth('admin'))
      .expect(200);
    assert.equal(after.body.state, 'verified');
    assert.deepEqual(after.body.reviews, []);
    assert.equal(await publicTimestamp(s.app.storage, 'store.test/acme/self'), null);
  });

  it('a write to a public GUN through the Notary API is refused, even for an admin holding a token', async () => {
    const gun = 'store.test/acme/direct';
    const token = await s.http
      .get('/auth/token')
      .query({ service: 'store-test', scope: `repository:${gun}:push,pull` })
      .set('Authorization', s.auth('admin'))
      .expect(200);
    assert.deepEqual(token.body.access ?? decodeAccess(token.body.token), [
      { type: 'repository', name: gun, actions: ['pull'] },
    ]);
    const rootKey = await x509Key(gun);
    const targetsKey = plainKey();
    const root = sign(
      rootSigned({
        root: [rootKey],
        targets: [targetsKey],
        snapshot: [targetsKey],
        timestamp: [targetsKey],
      }),
      [rootKey]
    );
    const { body, contentType } = multipart({
      root,
      targets: sign(targetsSigned({}), [targetsKey]),
    });
    for (const auth of [undefined, `Bearer ${token.body.token as string}`]) {
      const req = s.http.post(`/v2/${gun}/_trust/tuf/`).set('Content-Type', contentType);
      const res = await (auth ? req.set('Authorization', auth) : req).send(body);
      assert.equal(res.status, 401);
      assert.match(res.headers['www-authenticate'] ?? '', /^Bearer /);
    }
    assert.equal(await s.app.storage.meta.getLatest(gun, 'root'), null);
  });
});

function decodeAccess(jwt: string): unknown {
  const payload = jwt.split('.')[1] ?? '';
  return (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { access: unknown })
    .access;
}

describe('publish refusals after approval (auto-publish off)', () => {
  let s: StoreApp;
  before(async () => {
    s = await startStore({ autoPublish: false });
  });
  after(() => s.close());

  it('the staging tag re-signed to another digest between approval and publish', async () => {
    const gun = 'staging.store.test/acme/swap';
    const publicGun = 'store.test/acme/swap';
    const repo = await StagingRepo.create(s.app.storage, gun);
    const good = image('1.0', 'g', 500);
    await repo.push({ releases: [good] });
    const created = await s.http
      .post('/api/v1/submissions')
      .set('Authorization', s.auth('acme'))
      .send({ gun, tag: '1.0' })
      .expect(201);
    const id = created.body.id as string;
    const approved = await s.http
      .post(`/api/v1/submissions/${id}/reviews`)
      .set('Authorization', s.auth('rev1'))
      .send({ decision: 'approve', note: 'ok' })
      .expect(200);
    assert.equal(approved.body.state, 'approved');
    assert.equal(await publicTimestamp(s.app.storage, publicGun), null);

    const evil = image('1.0', 'e', 500);
    await repo.push({ releases: [evil] });
    const refused = await s.http
      .post(`/api/v1/submissions/${id}/publish`)
      .set('Authorization', s.auth('admin'))
      .expect(409);
    assert.equal(refused.body.error.code, 'conflict');
    const evilDigest = `sha256:${sha256(evil.bytes).toString('hex')}`;
    assert.ok(
      refused.body.error.message.includes(`staging now signs 1.0 as ${evilDigest}`),
      refused.body.error.message
    );
    assert.equal(await publicTimestamp(s.app.storage, publicGun), null);
    const after = await s.http
      .get(`/api/v1/submissions/${id}`)
      .set('Authorization', s.auth('admin'))
      .expect(200);
    assert.equal(after.body.state, 'approved');
    assert.equal(after.body.publishError.message, refused.body.error.message);
    const audit = await s.http
      .get(`/api/v1/audit?gun=${gun}`)
      .set('Authorization', s.auth('admin'))
      .expect(200);
    assert.ok(
      audit.body.entries.some((e: { action: string }) => e.action === 'submission.publish_refused')
    );

    // Signed back to the approved digest, the same submission publishes.
    await repo.push({ releases: [good] });
    const published = await s.http
      .post(`/api/v1/submissions/${id}/publish`)
      .set('Authorization', s.auth('admin'))
      .expect(200);
    assert.equal(published.body.state, 'published');
    assert.equal(published.body.publishError, undefined);
    assert.notEqual(await publicTimestamp(s.app.storage, publicGun), null);
    await s.http
      .post(`/api/v1/submissions/${id}/publish`)
      .set('Authorization', s.auth('admin'))
      .expect(409);
  });

  it('staging metadata expiring between approval and publish', async () => {
    const gun = 'staging.store.test/acme/late';
    const publicGun = 'store.test/acme/late';
    const repo = await StagingRepo.create(s.app.storage, gun);
    await repo.push({
      releases: [image('1.0', 'l')],
      expires: { timestamp: expiresIn(1, s.clock.now().getTime()) },
    });
    const created = await s.http
      .post('/api/v1/submissions')
      .set('Authorization', s.auth('acme'))
      .send({ gun, tag: '1.0' })
      .expect(201);
    assert.equal(created.body.state, 'verified');
    await s.http
      .post(`/api/v1/submissions/${created.body.id}/reviews`)
      .set('Authorization', s.auth('rev1'))
      .send({ decision: 'approve' })
      .expect(200);
    s.clock.advance(2 * 86_400_000);
    const refused = await s.http
      .post(`/api/v1/submissions/${created.body.id}/publish`)
      .set('Authorization', s.auth('admin'))
      .expect(409);
    assert.match(refused.body.error.message, /expiry: timestamp expired at/);
    assert.equal(await publicTimestamp(s.app.storage, publicGun), null);
  });
});
