/**
 * The review UI in process (supertest, an injected clock), for what a browser test cannot reach
 * cheaply: every bad input gets a precise 4xx page and changes nothing, the idle timeout and
 * logout across requests, the login rate limits, escaping of hostile notes, and the headers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { StoredJob } from '../../src/storage/work-types.js';
import { escapeHtml } from '../../src/ui/html.js';
import { image, PASSWORD, StagingRepo, startStore, type StoreApp } from '../store/fixture.js';

const GUN = 'staging.store.test/acme/ui';

/** `name=value` of a Set-Cookie header, for the next request's Cookie header. */
function cookieOf(res: { headers: Record<string, unknown> }, name: string): string | undefined {
  const set = (res.headers['set-cookie'] as string[] | undefined) ?? [];
  const line = set.find((c) => c.startsWith(`${name}=`));
  return line?.split(';')[0];
}

const csrfIn = (html: string): string => /name="csrf" value="([^"]+)"/.exec(html)![1]!;

/** Logs in through the form; returns the session's Cookie header and CSRF token. */
async function uiLogin(s: StoreApp, user: string): Promise<{ cookie: string; csrf: string }> {
  const form = await s.http.get('/ui/login').expect(200);
  const pre = cookieOf(form, 'countersign-login')!;
  const res = await s.http
    .post('/ui/login')
    .set('Cookie', pre)
    .type('form')
    .send({ csrf: csrfIn(form.text), username: user, password: PASSWORD });
  assert.equal(res.status, 303, res.text);
  const cookie = cookieOf(res, 'countersign-ui')!;
  // The logout form of every page carries the session's token.
  const page = await s.http.get('/ui/').set('Cookie', cookie).expect(200);
  return { cookie, csrf: csrfIn(page.text) };
}

/** A new verified submission of `gun:1.0` by acme; its id. */
async function submitted(s: StoreApp, gun: string): Promise<string> {
  const repo = await StagingRepo.create(s.app.storage, gun);
  await repo.push({ releases: [image('1.0', gun)] });
  const res = await s.http
    .post('/api/v1/submissions')
    .set('Authorization', s.auth('acme'))
    .send({ gun, tag: '1.0' })
    .expect(201);
  assert.equal(res.body.state, 'verified');
  return res.body.id as string;
}

const JOB_PATH = /^\/ui\/jobs\/job_[0-9a-f]{32}$/;

/** Posts a form that starts a job; the job's page path (the 303's Location). */
async function startJob(
  s: StoreApp,
  who: { cookie: string; csrf: string },
  path: string,
  body: Record<string, string> = {}
): Promise<string> {
  const res = await s.http
    .post(path)
    .set('Cookie', who.cookie)
    .type('form')
    .send({ csrf: who.csrf, ...body });
  assert.equal(res.status, 303, res.text);
  assert.match(res.headers.location as string, JOB_PATH);
  return res.headers.location as string;
}

