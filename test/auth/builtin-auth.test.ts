/**
 * The built-in token service and the Notary API's access control, through the real app
 * (createApp from a config file, SQLite, the server's sealed token key) over HTTP with supertest.
 * What the CLIs do is proven in test/interop/auth-*.test.ts; here every rule of the table in
 * src/auth/policy.ts, every way a token can be bad, rate limiting, refresh tokens and the store
 * API's authentication are driven one request at a time.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import request from 'supertest';
import { validatingRequest } from '../helpers/openapi-check.js';
import { base64UrlEncode, signCompactJws } from '../../src/auth/jws.js';
import { libtrustKeyId } from '../../src/auth/libtrust.js';
import { KeyHolderTokenIssuer, TokenIssuer } from '../../src/auth/token-issuer.js';
import { serverTokenKey } from '../../src/auth/token-key.js';
import { requestPrincipal } from '../../src/http/store-auth.js';
import { ManualClock } from '../../src/util/clock.js';
import { basic, claimsOf, headerOf, makeTestApp, ZONE, type TestApp } from './app-fixture.js';
import { makeCert, makeEcKey } from './pki.js';

const PUBLIC_URL = 'https://notary.example.com:4443';
const SERVICE = 'notary.example.com:4443';
const REALM = `${PUBLIC_URL}/auth/token`;

const PASSWORDS = {
  acme: 'acme password 1',
  other: 'other password 2',
  rev: 'reviewer password 3',
  root: 'admin password 4',
  local: 'local password 5',
  victim: 'victim password 6',
};

const STAGING = 'staging.store.test/acme/web';
const STAGING_OTHER = 'staging.store.test/other/web';
const PUBLIC = 'store.test/acme/web';
const PLAIN = 'example.com/plain/app';

const tuf = (gun: string, file: string) => `/v2/${gun}/_trust/tuf/${file}`;

describe('built-in token auth through the app', () => {
  const clock = new ManualClock('2026-06-01T12:00:00Z');
  let t: TestApp;
  let http: ReturnType<typeof request>;

  /** GET <realm>?service&scope… with optional Basic credentials; returns the response. */
  const tokenResponse = (
    scopes: string[],
    creds?: keyof typeof PASSWORDS | [string, string],
    extra: Record<string, string> = {}
  ) => {
    const q = new URLSearchParams({ service: SERVICE, ...extra });
    for (const s of scopes) q.append('scope', s);
    const req = http.get(`/auth/token?${q.toString()}`);
    if (creds === undefined) return req;
    const [user, pass] = Array.isArray(creds) ? creds : [creds, PASSWORDS[creds]];
    return req.set('Authorization', basic(user, pass));
  };

  const token = async (scopes: string[], creds?: keyof typeof PASSWORDS): Promise<string> => {
    const res = await tokenResponse(scopes, creds);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.token as string;
  };

  const challenge = (gun: string, actions: string, error?: string) =>
    `Bearer realm="${REALM}",service="${SERVICE}",scope="repository:${gun}:${actions}"` +
    (error ? `,error="${error}"` : '');

  before(async () => {
    t = await makeTestApp(
      {
        countersign: {
          store: { zones: [ZONE] },
          auth: {
            loginLimits: {
              perAccount: { maxFailures: 3, window: '15m' },
              perAddress: { maxFailures: 1000, window: '15m' },
            },
          },
        },
      },
      {
        clock,
        flags: { publicUrl: PUBLIC_URL },
        storeRoutes: (router, ctx) => {
          router.get(
            '/test/admin-only',
            ctx.authenticate,
            ctx.requireRole('admin'),
            (_req, res) => {
              res.json({ ok: requestPrincipal(res).name });
            }
          );
        },
      }
    );
    // Answers are checked against the OpenAPI description; the test's own route is not in it.
    http = validatingRequest(t.app.handle, { unchecked: ['/api/v1/test/'] });
    await t.addAccount('acme', 'publisher', PASSWORDS.acme, ['staging.store.test/acme/']);
    await t.addAccount('other', 'publisher', PASSWORDS.other, ['staging.store.test/other/']);
    await t.addAccount('rev', 'reviewer', PASSWORDS.rev);
    await t.addAccount('root', 'admin', PASSWORDS.root);
    await t.addAccount('local', 'publisher', PASSWORDS.local, ['127.0.0.1:5000/acme/']);
    await t.addAccount('victim', 'publisher', PASSWORDS.victim, ['staging.store.test/victim/']);
  });
  after(() => t?.close());

  describe('the challenge', () => {
    it('GET /v2/ answers 401 with the Bearer challenge built from the public URL', async () => {
      const res = await http.get('/v2/');
      assert.equal(res.status, 401);
      assert.equal(
        res.headers['www-authenticate'],
        `Bearer realm="${REALM}",service="${SERVICE}",scope="registry:catalog:*"`
      );
      assert.deepEqual(res.body, {
        errors: [
          {
            code: 'UNAUTHORIZED',
            message: 'authentication required',
            detail: [{ Type: 'registry', Class: '', Name: 'catalog', Action: '*' }],
          },
        ],
      });
    });

    it('health and metrics need no token', async () => {
      assert.equal((await http.get('/_notary_server/health')).status, 200);
      assert.equal((await http.get('/metrics')).status, 200);
    });

    it('staging metadata without a token: 401 with the scope and no error parameter', async () => {
      const res = await http.get(tuf(STAGING, 'timestamp.json'));
      assert.equal(res.status, 401);
      assert.equal(res.headers['www-authenticate'], challenge(STAGING, 'pull'));
    });

    it('public metadata with no Authorization header at all is served (anonymous pull)', async () => {
      const res = await http.get(tuf(PUBLIC, 'timestamp.json'));
      assert.equal(res.status, 404); // allowed through; the repository does not exist
      assert.equal(res.body.errors[0].code, 'METADATA_NOT_FOUND');
    });
  });

  describe('the token endpoint', () => {
    it('anonymous: 200 with pull on public GUNs and nothing on staging', async () => {
      const res = await tokenResponse([
        `repository:${PUBLIC}:pull`,
        `repository:${STAGING}:pull`,
        `repository:${PUBLIC}:push,pull`,
      ]);
      assert.equal(res.status, 200);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.body.token, res.body.access_token);
      assert.equal(res.body.expires_in, 300);
      assert.equal(res.body.issued_at, '2026-06-01T12:00:00Z');
      assert.equal(res.body.refresh_token, undefined);
      const claims = claimsOf(res.body.token);
      assert.deepEqual(claims.access, [
        { type: 'repository', name: PUBLIC, actions: ['pull'] },
        { type: 'repository', name: PUBLIC, actions: ['pull'] },
      ]);
      assert.equal(claims.sub, '');
      assert.equal(claims.iss, 'countersign');
      assert.equal(claims.aud, SERVICE);
      const now = Date.parse('2026-06-01T12:00:00Z') / 1000;
      assert.equal(claims.iat, now);
      assert.equal(claims.nbf, now);
      assert.equal(claims.exp, now + 300);
      assert.match(String(claims.jti), /^[A-Za-z0-9_-]{22}$/);
      const header = headerOf(res.body.token);
      assert.equal(header.alg, 'ES256');
      assert.equal(header.typ, 'JWT');
      assert.match(String(header.kid), /^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    });

    it('anonymous on a staging GUN: 200 with an empty access list (notary asks this first)', async () => {
      const res = await tokenResponse([`repository:${STAGING}:pull`]);
      assert.equal(res.status, 200);
      assert.deepEqual(claimsOf(res.body.token).access, []);
    });

    it('a publisher gets pull, push and * on its own staging GUNs, in the order asked', async () => {
      const a = claimsOf(await token([`repository:${STAGING}:push,pull`], 'acme'));
      assert.equal(a.sub, 'acme');
      assert.deepEqual(a.access, [
        { type: 'repository', name: STAGING, actions: ['push', 'pull'] },
      ]);
      const b = claimsOf(await token([`repository:${STAGING}:pull,push`], 'acme'));
      assert.deepEqual(b.access, [
        { type: 'repository', name: STAGING, actions: ['pull', 'push'] },
      ]);
      const c = claimsOf(await token([`repository:${STAGING}:*`], 'acme'));
      assert.deepEqual(c.access, [{ type: 'repository', name: STAGING, actions: ['*'] }]);
    });

    it('a publisher gets nothing in another namespace, only pull in public, never catalog', async () => {
      const claims = claimsOf(
        await token(
          [
            `repository:${STAGING_OTHER}:push,pull`,
            `repository:${PUBLIC}:push,pull,*`,
            `repository:${PLAIN}:pull`,
            'registry:catalog:*',
          ],
          'acme'
        )
      );
      assert.deepEqual(claims.access, [{ type: 'repository', name: PUBLIC, actions: ['pull'] }]);
    });

    it('a GUN with host:port is one name (the scope splits at the first and last colon)', async () => {
      const gun = '127.0.0.1:5000/acme/app';
      const claims = claimsOf(await token([`repository:${gun}:pull,push`], 'local'));
      assert.deepEqual(claims.access, [
        { type: 'repository', name: gun, actions: ['pull', 'push'] },
      ]);
      const tok = await token([`repository:${gun}:push,pull`], 'local');
      const res = await http.get(tuf(gun, 'timestamp.key')).set('Authorization', `Bearer ${tok}`);
      assert.equal(res.status, 200);
      assert.equal(JSON.parse(res.text).keytype, 'ecdsa');
    });

    it('a reviewer pulls staging and public, writes nothing', async () => {
      const claims = claimsOf(
        await token([`repository:${STAGING}:push,pull`, `repository:${PUBLIC}:*`], 'rev')
      );
      assert.deepEqual(claims.access, [{ type: 'repository', name: STAGING, actions: ['pull'] }]);
    });

    it('an admin holds * on staging and plain GUNs and the catalog, only pull on public', async () => {
      const claims = claimsOf(
        await token(
          [
            `repository:${STAGING_OTHER}:*`,
            `repository:${PLAIN}:push,pull`,
            `repository:${PUBLIC}:push,pull,*`,
            'registry:catalog:*',
          ],
          'root'
        )
      );
      assert.deepEqual(claims.access, [
        { type: 'repository', name: STAGING_OTHER, actions: ['*'] },
        { type: 'repository', name: PLAIN, actions: ['push', 'pull'] },
        { type: 'repository', name: PUBLIC, actions: ['pull'] },
        { type: 'registry', name: 'catalog', actions: ['*'] },
      ]);
    });

    it('wrong password or unknown account: 401 in distribution error form', async () => {
      for (const creds of [
        ['acme', 'not it'],
        ['nobody', 'whatever'],
      ] as [string, string][]) {
        const res = await tokenResponse([`repository:${STAGING}:pull`], creds);
        assert.equal(res.status, 401);
        assert.deepEqual(res.body, {
          errors: [{ code: 'UNAUTHORIZED', message: 'invalid credentials' }],
        });
      }
    });

    it('refuses a token for another service, and an account that is not the Basic user', async () => {
      const res = await tokenResponse([`repository:${STAGING}:pull`], 'acme', {
        service: 'elsewhere',
      });
      assert.equal(res.status, 400);
      assert.equal(res.body.errors[0].code, 'INVALID_REQUEST');
      const mismatch = await tokenResponse([`repository:${STAGING}:pull`], 'acme', {
        account: 'root',
      });
      assert.equal(mismatch.status, 400);
    });

    it('issues a refresh token on request and honours docker’s POST refresh form', async () => {
      const res = await tokenResponse([`repository:${STAGING}:pull`], 'acme', {
        offline_token: 'true',
        client_id: 'docker',
      });
      assert.equal(res.status, 200);
      const refresh = res.body.refresh_token as string;
      assert.match(refresh, /^[A-Za-z0-9_-]{43}$/);
      const post = (fields: Record<string, string>) =>
        http.post('/auth/token').type('form').send(new URLSearchParams(fields).toString());
      const ok = await post({
        grant_type: 'refresh_token',
        refresh_token: refresh,
        service: SERVICE,
        client_id: 'docker',
        scope: `repository:${STAGING}:push,pull repository:${STAGING_OTHER}:pull`,
      });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      const claims = claimsOf(ok.body.token);
      assert.equal(claims.sub, 'acme');
      assert.deepEqual(claims.access, [
        { type: 'repository', name: STAGING, actions: ['push', 'pull'] },
      ]);
      // Bound to the client it was issued to.
      const otherClient = await post({
        grant_type: 'refresh_token',
        refresh_token: refresh,
        service: SERVICE,
        client_id: 'someone-else',
      });
      assert.equal(otherClient.status, 401);
      const forged = await post({
        grant_type: 'refresh_token',
        refresh_token: 'A'.repeat(43),
        service: SERVICE,
        client_id: 'docker',
      });
      assert.equal(forged.status, 401);
      // The password form works too, and a wrong password fails the same way.
      const pw = await post({
        grant_type: 'password',
        username: 'acme',
        password: PASSWORDS.acme,
        service: SERVICE,
        client_id: 'docker',
        scope: `repository:${STAGING}:pull`,
      });
      assert.equal(pw.status, 200);
      assert.equal(pw.body.refresh_token, undefined);
      assert.equal((await post({ grant_type: 'nonsense' })).status, 400);
    });

    it('a refresh token dies with its account', async () => {
      await t.addAccount('leaver', 'publisher', 'leaver password', ['staging.store.test/leaver/']);
      const res = await tokenResponse(
        ['repository:staging.store.test/leaver/x:pull'],
        ['leaver', 'leaver password'],
        { offline_token: 'true', client_id: 'docker' }
      );
      const refresh = res.body.refresh_token as string;
      assert.ok(await t.app.storage.accounts.remove('leaver'));
      const after = await http
        .post('/auth/token')
        .type('form')
        .send(
          new URLSearchParams({
            grant_type: 'refresh_token',
            refresh_token: refresh,
            service: SERVICE,
            client_id: 'docker',
          }).toString()
        );
      assert.equal(after.status, 401);
    });
  });

  describe('tokens on the Notary API', () => {
    it('a publisher token opens its own staging GUN (GET timestamp.key needs push and pull)', async () => {
      for (const actions of ['push,pull', 'pull,push']) {
        const tok = await token([`repository:${STAGING}:${actions}`], 'acme');
        const res = await http
          .get(tuf(STAGING, 'timestamp.key'))
          .set('Authorization', `Bearer ${tok}`);
        assert.equal(res.status, 200);
      }
      const pull = await token([`repository:${STAGING}:pull`], 'acme');
      const res = await http.get(tuf(STAGING, 'root.json')).set('Authorization', `bearer ${pull}`);
      assert.equal(res.status, 404); // allowed; nothing published yet
    });

    it('a token for another GUN: 401 insufficient_scope with the challenge, never 403', async () => {
      const tok = await token([`repository:${STAGING}:push,pull`], 'acme');
      const res = await http
        .get(tuf(STAGING_OTHER, 'timestamp.key'))
        .set('Authorization', `Bearer ${tok}`);
      assert.equal(res.status, 401);
      assert.equal(
        res.headers['www-authenticate'],
        challenge(STAGING_OTHER, 'push,pull', 'insufficient_scope')
      );
      assert.deepEqual(res.body.errors[0].detail, [
        { Type: 'repository', Class: '', Name: STAGING_OTHER, Action: 'push' },
        { Type: 'repository', Class: '', Name: STAGING_OTHER, Action: 'pull' },
      ]);
    });

    it('a pull token does not allow a write; key rotation and delete need *', async () => {
      const pull = await token([`repository:${STAGING}:pull`], 'acme');
      const post = await http.post(tuf(STAGING, '')).set('Authorization', `Bearer ${pull}`);
      assert.equal(post.status, 401);
      const write = await token([`repository:${STAGING}:push,pull`], 'acme');
      const rotate = await http
        .post(tuf(STAGING, 'timestamp.key'))
        .set('Authorization', `Bearer ${write}`);
      assert.equal(rotate.status, 401);
      assert.equal(
        rotate.headers['www-authenticate'],
        challenge(STAGING, '*', 'insufficient_scope')
      );
      const star = await token([`repository:${STAGING}:*`], 'acme');
      const del = await http.delete(tuf(STAGING, '')).set('Authorization', `Bearer ${star}`);
      assert.equal(del.status, 200);
    });

    it('nobody writes a public GUN through the Notary API, not even an admin', async () => {
      const tok = await token([`repository:${PUBLIC}:*`, `repository:${PUBLIC}:push,pull`], 'root');
      for (const [method, path] of [
        ['post', tuf(PUBLIC, '')],
        ['delete', tuf(PUBLIC, '')],
        ['post', tuf(PUBLIC, 'timestamp.key')],
        ['get', tuf(PUBLIC, 'timestamp.key')],
      ] as const) {
        const res = await http[method](path).set('Authorization', `Bearer ${tok}`);
        assert.equal(res.status, 401, `${method} ${path}`);
        assert.match(
          String(res.headers['www-authenticate']),
          /^Bearer realm=.*error="insufficient_scope"$/
        );
      }
      // Nothing was created: no key, no metadata.
      assert.deepEqual(await t.app.storage.keys.listFor(PUBLIC, 'timestamp'), []);
      assert.equal((await http.get(tuf(PUBLIC, 'root.json'))).status, 404);
    });

    it('an admin token with the catalog scope passes GET /v2/', async () => {
      const tok = await token(['registry:catalog:*'], 'root');
      assert.equal((await http.get('/v2/').set('Authorization', `Bearer ${tok}`)).status, 200);
      const acme = await token(['registry:catalog:*'], 'acme');
      const res = await http.get('/v2/').set('Authorization', `Bearer ${acme}`);
      assert.equal(res.status, 401);
      assert.match(String(res.headers['www-authenticate']), /error="insufficient_scope"/);
    });

    it('an anonymous token, or a token for something else, still reads public GUNs', async () => {
      const anon = await token([`repository:${PUBLIC}:pull`]);
      const res = await http.get(tuf(PUBLIC, 'root.json')).set('Authorization', `Bearer ${anon}`);
      assert.equal(res.status, 404);
      const unrelated = await token([`repository:${STAGING}:pull`], 'acme');
      const res2 = await http
        .get(tuf(PUBLIC, 'root.json'))
        .set('Authorization', `Bearer ${unrelated}`);
      assert.equal(res2.status, 404);
    });

    it('Basic credentials are not a Notary API login: the request is anonymous', async () => {
      const res = await http
        .get(tuf(STAGING, 'root.json'))
        .set('Authorization', basic('acme', PASSWORDS.acme));
      assert.equal(res.status, 401);
      assert.equal(res.headers['www-authenticate'], challenge(STAGING, 'pull'));
    });
  });

  describe('bad tokens fail closed', () => {
    const gun = STAGING;
    const url = tuf(gun, 'root.json');
    const expectInvalid = async (tok: string) => {
      const res = await http.get(url).set('Authorization', `Bearer ${tok}`);
      assert.equal(res.status, 401);
      assert.equal(res.headers['www-authenticate'], challenge(gun, 'pull', 'invalid_token'));
      // Public reads are no way around it: a bad token is refused there too.
      const pub = await http.get(tuf(PUBLIC, 'root.json')).set('Authorization', `Bearer ${tok}`);
      assert.equal(pub.status, 401);
    };
    const serverIssuer = async (issuer: string) =>
      new KeyHolderTokenIssuer({ issuer, key: await serverTokenKey(t.app.signer), clock });
    const access = [{ type: 'repository', name: gun, actions: ['*'] }];

    it('control: the server key, our issuer and service make a token that works', async () => {
      const good = await (
        await serverIssuer('countersign')
      ).issue({
        subject: 'acme',
        audience: SERVICE,
        access,
      });
      assert.equal((await http.get(url).set('Authorization', `Bearer ${good.token}`)).status, 404);
    });

    it('wrong signature', async () => {
      const tok = await token([`repository:${gun}:pull`], 'acme');
      const [h, p, s] = tok.split('.') as [string, string, string];
      const sig = Buffer.from(s, 'base64url');
      sig[10] = sig[10]! ^ 0x40;
      await expectInvalid(`${h}.${p}.${sig.toString('base64url')}`);
      // The claims of another token under this signature.
      const other = await token([`repository:${gun}:*`], 'acme');
      await expectInvalid(`${h}.${other.split('.')[1]}.${s}`);
    });

    it('wrong issuer', async () => {
      const tok = await (
        await serverIssuer('someone-else')
      ).issue({
        subject: 'acme',
        audience: SERVICE,
        access,
      });
      await expectInvalid(tok.token);
    });

    it('wrong audience', async () => {
      const tok = await (
        await serverIssuer('countersign')
      ).issue({
        subject: 'acme',
        audience: 'other-service',
        access,
      });
      await expectInvalid(tok.token);
    });

    it('expired (beyond the 60 s leeway), also after it was accepted and cached', async () => {
      const tok = await token([`repository:${gun}:pull`], 'acme');
      assert.equal((await http.get(url).set('Authorization', `Bearer ${tok}`)).status, 404);
      clock.advance(300_000 + 30_000); // within the leeway
      assert.equal((await http.get(url).set('Authorization', `Bearer ${tok}`)).status, 404);
      clock.advance(31_000);
      try {
        await expectInvalid(tok);
      } finally {
        clock.advance(-361_000);
      }
    });

    it('not yet valid (nbf beyond the leeway)', async () => {
      const issuer = await serverIssuer('countersign');
      clock.advance(120_000);
      const future = await issuer.issue({ subject: 'acme', audience: SERVICE, access });
      clock.advance(-120_000);
      await expectInvalid(future.token);
    });

    it('alg none and HS256 keyed with the public key', async () => {
      const good = await token([`repository:${gun}:pull`], 'acme');
      const [h, p] = good.split('.') as [string, string];
      const kid = headerOf(good).kid;
      const none = base64UrlEncode(JSON.stringify({ typ: 'JWT', alg: 'none', kid }));
      await expectInvalid(`${none}.${p}.`);
      await expectInvalid(`${none}.${p}.${base64UrlEncode('x')}`);
      const hs = base64UrlEncode(JSON.stringify({ typ: 'JWT', alg: 'HS256', kid }));
      const publicKey = (await serverTokenKey(t.app.signer)).publicKey;
      const secret = publicKey.export({ type: 'spki', format: 'pem' });
      const mac = createHmac('sha256', secret).update(`${hs}.${p}`).digest();
      await expectInvalid(`${hs}.${p}.${base64UrlEncode(mac)}`);
      void h;
    });

    it('a token from an external token service (its own key, even naming our issuer) is refused', async () => {
      const key = await makeEcKey();
      const cert = await makeCert({ subject: 'external token signer', key, ca: true });
      const external = new TokenIssuer({
        issuer: 'countersign',
        privateKey: key.privateKey,
        publicKey: key.publicKey,
        certificateChain: [cert],
        clock,
      });
      const tok = await external.issue({ subject: 'root', audience: SERVICE, access });
      await expectInvalid(tok.token);
      // kid-only form, and a kid that claims to be our key.
      const claims = claimsOf(tok.token);
      await expectInvalid(
        await signCompactJws(
          { typ: 'JWT', kid: libtrustKeyId(key.publicKey) },
          claims,
          key.privateKey
        )
      );
      const ourKid = headerOf(await token([], 'acme')).kid;
      await expectInvalid(
        await signCompactJws({ typ: 'JWT', kid: ourKid }, claims, key.privateKey)
      );
    });

    it('garbage', async () => {
      for (const tok of ['x', 'a.b.c', 'e30.e30.', `${'A'.repeat(9000)}`]) await expectInvalid(tok);
    });
  });

  describe('store API authentication', () => {
    it('whoami with Basic credentials and with a Bearer token', async () => {
      const viaBasic = await http
        .get('/api/v1/whoami')
        .set('Authorization', basic('acme', PASSWORDS.acme));
      assert.equal(viaBasic.status, 200);
      assert.deepEqual(viaBasic.body, {
        name: 'acme',
        role: 'publisher',
        namespaces: ['staging.store.test/acme/'],
      });
      const tok = await token([`repository:${STAGING}:pull`], 'rev');
      const viaBearer = await http.get('/api/v1/whoami').set('Authorization', `Bearer ${tok}`);
      assert.equal(viaBearer.status, 200);
      assert.deepEqual(viaBearer.body, { name: 'rev', role: 'reviewer', namespaces: [] });
    });

    it('401 unauthorized without credentials, with bad ones, with an anonymous token', async () => {
      const anonymous = await token([`repository:${PUBLIC}:pull`]);
      for (const auth of [
        undefined,
        basic('acme', 'wrong'),
        'Basic !!!',
        'Digest x',
        `Bearer ${anonymous}`,
        'Bearer not.a.token',
      ]) {
        const req = http.get('/api/v1/whoami');
        const res = await (auth === undefined ? req : req.set('Authorization', auth));
        assert.equal(res.status, 401, String(auth));
        assert.equal(res.body.error.code, 'unauthorized');
        assert.equal(typeof res.body.error.message, 'string');
        assert.match(String(res.headers['www-authenticate']), /^Basic realm="countersign"/);
      }
    });

    it('403 forbidden when the role does not fit, JSON 404 for unknown routes', async () => {
      const pub = await http
        .get('/api/v1/test/admin-only')
        .set('Authorization', basic('acme', PASSWORDS.acme));
      assert.equal(pub.status, 403);
      assert.equal(pub.body.error.code, 'forbidden');
      const admin = await http
        .get('/api/v1/test/admin-only')
        .set('Authorization', basic('root', PASSWORDS.root));
      assert.deepEqual([admin.status, admin.body], [200, { ok: 'root' }]);
      const missing = await http.get('/api/v1/no/such/route');
      assert.deepEqual([missing.status, missing.body.error.code], [404, 'not_found']);
    });
  });

  describe('brute force', () => {
    it('limits failed logins per account, on the token endpoint and the store API alike', async () => {
      const scope = ['repository:staging.store.test/victim/app:pull'];
      for (let i = 0; i < 3; i++) {
        assert.equal((await tokenResponse(scope, ['victim', `guess ${i}`])).status, 401);
      }
      // Now even the right password is refused, before it is checked.
      const limited = await tokenResponse(scope, 'victim');
      assert.equal(limited.status, 429);
      assert.equal(limited.body.errors[0].code, 'TOOMANYREQUESTS');
      const retry = Number(limited.headers['retry-after']);
      assert.ok(retry > 0 && retry <= 900, String(retry));
      const api = await http
        .get('/api/v1/whoami')
        .set('Authorization', basic('victim', PASSWORDS.victim));
      assert.equal(api.status, 429);
      assert.equal(api.body.error.code, 'rate_limited');
      assert.ok(Number(api.headers['retry-after']) > 0);
      // Other accounts are not affected.
      assert.equal((await tokenResponse(scope, 'acme')).status, 200);
      // The window passes.
      clock.advance(15 * 60_000 + 1000);
      try {
        const again = await tokenResponse(scope, 'victim');
        assert.equal(again.status, 200);
        assert.deepEqual(claimsOf(again.body.token).access, [
          { type: 'repository', name: 'staging.store.test/victim/app', actions: ['pull'] },
        ]);
      } finally {
        clock.advance(-(15 * 60_000 + 1000));
      }
    });
  });

  describe('logging', () => {
    it('never logs passwords, tokens or Authorization headers', async () => {
      const tok = await token([`repository:${STAGING}:pull`], 'acme');
      await http.get(tuf(STAGING, 'root.json')).set('Authorization', `Bearer ${tok}`);
      await http.get('/api/v1/whoami').set('Authorization', basic('acme', PASSWORDS.acme));
      const logs = t.logs();
      assert.match(logs, /"path":"\/auth\/token"/); // the log is captured at all
      assert.match(logs, /"subject":"acme"/);
      for (const secret of [...Object.values(PASSWORDS), tok, tok.split('.')[2]!]) {
        assert.ok(!logs.includes(secret), `log contains a secret: ${secret.slice(0, 12)}…`);
      }
      for (const encoded of Object.entries(PASSWORDS).map(([u, p]) => basic(u, p).slice(6))) {
        assert.ok(!logs.includes(encoded), 'log contains Basic credentials');
      }
      assert.ok(!/authorization/i.test(logs), 'log mentions an Authorization header');
    });
  });
});
