/**
 * Long store work as jobs (docs/store.md "Jobs"), in process with a real registry
 * (docker-registry 2.8; images built with umoci, pushed with skopeo): the staging registry is
 * reached through a proxy that can hold connections unanswered, and the public one directly, so
 * promotion streams every blob (two registries: no mount).
 *
 * - `Prefer: respond-async` on submit, verify and publish answers 202 at once with Location and
 *   the job; the job shows `blobs N/N` progress and ends `succeeded` with what the synchronous
 *   call answers; a refused publish ends `failed` with the code and status the call would give;
 * - a job of a submission is read by whoever may read the submission (its publisher, reviewers,
 *   admins), and a publisher of another namespace finds no such job;
 * - an instance that dies mid-job leaves no job `running`: the next instance's sweep fails it,
 *   and the dead instance's late finish does not bring it back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { SubmissionView } from '../../src/store/submission.js';
import { ManualClock } from '../../src/util/clock.js';
import { ImageLayout } from '../helpers/images.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startStore, type StoreApp } from './fixture.js';
import { buildAndPush, GOOD, signIntoStaging } from './registry-fixture.js';

/** A TCP proxy that, while held, accepts connections and answers nothing until released. */
async function startHoldingProxy(target: string) {
  const [host, port] = target.split(':') as [string, string];
  let holding = false;
  const held: net.Socket[] = [];
  const sockets = new Set<net.Socket>();
  const pipe = (client: net.Socket) => {
    const upstream = net.connect(Number(port), host);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  };
  const server = net.createServer((client) => {
    sockets.add(client);
    if (holding) {
      client.pause();
      held.push(client);
    } else pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    get heldCount() {
      return held.length;
    },
    /** Cuts the open (keep-alive) connections too, so the next request opens a held one. */
    hold() {
      holding = true;
      for (const c of sockets) c.destroy();
      sockets.clear();
    },
    release() {
      holding = false;
      for (const c of held.splice(0)) {
        pipe(c);
        c.resume();
      }
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Job {
  id: string;
  kind: string;
  owner: string;
  state: string;
  submission?: string;
  progress: { phase?: string; blobs?: { done: number; total: number }; text?: string };
  result?: SubmissionView;
  error?: { code: string; status: number; message: string };
}

const SPEC = { ...GOOD, layers: [3000, 5000, 7000] };

describe('store jobs', () => {
  let registry: TestRegistry;
  let layout: ImageLayout;
  let proxy: Awaited<ReturnType<typeof startHoldingProxy>>;
  let s: StoreApp;
  const config = () => ({
    autoPublish: false,
    registries: {
      staging: { url: proxy.url, repositoryPrefix: 'staging/' },
      public: { url: registry.url, repositoryPrefix: 'public/' },
    },
  });
  const jobsConfig = { jobs: { staleAfter: '2s' } };

  before(async () => {
    registry = await startRegistry();
    layout = await ImageLayout.create();
    proxy = await startHoldingProxy(registry.host);
    s = await startStore(config(), { extra: jobsConfig });
  });
  after(async () => {
    await s?.close();
    await proxy?.stop();
    await registry?.stop();
    await layout?.remove();
  });

  const as = (user: string, app = s) => ({ Authorization: app.auth(user) });
  const async = { Prefer: 'respond-async' };
  async function follow(id: string, user = 'acme', app = s): Promise<Job> {
    for (let i = 0; i < 600; i++) {
      const job = (await app.http.get(`/api/v1/jobs/${id}`).set(as(user, app)).expect(200))
        .body as Job;
      if (job.state !== 'running') return job;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`job ${id} still running after 30 s`);
  }
  async function stageImage(name: string): Promise<string> {
    const image = await buildAndPush(layout, registry.host, name, `staging/acme/${name}:1.0`, SPEC);
    const gun = `staging.store.test/acme/${name}`;
    await signIntoStaging(s.app.storage, gun, image.manifest);
    return gun;
  }

  let submission: SubmissionView;

  it('submit with Prefer: respond-async: 202 at once, Location, progress blobs 4/4, the result the synchronous verify gives', async () => {
    const gun = await stageImage('web');
    const res = await s.http
      .post('/api/v1/submissions')
      .set(as('acme'))
      .set(async)
      .send({ gun, tag: '1.0' })
      .expect(202);
    const started = res.body as Job;
    assert.equal(res.headers.location, `/api/v1/jobs/${started.id}`);
    assert.equal(res.headers['preference-applied'], 'respond-async');
    assert.equal(started.kind, 'verify');
    assert.equal(started.state, 'running');
    assert.ok(started.submission);

    const job = await follow(started.id);
    assert.equal(job.state, 'succeeded', JSON.stringify(job));
    assert.equal(job.progress.phase, 'verify');
    assert.deepEqual(job.progress.blobs, { done: 4, total: 4 }); // config and three layers
    assert.match(job.progress.text!, /^blobs 4\/4, 1\d\.\d kB$|^blobs 4\/4, \d+ kB$/);
    submission = job.result!;
    assert.equal(submission.id, started.submission);
    assert.equal(submission.state, 'verified');
    const stored = (
      await s.http.get(`/api/v1/submissions/${submission.id}`).set(as('acme')).expect(200)
    ).body as SubmissionView;
    assert.deepEqual(job.result, stored);

    // The same verification, synchronously: the same checks and state.
    const sync = (
      await s.http.post(`/api/v1/submissions/${submission.id}/verify`).set(as('acme')).expect(200)
    ).body as SubmissionView;
    assert.equal(sync.state, 'verified');
    assert.deepEqual(
      sync.verification.checks.map((c) => [c.name, c.passed, c.detail]),
      submission.verification.checks.map((c) => [c.name, c.passed, c.detail])
    );
  });

  it('a job of a submission is read by its readers, one naming no submission by its starter and admins; another publisher gets 404', async () => {
    const res = await s.http
      .post(`/api/v1/submissions/${submission.id}/verify`)
      .set(as('acme'))
      .set(async)
      .expect(202);
    const id = (res.body as Job).id;
    assert.equal((await follow(id)).state, 'succeeded');
    for (const user of ['admin', 'rev1', 'rev2']) {
      const read = (await s.http.get(`/api/v1/jobs/${id}`).set(as(user)).expect(200)).body as Job;
      assert.deepEqual([read.owner, read.submission], ['acme', submission.id], user);
    }
    assert.equal(
      (await s.http.get(`/api/v1/jobs/${id}`).set(as('other')).expect(404)).body.error.code,
      'not_found'
    );
    // A job started on a submission id that names nothing: its starter reads how it failed,
    // and no one else but admins (there is no submission whose readers could).
    const dangling = await s.http
      .post('/api/v1/submissions/AAAAAAAAAAAAAAAAAAAAAA/verify')
      .set(as('acme'))
      .set(async)
      .expect(202);
    const failed = await follow((dangling.body as Job).id);
    assert.deepEqual([failed.state, failed.error?.code], ['failed', 'not_found']);
    await s.http.get(`/api/v1/jobs/${failed.id}`).set(as('admin')).expect(200);
    for (const user of ['rev1', 'other'])
      await s.http.get(`/api/v1/jobs/${failed.id}`).set(as(user)).expect(404);
    await s.http.get('/api/v1/jobs/job_nothing').set(as('admin')).expect(404);
    await s.http.get(`/api/v1/jobs/${id}`).expect(401);
  });

  it('publish as a job: refused while not approved (409 in the job), then streams 4 blobs and publishes', async () => {
    const early = await s.http
      .post(`/api/v1/submissions/${submission.id}/publish`)
      .set(as('admin'))
      .set(async)
      .expect(202);
    const refused = await follow((early.body as Job).id, 'admin');
    assert.equal(refused.state, 'failed');
    assert.equal(refused.error!.code, 'conflict');
    assert.equal(refused.error!.status, 409);
    assert.match(refused.error!.message, /only an approved submission is published/);

    await s.http
      .post(`/api/v1/submissions/${submission.id}/reviews`)
      .set(as('rev1'))
      .send({ decision: 'approve' })
      .expect(200);
    const res = await s.http
      .post(`/api/v1/submissions/${submission.id}/publish`)
      .set(as('admin'))
      .set(async)
      .expect(202);
    const job = await follow((res.body as Job).id, 'admin');
    assert.equal(job.state, 'succeeded', JSON.stringify(job));
    assert.equal(job.kind, 'publish');
    assert.equal(job.result!.state, 'published');
    assert.equal(job.progress.phase, 'copy');
    assert.deepEqual(job.progress.blobs, { done: 4, total: 4 });
  });

  it('an instance that dies mid-job: the next one fails the job at start; the late finish changes nothing', async () => {
    const gun = await stageImage('slow');
    const first = await s.http
      .post('/api/v1/submissions')
      .set(as('acme'))
      .send({ gun, tag: '1.0' })
      .expect(201);
    proxy.hold();
    const res = await s.http
      .post(`/api/v1/submissions/${(first.body as SubmissionView).id}/verify`)
      .set(as('acme'))
      .set(async)
      .expect(202);
    const id = (res.body as Job).id;
    for (let i = 0; i < 200 && proxy.heldCount === 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.ok(proxy.heldCount > 0, 'the job is waiting for the registry');
    const running = await s.http.get(`/api/v1/jobs/${id}`).set(as('acme')).expect(200);
    assert.equal((running.body as Job).state, 'running');

    // Another instance on the same database, later than the job's last heartbeat by > staleAfter.
    const later = new ManualClock(s.clock.now().getTime() + 3000);
    const next = await startStore(config(), { extra: jobsConfig, dir: s.dir, clock: later });
    try {
      const failed = await follow(id, 'acme', next);
      assert.equal(failed.state, 'failed');
      assert.equal(failed.error!.code, 'unavailable');
      assert.match(failed.error!.message, /interrupted/);
      proxy.release();
      // The first instance finishes its verification after all (audited); the job stays failed.
      await s.app.jobs!.stop(120_000);
      const verified = (
        await s.http.get('/api/v1/audit').set(as('admin')).expect(200)
      ).body.entries.filter(
        (e: { action: string; details: { submission?: string } }) =>
          e.action === 'submission.verified' &&
          e.details.submission === (first.body as SubmissionView).id
      );
      assert.equal(verified.length, 2);
      assert.equal((await follow(id, 'acme', next)).state, 'failed');
    } finally {
      proxy.release();
      await next.close();
    }
  });
});
