/**
 * The store on PostgreSQL, and two instances on one database: the chain end to end (publish,
 * another tag, revocation), two instances publishing to the same new public repository at once
 * (one set of repository keys wins, the other is recorded as discarded; both tags end up in one
 * targets file), and an audit chain that stays intact through all of it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { verifyRepository } from '../../src/client/index.js';
import { StoreMetadataSource } from '../../src/store/store-source.js';
import { loadCurrentRole } from '../../src/notary/current.js';
import { parseTargets } from '../../src/tuf/metadata.js';
import { ManualClock } from '../../src/util/clock.js';
import { startPostgres, type StartedPostgres } from '../helpers/postgres.js';
import type { SubmissionView as SubmissionBody } from '../../src/store/submission.js';
import { image, StagingRepo, startStore, type StoreApp } from './fixture.js';
import { ParsedMetadata } from '../../src/notary/parsed.js';

describe('the store on PostgreSQL, two instances', () => {
  let cluster: StartedPostgres;
  let a: StoreApp;
  let b: StoreApp;

  before(async () => {
    cluster = await startPostgres();
    const url = await cluster.createDatabase();
    const top = { storage: { backend: 'postgres', db_url: url } };
    const clock = new ManualClock();
    a = await startStore({}, { top, clock });
    b = await startStore({}, { top, clock });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await cluster?.stop();
  });

  const submit = async (s: StoreApp, gun: string, tag: string) =>
    (
      await s.http
        .post('/api/v1/submissions')
        .set('Authorization', s.auth('acme'))
        .send({ gun, tag })
        .expect(201)
    ).body as SubmissionBody;
  const approve = (s: StoreApp, id: string, as: string) =>
    s.http
      .post(`/api/v1/submissions/${id}/reviews`)
      .set('Authorization', s.auth(as))
      .send({ decision: 'approve' })
      .expect(200);

  it('both instances serve the same store CA', async () => {
    const [ca1, ca2] = await Promise.all([
      a.http.get('/api/v1/store/ca.pem').expect(200),
      b.http.get('/api/v1/store/ca.pem').expect(200),
    ]);
    assert.equal(ca1.text, ca2.text);
  });

  it('publishes, publishes another tag from the other instance, revokes', async () => {
    const gun = 'staging.store.test/acme/pg';
    const repo = await StagingRepo.create(a.app.storage, gun);
    await repo.push({ releases: [image('1.0', 'p'), image('2.0', 'q')] });
    const first = await submit(a, gun, '1.0');
    assert.equal(first.state, 'verified');
    assert.equal((await approve(a, first.id, 'rev1')).body.state, 'published');
    const second = await submit(b, gun, '2.0');
    assert.equal((await approve(b, second.id, 'rev2')).body.state, 'published');
    await a.http
      .post('/api/v1/repositories/store.test/acme/pg/revocations')
      .set('Authorization', a.auth('admin'))
      .send({ tag: '1.0', reason: 'test' })
      .expect(200);
    const row = await loadCurrentRole(
      b.app.storage.meta,
      'store.test/acme/pg',
      'targets',
      new ParsedMetadata()
    );
    assert.deepEqual([...parseTargets(row!.data).signed.targets.keys()], ['2.0']);
    const got = await b.http
      .get(`/api/v1/submissions/${first.id}`)
      .set('Authorization', b.auth('admin'))
      .expect(200);
    assert.equal(got.body.state, 'revoked');
  });

  it('submits on one instance and approves on the other: the other publishes, both serve it', async () => {
    const gun = 'staging.store.test/acme/cross';
    const repo = await StagingRepo.create(a.app.storage, gun);
    await repo.push({ releases: [image('1.0', 'x')] });
    const sub = await submit(a, gun, '1.0');
    assert.equal(sub.state, 'verified');
    const seenOnB = await b.http
      .get(`/api/v1/submissions/${sub.id}`)
      .set('Authorization', b.auth('rev1'))
      .expect(200);
    assert.equal(seenOnB.body.state, 'verified');
    assert.equal((await approve(b, sub.id, 'rev1')).body.state, 'published');
    const onA = await a.http
      .get(`/api/v1/submissions/${sub.id}`)
      .set('Authorization', a.auth('admin'))
      .expect(200);
    assert.equal(onA.body.state, 'published');
    for (const s of [a, b]) {
      const row = await loadCurrentRole(
        s.app.storage.meta,
        'store.test/acme/cross',
        'targets',
        new ParsedMetadata()
      );
      assert.deepEqual([...parseTargets(row!.data).signed.targets.keys()], ['1.0']);
    }
  });

  it('two instances publishing to a new public repository at once agree on one set of keys', async () => {
    const gun = 'staging.store.test/acme/race';
    const repo = await StagingRepo.create(a.app.storage, gun);
    await repo.push({ releases: [image('1.0', 'r'), image('2.0', 's')] });
    const [one, two] = [await submit(a, gun, '1.0'), await submit(b, gun, '2.0')];
    const [r1, r2] = await Promise.all([approve(a, one.id, 'rev1'), approve(b, two.id, 'rev2')]);
    assert.deepEqual([r1.body.state, r2.body.state], ['published', 'published']);
    const row = await loadCurrentRole(
      a.app.storage.meta,
      'store.test/acme/race',
      'targets',
      new ParsedMetadata()
    );
    const targets = parseTargets(row!.data);
    assert.deepEqual([...targets.signed.targets.keys()].sort(), ['1.0', '2.0']);
    assert.equal(targets.signed.version, 2);
    const stored = await a.app.storage.storeRepositories.get('store.test/acme/race');
    assert.deepEqual(
      targets.signatures.map((s) => s.keyid),
      [stored?.targetsKeyId]
    );
    const ca = (await a.http.get('/api/v1/store/ca.pem').expect(200)).text;
    for (const tag of ['1.0', '2.0']) {
      const result = await verifyRepository({
        source: new StoreMetadataSource(b.app.storage.meta, new ParsedMetadata()),
        gun: 'store.test/acme/race',
        clock: a.clock,
        trust: { kind: 'ca', pem: ca },
        target: tag,
      });
      assert.equal(result.ok, true, JSON.stringify(result.failures));
    }
    const audit = await a.http
      .get('/api/v1/audit?gun=store.test/acme/race')
      .set('Authorization', a.auth('admin'))
      .expect(200);
    const created = audit.body.entries.filter(
      (e: { action: string }) => e.action === 'repository.created'
    );
    assert.equal(created.length, 1, 'one instance created the repository');
  });

  it('the audit chain written by both instances verifies', async () => {
    const res = await b.http
      .get('/api/v1/audit/verify')
      .set('Authorization', b.auth('admin'))
      .expect(200);
    assert.equal(res.body.ok, true);
    assert.equal(res.body.firstBroken, null);
    assert.ok(res.body.entries > 20);
  });
});
