/**
 * The review UI in process (supertest, an injected clock), for what a browser test cannot reach
 * cheaply: every bad input gets a precise 4xx page and changes nothing, the idle timeout and
 * logout across requests, the login rate limits, escaping of hostile notes, and the headers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { image, PASSWORD, StagingRepo, startStore, type StoreApp } from '../store/fixture.js';

const GUN = 'staging.store.test/acme/ui';

/** `name=value` of a Set-Cookie header, for the next request's Cookie header. */
function cookieOf(res: { headers: Record<string, unknown> }, name: string): string | undefined {
  const set = (res.headers['set-cookie'] as string[] | undefined) ?? [];
  const line = set.find((c) => c.startsWith(`${name}=`));
  return line?.split(';')[0];
}

const csrfIn = (html: string): string => /name="csrf" value="([^"]+)"/.exec(html)![1]!;

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

  /** Logs in through the form; returns the session's Cookie header and CSRF token. */
  async function login(
    user: string,
    password = PASSWORD
  ): Promise<{ cookie: string; csrf: string }> {
    const form = await s.http.get('/ui/login').expect(200);
    const pre = cookieOf(form, 'countersign-login')!;
    const res = await s.http
      .post('/ui/login')
      .set('Cookie', pre)
      .type('form')
      .send({ csrf: csrfIn(form.text), username: user, password });
    assert.equal(res.status, 303, res.text);
    const cookie = cookieOf(res, 'countersign-ui')!;
    const page = await s.http.get(`/ui/submissions/${id}`).set('Cookie', cookie).expect(200);
    return { cookie, csrf: csrfIn(page.text) };
  }

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
