/**
 * Reviews and who may do what (docs/interfaces.md "Store API"): a quorum of two needs two distinct
 * reviewers, a rejection after one approval ends the submission, and the authorization table —
 * anonymous 401, the wrong role or namespace 403, with the `{"error":{"code","message"}}` shape.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { image, publicTimestamp, StagingRepo, startStore, type StoreApp } from './fixture.js';

describe('a quorum of two', () => {
  let s: StoreApp;
  let repo: StagingRepo;
  const GUN = 'staging.store.test/acme/quorum';
  const PUBLIC = 'store.test/acme/quorum';

  before(async () => {
    s = await startStore({ approvals: 2 });
    repo = await StagingRepo.create(s.app.storage, GUN);
    await repo.push({ releases: [image('1.0', 'q'), image('2.0', 'w')] });
  });
  after(() => s.close());

  const submit = async (tag: string) =>
    (
      await s.http
        .post('/api/v1/submissions')
        .set('Authorization', s.auth('acme'))
        .send({ gun: GUN, tag })
        .expect(201)
    ).body.id as string;
  const review = (id: string, as: string, decision: string, note?: string) =>
    s.http
      .post(`/api/v1/submissions/${id}/reviews`)
      .set('Authorization', s.auth(as))
      .send({ decision, ...(note ? { note } : {}) });

  it('needs two distinct reviewers: one approval leaves it verified, the same reviewer twice counts once', async () => {
    const id = await submit('1.0');
    const first = await review(id, 'rev1', 'approve', 'fine').expect(200);
    assert.equal(first.body.state, 'verified');
    assert.equal(first.body.reviews.length, 1);
    assert.equal(await publicTimestamp(s.app.storage, PUBLIC), null);
    const again = await review(id, 'rev1', 'approve').expect(409);
    assert.match(again.body.error.message, /rev1 has already approved/);
    const second = await review(id, 'rev2', 'approve').expect(200);
    assert.equal(second.body.state, 'published');
    assert.deepEqual(
      second.body.reviews.map((r: { reviewer: string }) => r.reviewer),
      ['rev1', 'rev2']
    );
    assert.notEqual(await publicTimestamp(s.app.storage, PUBLIC), null);
  });

  it('a rejection after one approval ends the submission; nothing more is accepted', async () => {
    const before = await publicTimestamp(s.app.storage, PUBLIC);
    const id = await submit('2.0');
    await review(id, 'rev1', 'approve').expect(200);
    const noNote = await review(id, 'rev2', 'reject').expect(400);
    assert.match(noNote.body.error.message, /note is required/);
    const rejected = await review(id, 'rev2', 'reject', 'runs as root').expect(200);
    assert.equal(rejected.body.state, 'rejected');
    assert.equal(rejected.body.reviews.at(-1).note, 'runs as root');
    await review(id, 'admin', 'approve').expect(409);
    await review(id, 'admin', 'reject', 'twice').expect(409);
    await s.http
      .post(`/api/v1/submissions/${id}/publish`)
      .set('Authorization', s.auth('admin'))
      .expect(409);
    assert.equal(await publicTimestamp(s.app.storage, PUBLIC), before);
  });

  it('refuses decisions that are neither approve nor reject', async () => {
    const id = await submit('1.0');
    const res = await review(id, 'rev1', 'maybe').expect(400);
    assert.equal(res.body.error.code, 'bad_request');
  });
});

describe('authorization and error shape', () => {
  let s: StoreApp;
  let id: string;
  const GUN = 'staging.store.test/acme/authz';

  before(async () => {
    s = await startStore({ autoPublish: false });
    const repo = await StagingRepo.create(s.app.storage, GUN);
    await repo.push({ releases: [image('1.0', 'm')] });
    id = (
      await s.http
        .post('/api/v1/submissions')
        .set('Authorization', s.auth('acme'))
        .send({ gun: GUN, tag: '1.0' })
        .expect(201)
    ).body.id;
  });
  after(() => s.close());

  type Method = 'get' | 'post';
  const call = (method: Method, path: string, as: string | null, body?: unknown) => {
    const req = s.http[method](`/api/v1${path}`);
    if (as) req.set('Authorization', s.auth(as));
    return body === undefined ? req : req.send(body as object);
  };

  const expectStatus = async (
    method: Method,
    path: string,
    as: string | null,
    status: number,
    body?: unknown
  ) => {
    const res = await call(method, path, as, body);
    assert.equal(
      res.status,
      status,
      `${method.toUpperCase()} ${path} as ${as ?? 'anonymous'}: ${res.text}`
    );
    if (status >= 400) {
      assert.deepEqual(Object.keys(res.body), ['error'], res.text);
      assert.deepEqual(Object.keys(res.body.error).sort(), ['code', 'message']);
      const code = {
        400: 'bad_request',
        401: 'unauthorized',
        403: 'forbidden',
        404: 'not_found',
        409: 'conflict',
      }[status];
      assert.equal(res.body.error.code, code);
    }
    return res;
  };

  it('anonymous callers get 401 everywhere but the CA certificate', async () => {
    await expectStatus('get', '/store/ca.pem', null, 200);
    for (const [method, path] of [
      ['post', '/submissions'],
      ['get', '/submissions'],
      ['get', `/submissions/${id}`],
      ['post', `/submissions/${id}/verify`],
      ['post', `/submissions/${id}/reviews`],
      ['post', `/submissions/${id}/publish`],
      ['post', '/repositories/store.test/acme/authz/revocations'],
      ['get', '/audit'],
      ['get', '/audit/verify'],
    ] as const) {
      const res = await expectStatus(method, path, null, 401, method === 'post' ? {} : undefined);
      assert.match(res.headers['www-authenticate'] ?? '', /^Basic /);
    }
  });

  it('creating: the owning publisher and admins; reviewers and other publishers are forbidden', async () => {
    await expectStatus('post', '/submissions', 'rev1', 403, { gun: GUN, tag: '1.0' });
    await expectStatus('post', '/submissions', 'other', 403, { gun: GUN, tag: '1.0' });
    await expectStatus('post', '/submissions', 'admin', 201, { gun: GUN, tag: '1.0' });
    await expectStatus('post', '/submissions', 'acme', 400, {
      gun: 'store.test/acme/authz',
      tag: '1.0',
    });
    await expectStatus('post', '/submissions', 'acme', 400, { gun: GUN, tag: '-bad' });
    await expectStatus('post', '/submissions', 'acme', 400, { gun: GUN });
    await expectStatus('post', '/submissions', 'acme', 400, ['not', 'an', 'object']);
  });

  it('reading: owner, reviewers and admins; listing: reviewers and admins', async () => {
    for (const who of ['acme', 'rev1', 'admin'])
      await expectStatus('get', `/submissions/${id}`, who, 200);
    await expectStatus('get', `/submissions/${id}`, 'other', 403);
    await expectStatus('get', '/submissions/AAAAAAAAAAAAAAAAAAAAAA', 'admin', 404);
    await expectStatus('get', '/submissions', 'acme', 403);
    const list = await expectStatus('get', `/submissions?state=verified&gun=${GUN}`, 'rev1', 200);
    assert.ok(list.body.submissions.some((x: { id: string }) => x.id === id));
    assert.ok(list.body.submissions.every((x: { state: string }) => x.state === 'verified'));
    const none = await expectStatus('get', '/submissions?state=published', 'admin', 200);
    assert.deepEqual(none.body.submissions, []);
    await expectStatus('get', '/submissions?state=nonsense', 'admin', 400);
  });

  it('re-verifying: the owner and admins, before any review', async () => {
    await expectStatus('post', `/submissions/${id}/verify`, 'rev1', 403);
    await expectStatus('post', `/submissions/${id}/verify`, 'other', 403);
    const res = await expectStatus('post', `/submissions/${id}/verify`, 'acme', 200);
    assert.equal(res.body.state, 'verified');
  });

  it('reviewing: reviewers and admins, never publishers; publishing: admins only; revoking: admins only', async () => {
    await expectStatus('post', `/submissions/${id}/reviews`, 'acme', 403, { decision: 'approve' });
    await expectStatus('post', `/submissions/${id}/reviews`, 'other', 403, { decision: 'approve' });
    await expectStatus('post', `/submissions/${id}/publish`, 'rev1', 403);
    await expectStatus('post', `/submissions/${id}/publish`, 'admin', 409);
    await expectStatus('post', `/submissions/${id}/reviews`, 'rev1', 200, { decision: 'approve' });
    await expectStatus('post', `/submissions/${id}/verify`, 'acme', 409);
    await expectStatus('post', `/submissions/${id}/publish`, 'acme', 403);
    await expectStatus('post', `/submissions/${id}/publish`, 'rev2', 403);
    const published = await expectStatus('post', `/submissions/${id}/publish`, 'admin', 200);
    assert.equal(published.body.state, 'published');
    const revoke = { tag: '1.0', reason: 'test' };
    await expectStatus(
      'post',
      '/repositories/store.test/acme/authz/revocations',
      'rev1',
      403,
      revoke
    );
    await expectStatus(
      'post',
      '/repositories/store.test/acme/authz/revocations',
      'acme',
      403,
      revoke
    );
    await expectStatus('post', '/repositories/store.test/acme/authz/revocations', 'admin', 400, {
      tag: '1.0',
    });
    await expectStatus(
      'post',
      '/repositories/store.test/acme/none/revocations',
      'admin',
      404,
      revoke
    );
    await expectStatus(
      'post',
      '/repositories/store.test/acme/authz/revocations',
      'admin',
      200,
      revoke
    );
  });

  it('the audit log: admins only', async () => {
    for (const who of ['acme', 'rev1']) {
      await expectStatus('get', '/audit', who, 403);
      await expectStatus('get', '/audit/verify', who, 403);
    }
    await expectStatus('get', '/audit?since=yesterday', 'admin', 400);
    const since = await expectStatus(
      'get',
      `/audit?since=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`,
      'admin',
      200
    );
    assert.deepEqual(since.body.entries, []);
  });
});
