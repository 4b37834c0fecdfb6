/**
 * External token mode: notary-server's own `auth: {type: "token", options: {realm, service,
 * issuer, rootcertbundle}}` section, so Countersign sits behind an existing registry token
 * service. Tokens are made here by a stand-in for that service (our TokenIssuer with test
 * certificates — test/auth/notary-server-token.test.ts proves the real notary-server accepts the
 * same tokens), and driven through the real app with supertest.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { validatingRequest } from '../helpers/openapi-check.js';
import { TokenIssuer } from '../../src/auth/token-issuer.js';
import { externalEndpoint } from '../../src/auth/endpoint.js';
import { ManualClock } from '../../src/util/clock.js';
import type { IncomingMessage } from 'node:http';
import { basic, makeTestApp, ZONE, type TestApp } from './app-fixture.js';
import { makeCert, makeEcKey, toPem, type TestKey } from './pki.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const REALM = 'https://auth.example.com/token';
const SERVICE = 'notary-server';
const ISSUER = 'auth.example.com';

const tuf = (gun: string, file: string) => `/v2/${gun}/_trust/tuf/${file}`;

describe('external token service mode (notary-server auth.type token)', () => {
  const clock = new ManualClock(Date.now());
  let t: TestApp;
  let http: ReturnType<typeof request>;
  let bundleDir: string;
  let kidIssuer: TokenIssuer;
  let x5cIssuer: TokenIssuer;
  let strangerKey: TestKey;

  before(async () => {
    bundleDir = mkdtempSync(join(tmpdir(), 'countersign-ext-bundle-'));
    const kidKey = await makeEcKey();
    const kidCert = await makeCert({ subject: 'token signer', key: kidKey, ca: true });
    const caKey = await makeEcKey();
    const caCert = await makeCert({ subject: 'token CA', key: caKey, ca: true });
    const leafKey = await makeEcKey();
    const leafCert = await makeCert({
      subject: 'token leaf',
      key: leafKey,
      issuer: { cert: caCert, key: caKey },
    });
    strangerKey = await makeEcKey();
    const bundle = join(bundleDir, 'bundle.pem');
    writeFileSync(bundle, toPem([kidCert, caCert]));
    kidIssuer = new TokenIssuer({
      issuer: ISSUER,
      privateKey: kidKey.privateKey,
      publicKey: kidKey.publicKey,
      clock,
    });
    x5cIssuer = new TokenIssuer({
      issuer: ISSUER,
      privateKey: leafKey.privateKey,
      publicKey: leafKey.publicKey,
      certificateChain: [leafCert],
      clock,
    });
    t = await makeTestApp(
      {
        auth: {
          type: 'token',
          options: { realm: REALM, service: SERVICE, issuer: ISSUER, rootcertbundle: bundle },
        },
        countersign: { store: { zones: [ZONE] } },
      },
      { clock }
    );
    // Store API answers are checked against the OpenAPI description.
    http = validatingRequest(t.app.handle);
    await t.addAccount('acme', 'publisher', 'acme password', ['staging.store.test/acme/']);
  });
  after(async () => {
    await t?.close();
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  });

  const bearer = async (
    issuer: TokenIssuer,
    name: string,
    actions: string[],
    overrides: { audience?: string; subject?: string } = {}
  ) => {
    const issued = await issuer.issue({
      subject: overrides.subject ?? 'acme',
      audience: overrides.audience ?? SERVICE,
      access: [{ type: 'repository', name, actions }],
    });
    return `Bearer ${issued.token}`;
  };

  it('challenges with the configured realm and service and runs no token endpoint', async () => {
    assert.equal(t.app.auth.mode, 'external');
    const res = await http.get('/v2/');
    assert.equal(res.status, 401);
    assert.equal(
      res.headers['www-authenticate'],
      `Bearer realm="${REALM}",service="${SERVICE}",scope="registry:catalog:*"`
    );
    const tokenEndpoint = await http.get('/auth/token?service=notary-server');
    assert.equal(tokenEndpoint.status, 404);
  });

  it('accepts the service’s tokens in the kid and x5c forms for what they grant', async () => {
    for (const issuer of [kidIssuer, x5cIssuer]) {
      const gun = 'example.com/plain/app';
      const res = await http
        .get(tuf(gun, 'timestamp.key'))
        .set('Authorization', await bearer(issuer, gun, ['push', 'pull']));
      assert.equal(res.status, 200);
      const pullOnly = await http
        .get(tuf(gun, 'timestamp.key'))
        .set('Authorization', await bearer(issuer, gun, ['pull']));
      assert.equal(pullOnly.status, 401);
      assert.match(String(pullOnly.headers['www-authenticate']), /error="insufficient_scope"/);
    }
  });

  it('refuses Notary-API writes to public GUNs even with a valid * token', async () => {
    const gun = 'store.test/acme/web';
    const auth = await bearer(kidIssuer, gun, ['*']);
    for (const [method, path, scope] of [
      ['post', tuf(gun, ''), 'push,pull'],
      ['delete', tuf(gun, ''), '*'],
      ['get', tuf(gun, 'timestamp.key'), 'push,pull'],
      ['post', tuf(gun, 'snapshot.key'), '*'],
    ] as const) {
      const res = await http[method](path).set('Authorization', auth);
      assert.equal(res.status, 401, `${method} ${path}`);
      assert.equal(
        res.headers['www-authenticate'],
        `Bearer realm="${REALM}",service="${SERVICE}",scope="repository:${gun}:${scope}",error="insufficient_scope"`
      );
    }
    assert.deepEqual(await t.app.storage.keys.listFor(gun, 'timestamp'), []);
    // Reading is fine, with the token or without any.
    assert.equal((await http.get(tuf(gun, 'root.json')).set('Authorization', auth)).status, 404);
    assert.equal((await http.get(tuf(gun, 'root.json'))).status, 404);
  });

  it('refuses expired, wrong-audience, wrong-issuer and untrusted-key tokens', async () => {
    const gun = 'example.com/plain/app';
    const url = tuf(gun, 'root.json');
    const expectInvalid = async (auth: string) => {
      const res = await http.get(url).set('Authorization', auth);
      assert.equal(res.status, 401);
      assert.match(String(res.headers['www-authenticate']), /,error="invalid_token"$/);
    };
    assert.equal(
      (await http.get(url).set('Authorization', await bearer(kidIssuer, gun, ['pull']))).status,
      404
    );
    await expectInvalid(await bearer(kidIssuer, gun, ['pull'], { audience: 'countersign' }));
    const otherIssuer = new TokenIssuer({
      issuer: 'countersign',
      privateKey: strangerKey.privateKey,
      publicKey: strangerKey.publicKey,
      clock,
    });
    await expectInvalid(await bearer(otherIssuer, gun, ['*']));
    const stranger = new TokenIssuer({
      issuer: ISSUER,
      privateKey: strangerKey.privateKey,
      publicKey: strangerKey.publicKey,
      clock,
    });
    await expectInvalid(await bearer(stranger, gun, ['*']));
    const old = await bearer(kidIssuer, gun, ['pull']);
    clock.advance(300_000 + 61_000);
    try {
      await expectInvalid(old);
    } finally {
      clock.advance(-361_000);
    }
  });

  it('the store API takes the service’s tokens for the local account their sub names', async () => {
    const gun = 'staging.store.test/acme/web';
    const ok = await http
      .get('/api/v1/whoami')
      .set('Authorization', await bearer(kidIssuer, gun, ['pull']));
    assert.equal(ok.status, 200);
    assert.equal(ok.body.name, 'acme');
    const unknown = await http
      .get('/api/v1/whoami')
      .set('Authorization', await bearer(kidIssuer, gun, ['pull'], { subject: 'mallory' }));
    assert.equal(unknown.status, 401);
    const viaBasic = await http
      .get('/api/v1/whoami')
      .set('Authorization', basic('acme', 'acme password'));
    assert.equal(viaBasic.status, 200);
  });

  it('autoredirect builds the realm from the request Host, as distribution does', () => {
    const ep = externalEndpoint({ realm: REALM, service: SERVICE, autoRedirect: true });
    const req = { headers: { host: 'notary.example.com:4443' } } as unknown as IncomingMessage;
    assert.equal(ep.realm(req), 'https://notary.example.com:4443/auth/token');
    const fixed = externalEndpoint({ realm: REALM, service: SERVICE, autoRedirect: false });
    assert.equal(fixed.realm(req), REALM);
  });
});