/** Polls the job's progress answer (as the page's script does) until it ended; then its page. */
async function jobEnded(s: StoreApp, cookie: string, jobPath: string): Promise<string> {
  for (let i = 0; i < 400; i++) {
    const p = await s.http.get(`${jobPath}/progress`).set('Cookie', cookie).expect(200);
    if (p.body.state !== 'running') {
      const page = await s.http.get(jobPath).set('Cookie', cookie).expect(200);
      assert.match(page.headers['content-security-policy'] as string, /script-src 'self'/);
      // The page says what the progress answer said (markup aside).
      const words = page.text.replace(/<[^>]*>/g, '').replace(/\s+/g, ' ');
      assert.ok(words.includes(escapeHtml(p.body.text as string)), p.body.text as string);
      return page.text;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${jobPath} did not end within 10 s`);
}

describe('review UI over HTTP', () => {
  let s: StoreApp;
  let id: string;

  before(async () => {
    s = await startStore(
      {},
      { extra: { auth: { loginLimits: { perAccount: { maxFailures: 3, window: '15m' } } } } }
    );
    const repo = await StagingRepo.create(s.app.storage, GUN);
    await repo.push({ releases: [image('1.0', 'u')] });
    const res = await s.http
      .post('/api/v1/submissions')
      .set('Authorization', s.auth('acme'))
      .send({ gun: GUN, tag: '1.0' })
      .expect(201);
    id = res.body.id as string;
  });
  after(() => s.close());

  const login = (user: string) => uiLogin(s, user);

  it('sends a page request without a session to the login form, with the strict headers', async () => {
    const res = await s.http.get('/ui/').expect(303);
    assert.equal(res.headers.location, '/ui/login');
    assert.match(
      res.headers['content-security-policy'] as string,
      /default-src 'none'; script-src 'none'/
    );
    assert.equal(res.headers['x-frame-options'], 'DENY');
    const css = await s.http.get('/ui/assets/ui.css').expect(200);
    assert.match(css.headers['content-type'] as string, /^text\/css/);
    // Over plain HTTP the cookie has no Secure flag and no __Host- prefix, but the rest holds.
    const form = await s.http.get('/ui/login').expect(200);
    const set = (form.headers['set-cookie'] as unknown as string[])[0]!;
    assert.match(
      set,
      /^countersign-login=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=900$/
    );
  });

  it('refuses a login form without its pre-session token, and a wrong password, with nothing started', async () => {
    const noToken = await s.http
      .post('/ui/login')
      .type('form')
      .send({ username: 'rev1', password: PASSWORD });
    assert.equal(noToken.status, 403);
    assert.equal(cookieOf(noToken, 'countersign-ui'), undefined);
    const form = await s.http.get('/ui/login');
    const wrong = await s.http
      .post('/ui/login')
      .set('Cookie', cookieOf(form, 'countersign-login')!)
      .type('form')
      .send({ csrf: csrfIn(form.text), username: 'rev2', password: 'not it' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /Wrong account name or password/);
    assert.equal(cookieOf(wrong, 'countersign-ui'), undefined);
  });

  it('applies the auth layer\u2019s login limits: 429 with Retry-After after the failures allowed', async () => {
    let last = 0;
    let retryAfter: unknown;
    for (let i = 0; i < 4; i++) {
      const form = await s.http.get('/ui/login');
      const r = await s.http
        .post('/ui/login')
        .set('Cookie', cookieOf(form, 'countersign-login')!)
        .type('form')
        .send({ csrf: csrfIn(form.text), username: 'other', password: `guess ${i}` });
      last = r.status;
      retryAfter = r.headers['retry-after'];
    }
    assert.equal(last, 429);
    assert.match(String(retryAfter), /^\d+$/);
  });

  it('answers bad input with a 4xx page and changes nothing', async () => {
    const { cookie, csrf } = await login('rev1');
    const get = (path: string) => s.http.get(path).set('Cookie', cookie);
    assert.equal((await get('/ui/submissions/..%2F..%2Fetc')).status, 404);
    assert.equal((await get('/ui/submissions/AAAAAAAAAAAAAAAAAAAAAA')).status, 404);
    assert.equal(
      (await get('/ui/trust/repository?gun=staging.store.test%2Facme%2Fui')).status,
      404
    );
    assert.equal((await get('/ui/trust/repository?gun[]=x')).status, 404);
    assert.equal((await get('/ui/?state=%3Cscript%3E&age=9y&mine=1&gun=%00')).status, 200);
    assert.equal((await get('/ui/nowhere')).status, 404);
    const post = (path: string, body: Record<string, string>) =>
      s.http
        .post(path)
        .set('Cookie', cookie)
        .type('form')
        .send({ csrf, ...body });
    assert.equal((await post(`/ui/submissions/${id}/review`, { decision: 'maybe' })).status, 400);
    assert.equal((await post(`/ui/submissions/${id}/review`, { decision: 'reject' })).status, 400);
    assert.equal(
      (await post(`/ui/submissions/${id}/waive`, { check: 'size', reason: '' })).status,
      400
    );
    const huge = await post(`/ui/submissions/${id}/review`, {
      decision: 'approve',
      note: 'x'.repeat(40_000),
    });
    assert.equal(huge.status, 413);
    const sub = await s.http
      .get(`/api/v1/submissions/${id}`)
      .set('Authorization', s.auth('admin'))
      .expect(200);
    assert.deepEqual(sub.body.reviews, []);
    assert.equal(sub.body.state, 'verified');
  });

  it('shows a hostile note as text', async () => {
    const { cookie, csrf } = await login('rev2');
    const res = await s.http
      .post(`/ui/submissions/${id}/review`)
      .set('Cookie', cookie)
      .type('form')
      .send({
        csrf,
        decision: 'reject',
        note: '"><script>alert(1)</script><img src=x onerror=alert(2)>',
      });
    assert.equal(res.status, 303);
    const page = await s.http.get(`/ui/submissions/${id}`).set('Cookie', cookie).expect(200);
    assert.equal(/<script|<img/i.test(page.text), false);
    assert.ok(
      page.text.includes(
        '&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;'
      )
    );
    assert.match(page.text, /<strong>rejected<\/strong>/);
    assert.match(page.text, /No registry is configured for this zone/);
  });

  it('ends a session after 30 idle minutes on the injected clock, and at logout', async () => {
    const a = await login('rev1');
    s.clock.advance(29 * 60_000);
    const alive = await s.http.get('/ui/').set('Cookie', a.cookie).expect(200);
    const rotated = cookieOf(alive, 'countersign-ui');
    assert.ok(rotated && rotated !== a.cookie, 'activity rotates the token');
    assert.equal(
      (await s.http.get('/ui/').set('Cookie', a.cookie)).status,
      303,
      'the old token stops'
    );
    s.clock.advance(30 * 60_000);
    assert.equal((await s.http.get('/ui/').set('Cookie', rotated)).status, 303);

    const b = await login('rev1');
    const noCsrf = await s.http.post('/ui/logout').set('Cookie', b.cookie).type('form').send({});
    assert.equal(noCsrf.status, 403);
    await s.http
      .post('/ui/logout')
      .set('Cookie', b.cookie)
      .type('form')
      .send({ csrf: b.csrf })
      .expect(303);
    assert.equal((await s.http.get('/ui/').set('Cookie', b.cookie)).status, 303);
  });
});

describe('review UI: long work runs as jobs', () => {
  let s: StoreApp;
  before(async () => {
    s = await startStore({});
  });
  after(() => s.close());

  it('an approval that completes the quorum publishes in a job; its page ends on the public repository', async () => {
    const id = await submitted(s, 'staging.store.test/acme/jobs');
    const rev1 = await uiLogin(s, 'rev1');
    const job = await startJob(s, rev1, `/ui/submissions/${id}/review`, {
      decision: 'approve',
      note: 'fine',
    });
    const page = await jobEnded(s, rev1.cookie, job);
    assert.match(page, /<title>Approval and publish: published · Countersign<\/title>/);
    assert.match(
      page,
      /Published<\/span>\s+store\.test\/acme\/jobs:1\.0 into\s+<a href="\/ui\/trust\/repository\?gun=store\.test%2Facme%2Fjobs">store\.test\/acme\/jobs<\/a>/
    );
    assert.ok(page.includes(`href="/ui/submissions/${id}">staging.store.test/acme/jobs:1.0</a>`));
    // No script on a page of an ended job: there is nothing left to follow.
    assert.equal(page.includes('<script'), false);
    // The same job over the API, for its owner: the submission the synchronous answer carries.
    const api = await s.http
      .get(`/api/v1/jobs/${job.split('/').at(-1)!}`)
      .set('Authorization', s.auth('rev1'))
      .expect(200);
    assert.deepEqual(
      [api.body.kind, api.body.state, api.body.result.state, api.body.result.approvalsRequired],
      ['review', 'succeeded', 'published', 1]
    );
    // A job of a submission is read by whoever may read the submission: another reviewer, its
    // publisher, admins (page and progress); a publisher of another namespace finds no such job.
    for (const user of ['rev2', 'acme', 'admin']) {
      const { cookie } = await uiLogin(s, user);
      assert.match((await s.http.get(job).set('Cookie', cookie).expect(200)).text, /Published/);
      const progress = await s.http.get(`${job}/progress`).set('Cookie', cookie).expect(200);
      assert.equal((progress.body as { state?: string }).state, 'ended', user);
    }
    const other = await uiLogin(s, 'other');
    const hidden = await s.http.get(job).set('Cookie', other.cookie);
    assert.equal(hidden.status, 404);
    assert.match(hidden.text, /No such job \(or you may not see it\)\./);
    assert.equal(hidden.text.includes('Approval and publish'), false);
    assert.equal((await s.http.get(`${job}/progress`).set('Cookie', other.cookie)).status, 404);
  });

  it('a refused re-verification ends the job failed with the store\u2019s error and changes nothing', async () => {
    const id = await submitted(s, 'staging.store.test/acme/refused');
    const rev1 = await uiLogin(s, 'rev1');
    await jobEnded(
      s,
      rev1.cookie,
      await startJob(s, rev1, `/ui/submissions/${id}/review`, { decision: 'approve' })
    );
    const acme = await uiLogin(s, 'acme');
    const before = await s.http
      .get(`/api/v1/submissions/${id}`)
      .set('Authorization', s.auth('admin'))
      .expect(200);
    assert.equal(before.body.state, 'published');
    // A published submission offers no re-verification; the form posted anyway starts a job
    // that the store refuses.
    const subPage = await s.http.get(`/ui/submissions/${id}`).set('Cookie', acme.cookie);
    assert.doesNotMatch(subPage.text, /Verify again/);
    const job = await startJob(s, acme, `/ui/submissions/${id}/verify`);
    const page = await jobEnded(s, acme.cookie, job);
    assert.match(page, /<title>Verification: failed · Countersign<\/title>/);
    assert.match(
      page,
      /role="alert"[\s\S]*Failed<\/span>\s+\(conflict\): a published submission is not verified again/
    );
    const after = await s.http
      .get(`/api/v1/submissions/${id}`)
      .set('Authorization', s.auth('admin'))
      .expect(200);
    assert.deepEqual(after.body, before.body);
  });

  it('the publisher verifies again before any review, in a job; reviewers are not offered it', async () => {
    const id = await submitted(s, 'staging.store.test/acme/again');
    const rev1 = await uiLogin(s, 'rev1');
    const reviewerPage = await s.http.get(`/ui/submissions/${id}`).set('Cookie', rev1.cookie);
    assert.doesNotMatch(reviewerPage.text, /Verify again/);
    const acme = await uiLogin(s, 'acme');
    const own = await s.http.get(`/ui/submissions/${id}`).set('Cookie', acme.cookie);
    assert.match(own.text, /<button type="submit">\s*Verify again\s*<\/button>/);
    const job = await startJob(s, acme, `/ui/submissions/${id}/verify`);
    const page = await jobEnded(s, acme.cookie, job);
    assert.match(page, /<title>Verification: finished · Countersign<\/title>/);
    assert.match(page, /Verification finished: the submission is verified\./);
    assert.ok(page.includes(`<a href="/ui/submissions/${id}">Back to the submission</a>`));
  });

  it('refuses bad job ids, other accounts\u2019 submissions and forms without the CSRF token, starting nothing', async () => {
    const id = await submitted(s, 'staging.store.test/acme/bad');
    const rev1 = await uiLogin(s, 'rev1');
    const get = (path: string) => s.http.get(path).set('Cookie', rev1.cookie);
    assert.equal((await get('/ui/jobs/nope')).status, 404);
    assert.equal((await get(`/ui/jobs/job_${'0'.repeat(32)}`)).status, 404);
    assert.equal((await get(`/ui/jobs/job_${'0'.repeat(32)}/progress`)).status, 404);
    assert.equal((await s.http.get(`/ui/jobs/job_${'0'.repeat(32)}`)).status, 303);
    const noCsrf = await s.http
      .post(`/ui/submissions/${id}/publish`)
      .set('Cookie', rev1.cookie)
      .type('form')
      .send({});
    assert.equal(noCsrf.status, 403);
    // Another publisher: refused before any job, as the submission's page is.
    const other = await uiLogin(s, 'other');
    const foreign = await s.http
      .post(`/ui/submissions/${id}/verify`)
      .set('Cookie', other.cookie)
      .type('form')
      .send({ csrf: other.csrf });
    assert.equal(foreign.status, 403);
    const missing = await s.http
      .post('/ui/submissions/AAAAAAAAAAAAAAAAAAAAAA/publish')
      .set('Cookie', rev1.cookie)
      .type('form')
      .send({ csrf: rev1.csrf });
    assert.equal(missing.status, 404);
    const script = await s.http.get('/ui/assets/job.js').expect(200);
    assert.match(script.headers['content-type'] as string, /^text\/javascript/);
    const sub = await s.http
      .get(`/api/v1/submissions/${id}`)
      .set('Authorization', s.auth('admin'))
      .expect(200);
    assert.equal(sub.body.state, 'verified');
    assert.deepEqual(sub.body.reviews, []);
  });
});

describe('review UI: an admin publishes an approved submission (autoPublish off)', () => {
  let s: StoreApp;
  before(async () => {
    s = await startStore({ autoPublish: false });
  });
  after(() => s.close());

  it('the approval answers at once; the admin\u2019s Publish runs as a job and ends published', async () => {
    const id = await submitted(s, 'staging.store.test/acme/manual');
    const rev1 = await uiLogin(s, 'rev1');
    const approved = await s.http
      .post(`/ui/submissions/${id}/review`)
      .set('Cookie', rev1.cookie)
      .type('form')
      .send({ csrf: rev1.csrf, decision: 'approve' });
    // Without autoPublish the approval publishes nothing: back to the submission, no job.
    assert.equal(approved.status, 303);
    assert.equal(approved.headers.location, `/ui/submissions/${id}`);
    const reviewerPage = await s.http.get(`/ui/submissions/${id}`).set('Cookie', rev1.cookie);
    assert.match(reviewerPage.text, /<strong>approved<\/strong>/);
    assert.doesNotMatch(reviewerPage.text, />\s*Publish\s*<\/button>/);
    // A reviewer posting the publish form anyway: the store refuses it inside the job.
    const refused = await jobEnded(
      s,
      rev1.cookie,
      await startJob(s, rev1, `/ui/submissions/${id}/publish`)
    );
    assert.match(refused, /Failed<\/span>\s+\(forbidden\)/);
    const admin = await uiLogin(s, 'admin');
    const adminPage = await s.http.get(`/ui/submissions/${id}`).set('Cookie', admin.cookie);
    assert.match(adminPage.text, /Approved and not\s+published/);
    assert.match(adminPage.text, /<button type="submit">\s*Publish\s*<\/button>/);
    const job = await startJob(s, admin, `/ui/submissions/${id}/publish`);
    const page = await jobEnded(s, admin.cookie, job);
    assert.match(page, /<title>Publish: published · Countersign<\/title>/);
    assert.match(page, /Published<\/span>\s+store\.test\/acme\/manual:1\.0 into/);
    const sub = await s.http
      .get(`/api/v1/submissions/${id}`)
      .set('Authorization', s.auth('admin'))
      .expect(200);
    assert.equal(sub.body.state, 'published');
  });
});

describe("review UI: a submission's jobs, for whom may read them", () => {
  let s: StoreApp;
  before(async () => {
    s = await startStore({});
  });
  after(() => s.close());

  /** A job row as another instance's running work would leave it (owner, kind, state given). */
  async function stored(
    submission: string | null,
    owner: string,
    kind: string,
    o: { running?: boolean; createdAt?: number; progress?: Record<string, unknown> } = {}
  ): Promise<string> {
    const at = o.createdAt ?? s.clock.now().getTime();
    const job: StoredJob = {
      id: `job_${randomBytes(16).toString('hex')}`,
      kind,
      owner,
      submission,
      state: o.running === false ? 'failed' : 'running',
      progress: o.progress ?? {},
      result: null,
      error: o.running === false ? { code: 'conflict', message: 'stored by the test' } : null,
      createdAt: at,
      updatedAt: at,
      heartbeatAt: s.clock.now().getTime(),
      finishedAt: o.running === false ? at : null,
    };
    await s.app.storage.jobs.insert(job);
    return job.id;
  }

  /** The job ids the Jobs section of the page lists, in page order. */
  function jobsListed(page: string): string[] {
    const start = page.indexOf('<h2 id="jobs">Jobs</h2>');
    assert.ok(start > 0, 'the page has its Jobs section, with its heading');
    const section = page.slice(start, page.indexOf('<h2>Decision</h2>', start));
    return [...section.matchAll(/<th scope="row"><a href="\/ui\/jobs\/(job_[0-9a-f]{32})">/g)].map(
      (m) => m[1]!
    );
  }

  /** The queue's row of a submission. */
  function queueRow(page: string, id: string): string {
    const row = page.split('<tr>').find((r) => r.includes(`href="/ui/submissions/${id}"`));
    assert.ok(row, `the queue lists ${id}`);
    return row.slice(0, row.indexOf('</tr>'));
  }

  it('lists every reader of the submission all its jobs, newest first; the queue marks running ones', async () => {
    const id = await submitted(s, 'staging.store.test/acme/listed');
    const acme = await uiLogin(s, 'acme');
    const verify = (await startJob(s, acme, `/ui/submissions/${id}/verify`)).split('/').at(-1)!;
    await jobEnded(s, acme.cookie, `/ui/jobs/${verify}`);
    s.clock.advance(1000);
    const rev1 = await uiLogin(s, 'rev1');
    const review = (
      await startJob(s, rev1, `/ui/submissions/${id}/review`, { decision: 'approve' })
    )
      .split('/')
      .at(-1)!;
    await jobEnded(s, rev1.cookie, `/ui/jobs/${review}`);
    s.clock.advance(1000);
    const t = s.clock.now().getTime();
    // The store's healthcheck run, then an admin's publish: jobs of the submission like the rest.
    const healthcheck = await stored(id, 'countersign', 'healthcheck', {
      createdAt: t,
      progress: { phase: 'healthcheck', text: 'platform 1/1 linux/amd64: probe 2' },
    });
    const publish = await stored(id, 'admin', 'publish', { createdAt: t + 1 });
    // Another submission's running verification, started by acme.
    const other = await submitted(s, 'staging.store.test/acme/elsewhere');
    const elsewhere = await stored(other, 'acme', 'verify', { createdAt: t + 2 });

    const page = async (who: { cookie: string }) =>
      (await s.http.get(`/ui/submissions/${id}`).set('Cookie', who.cookie).expect(200)).text;
    const [rev2, admin] = [await uiLogin(s, 'rev2'), await uiLogin(s, 'admin')];
    // Whoever may read the submission reads every job of it, whoever started the job: the
    // publisher, each reviewer (rev2 started none), admins.
    const all = [publish, healthcheck, review, verify];
    for (const who of [admin, acme, rev1, rev2]) assert.deepEqual(jobsListed(await page(who)), all);
    // A publisher of another namespace: refused the page, and no job of it answers.
    const other2 = await uiLogin(s, 'other');
    assert.equal(
      (await s.http.get(`/ui/submissions/${id}`).set('Cookie', other2.cookie)).status,
      403
    );
    for (const job of all) {
      assert.equal((await s.http.get(`/ui/jobs/${job}`).set('Cookie', other2.cookie)).status, 404);
      const api = await s.http.get(`/api/v1/jobs/${job}`).set('Authorization', s.auth('other'));
      assert.equal(api.status, 404, job);
    }
    for (const user of ['rev2', 'acme'])
      await s.http.get(`/api/v1/jobs/${publish}`).set('Authorization', s.auth(user)).expect(200);

    // The store API lists the same jobs by the same rule (and its answers match the OpenAPI
    // description: the fixture checks every exchange).
    const apiJobs = async (user: string, query = '') => {
      const res = await s.http
        .get(`/api/v1/submissions/${id}/jobs${query}`)
        .set('Authorization', s.auth(user));
      return { status: res.status, body: res.body as { jobs?: { id: string }[]; error?: unknown } };
    };
    const apiIds = async (user: string, query = '') =>
      ((await apiJobs(user, query)).body.jobs ?? []).map((j) => j.id);
    for (const user of ['admin', 'acme', 'rev1', 'rev2']) assert.deepEqual(await apiIds(user), all);
    assert.deepEqual(await apiIds('admin', '?limit=2'), [publish, healthcheck]);
    assert.equal((await apiJobs('other')).status, 403);
    for (const bad of ['?limit=0', '?limit=101', '?limit=x', '?limit=1.5']) {
      const r = await apiJobs('admin', bad);
      assert.equal(r.status, 400, bad);
      assert.match(JSON.stringify(r.body.error), /limit must be an integer from 1 to 100/);
    }
    const missing = await s.http
      .get('/api/v1/submissions/AAAAAAAAAAAAAAAAAAAAAA/jobs')
      .set('Authorization', s.auth('admin'));
    assert.equal(missing.status, 404);
    assert.equal((await s.http.get(`/api/v1/submissions/${id}/jobs`)).status, 401);

    // What a row says: the kind in the job page's words, running or how it ended, who, when.
    const adminPage = await page(admin);
    assert.match(
      adminPage,
      /<caption class="muted">\s*The newest jobs you may see, newest\s+first; 2 running\s*<\/caption>/
    );
    const row = (job: string) => {
      const at = adminPage.indexOf(`<th scope="row"><a href="/ui/jobs/${job}">`);
      return adminPage.slice(adminPage.lastIndexOf('<tr', at), adminPage.indexOf('</tr>', at));
    };
    assert.match(
      row(publish),
      /<tr class="job-running">[\s\S]*>Publish<\/a>[\s\S]*<strong class="running">Running: waiting for the first blob\.<\/strong>[\s\S]*<td>admin<\/td>[\s\S]*not yet/
    );
    assert.match(
      row(healthcheck),
      /Health check run<\/a>[\s\S]*Running the image in the sandbox: platform 1\/1 linux\/amd64: probe 2\./
    );
    assert.match(
      row(review),
      /<tr class="job-ended">[\s\S]*Approval and publish<\/a>[\s\S]*Ended: <span class="pass">Published store\.test\/acme\/listed:1\.0 into store\.test\/acme\/listed \(targets version \d+\)\.<\/span>[\s\S]*<td>rev1<\/td>/
    );
    assert.match(
      row(verify),
      /Verification<\/a>[\s\S]*Ended: Verification finished: the submission is verified\.[\s\S]*<td>acme<\/td>[\s\S]*<time datetime="[^"]+">[\s\S]*<time datetime="[^"]+">/
    );
    // While one runs, the top of the page says so, with the link, before anything else.
    assert.match(
      adminPage,
      /id="jobs-running"[\s\S]*Running now:[\s\S]*href="\/ui\/jobs\/[^"]+">Publish<\/a>, started by admin/
    );
    assert.ok(adminPage.indexOf('Running now:') < adminPage.indexOf('<dt>State</dt>'));

    // The queue: the newest running job each viewer may read, linked from its submission's row.
    const queue = async (who: { cookie: string }) =>
      (await s.http.get('/ui/').set('Cookie', who.cookie).expect(200)).text;
    const adminQueue = await queue(admin);
    assert.match(
      queueRow(adminQueue, id),
      new RegExp(`<a class="running" href="/ui/jobs/${publish}">publishing…</a>`)
    );
    assert.match(
      queueRow(adminQueue, other),
      new RegExp(`href="/ui/jobs/${elsewhere}">verifying…</a>`)
    );
    // A reviewer sees the work others run on what it reviews; so does the publisher.
    for (const who of [rev2, acme]) {
      const marked = await queue(who);
      assert.match(queueRow(marked, id), new RegExp(`href="/ui/jobs/${publish}">publishing…</a>`));
      assert.match(queueRow(marked, other), new RegExp(`href="/ui/jobs/${elsewhere}">verifying…`));
    }
    // A publisher of another namespace: neither the submissions nor a mark of their jobs.
    const otherQueue = await queue(other2);
    for (const job of [publish, healthcheck, elsewhere])
      assert.equal(otherQueue.includes(job), false);

    // Once nothing runs, neither the queue nor the page's top says anything is running.
    for (const j of [publish, healthcheck, elsewhere])
      assert.ok(
        await s.app.storage.jobs.update(j, {
          at: t + 5,
          state: 'failed',
          error: { code: 'conflict' },
        })
      );
    assert.doesNotMatch(await queue(admin), /class="running"/);
    const quiet = await page(admin);
    assert.doesNotMatch(quiet, /Running now:|<tr class="job-running">/);
    assert.equal(jobsListed(quiet).length, 4);
  });

  it('a job tied to no submission, or naming one that does not exist, is read by its starter and admins only', async () => {
    const loose = await stored(null, 'rev1', 'verify', { running: false });
    const dangling = await stored('AAAAAAAAAAAAAAAAAAAAAA', 'rev1', 'verify', { running: false });
    const cookies = new Map<string, string>();
    for (const user of ['rev1', 'admin', 'rev2', 'acme', 'other'])
      cookies.set(user, (await uiLogin(s, user)).cookie);
    for (const job of [loose, dangling]) {
      const statuses = async (user: string) => [
        (await s.http.get(`/api/v1/jobs/${job}`).set('Authorization', s.auth(user))).status,
        (await s.http.get(`/ui/jobs/${job}`).set('Cookie', cookies.get(user)!)).status,
        (await s.http.get(`/ui/jobs/${job}/progress`).set('Cookie', cookies.get(user)!)).status,
      ];
      for (const user of ['rev1', 'admin'])
        assert.deepEqual(await statuses(user), [200, 200, 200], `${user} reads ${job}`);
      for (const user of ['rev2', 'acme', 'other'])
        assert.deepEqual(await statuses(user), [404, 404, 404], `${user} does not read ${job}`);
    }
  });

  it('shows at most 20 jobs, the newest (another reviewer\u2019s too), and says so when there are none', async () => {
    const id = await submitted(s, 'staging.store.test/acme/many');
    const rev2 = await uiLogin(s, 'rev2');
    const none = (await s.http.get(`/ui/submissions/${id}`).set('Cookie', rev2.cookie).expect(200))
      .text;
    assert.deepEqual(jobsListed(none), []);
    assert.match(none, /<h2 id="jobs">Jobs<\/h2>\s*<p class="muted">No jobs you may see\.<\/p>/);
    const t = s.clock.now().getTime();
    const ids: string[] = [];
    for (let i = 0; i < 25; i++)
      ids.push(await stored(id, 'rev1', 'verify', { running: false, createdAt: t + i }));
    const page = (await s.http.get(`/ui/submissions/${id}`).set('Cookie', rev2.cookie).expect(200))
      .text;
    assert.deepEqual(jobsListed(page), ids.slice(5).reverse());
    assert.match(page, /The newest 20 jobs you may see/);
  });
});
