/**
 * The store API and the token endpoint under malformed and hostile requests: every one gets a
 * 4xx with the error shape, none a 5xx, and nothing is stored.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startStore, type StoreApp } from './fixture.js';

describe('store API: hostile input', () => {
  let s: StoreApp;
  before(async () => {
    s = await startStore();
  });
  after(() => s.close());

  const cases: {
    name: string;
    send: (s: StoreApp) => Promise<{ status: number; body: unknown; text: string }>;
  }[] = [
    {
      name: 'malformed JSON',
      send: (s) =>
        s.http
          .post('/api/v1/submissions')
          .set('Authorization', s.auth('admin'))
          .set('Content-Type', 'application/json')
          .send('{bad'),
    },
    {
      name: 'a JSON array',
      send: (s) =>
        s.http.post('/api/v1/submissions').set('Authorization', s.auth('admin')).send([1, 2]),
    },
    {
      name: 'not JSON at all',
      send: (s) =>
        s.http
          .post('/api/v1/submissions')
          .set('Authorization', s.auth('admin'))
          .set('Content-Type', 'text/plain')
          .send('x'),
    },
    {
      name: 'a body over the cap',
      send: (s) =>
        s.http
          .post('/api/v1/submissions')
          .set('Authorization', s.auth('admin'))
          .set('Content-Type', 'application/json')
          .send(`{"gun":"${'a'.repeat(3_000_000)}"}`),
    },
    {
      name: 'a GUN with path tricks',
      send: (s) =>
        s.http
          .post('/api/v1/submissions')
          .set('Authorization', s.auth('admin'))
          .send({ gun: 'staging.store.test/../x', tag: '1' }),
    },
    {
      name: 'a GUN of the wrong type',
      send: (s) =>
        s.http
          .post('/api/v1/submissions')
          .set('Authorization', s.auth('admin'))
          .send({ gun: 5, tag: {} }),
    },
    {
      name: 'an id that does not decode',
      send: (s) => s.http.get('/api/v1/submissions/%ff%00').set('Authorization', s.auth('admin')),
    },
    {
      name: 'an unknown id',
      send: (s) => s.http.get('/api/v1/submissions/nope').set('Authorization', s.auth('admin')),
    },
    {
      name: 'a review with an unknown decision',
      send: (s) =>
        s.http
          .post('/api/v1/submissions/nope/reviews')
          .set('Authorization', s.auth('rev1'))
          .send({ decision: 'maybe' }),
    },
    {
      name: 'malformed Basic credentials',
      send: (s) => s.http.get('/api/v1/whoami').set('Authorization', 'Basic !!!'),
    },
    {
      name: 'a garbage bearer token',
      send: (s) => s.http.get('/api/v1/whoami').set('Authorization', 'Bearer a.b.c'),
    },
    {
      name: 'a revocation without a tag',
      send: (s) =>
        s.http
          .post('/api/v1/repositories/store.test/acme/x/revocations')
          .set('Authorization', s.auth('admin'))
          .send({ reason: 'r' }),
    },
    {
      name: 'an audit query with a bad time',
      send: (s) =>
        s.http.get('/api/v1/audit?since=yesterday').set('Authorization', s.auth('admin')),
    },
    { name: 'an unknown route', send: (s) => s.http.get('/api/v1/../../etc/passwd') },
    {
      name: 'a token request with a control character in the scope',
      send: (s) => s.http.get('/auth/token?service=x&scope=repository:%00:pull'),
    },
  ];

  for (const c of cases) {
    it(`${c.name}: a 4xx with the error shape`, async () => {
      const res = await c.send(s);
      assert.ok(
        res.status >= 400 && res.status < 500,
        `${c.name}: status ${res.status} ${res.text.slice(0, 200)}`
      );
      assert.ok(
        /"error(s)?"\s*:/.test(res.text) || res.status === 404 || res.status === 301,
        `${c.name}: body ${res.text.slice(0, 200)}`
      );
    });
  }

  it('stored nothing', async () => {
    assert.deepEqual(await s.app.storage.submissions.list({}), []);
  });
});
