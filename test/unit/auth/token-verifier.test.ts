import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, type X509Certificate } from 'node:crypto';
import { base64UrlEncode, signCompactJws } from '../../../src/auth/jws.js';
import { libtrustKeyId } from '../../../src/auth/libtrust.js';
import { isBearerChallengeError } from '../../../src/auth/token-error.js';
import {
  LEEWAY_SECONDS,
  bearerTokenFromHeader,
  parseAccessClaim,
  requireAccess,
  verifyToken,
  type VerifyTokenOptions,
} from '../../../src/auth/token-verifier.js';
import { trustRootsFromCertificates } from '../../../src/auth/trust-roots.js';
import { ManualClock } from '../../../src/util/clock.js';
import { makeCert, makeEcKey, rsaKey, type TestKey } from '../../auth/pki.js';

const ISSUER = 'auth.example.com';
const SERVICE = 'notary-server';
const NOW = Math.floor(Date.now() / 1000);

const failsWith = (pattern: RegExp) => (e: unknown) =>
  isBearerChallengeError(e) &&
  e.code === 'UNAUTHORIZED' &&
  e.bearerError === 'invalid_token' &&
  pattern.test(e.message);

describe('token verifier', () => {
  let key: TestKey;
  let cert: X509Certificate;
  let stranger: TestKey;
  let strangerCert: X509Certificate;
  let options: VerifyTokenOptions;
  let clock: ManualClock;
  const access = [{ type: 'repository', name: 'example.com/x', actions: ['push', 'pull'] }];
  const claims = (extra: Record<string, unknown> = {}) => ({
    iss: ISSUER,
    sub: 'alice',
    aud: SERVICE,
    exp: NOW + 300,
    nbf: NOW,
    iat: NOW,
    jti: 'id-1',
    access,
    ...extra,
  });
  const sign = (
    payload: Record<string, unknown>,
    k: TestKey = key,
    header: Record<string, unknown> = {}
  ) =>
    signCompactJws(
      { typ: 'JWT', kid: libtrustKeyId(k.publicKey), ...header },
      payload,
      k.privateKey
    );

  before(async () => {
    key = await makeEcKey();
    cert = await makeCert({ subject: 'token signer', key, ca: true });
    stranger = await makeEcKey();
    strangerCert = await makeCert({ subject: 'stranger', key: stranger, ca: true });
    clock = new ManualClock(NOW * 1000);
    options = {
      issuer: ISSUER,
      service: SERVICE,
      roots: trustRootsFromCertificates([cert]),
      clock,
    };
  });

  it('returns subject and access of a valid token', async () => {
    const verified = await verifyToken(await sign(claims()), options);
    assert.equal(verified.subject, 'alice');
    assert.deepEqual(verified.access, access);
    assert.equal(verified.jwtId, 'id-1');
    assert.equal(verified.expiresAt.getTime(), (NOW + 300) * 1000);
  });

  it('accepts a token whose x5c is the bundle certificate', async () => {
    const token = await sign(claims(), key, { kid: undefined, x5c: [cert.raw.toString('base64')] });
    assert.equal((await verifyToken(token, options)).subject, 'alice');
  });

  it('treats a missing sub as anonymous and a missing access as none', async () => {
    const { sub: _s, access: _a, ...rest } = claims();
    void _s;
    void _a;
    const verified = await verifyToken(await sign(rest), options);
    assert.equal(verified.subject, '');
    assert.deepEqual(verified.access, []);
    assert.deepEqual((await verifyToken(await sign(claims({ access: null })), options)).access, []);
  });

  it('refuses a tampered signature or payload', async () => {
    const token = await sign(claims());
    const [h, p, s] = token.split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    sig[0] = sig[0]! ^ 0x80;
    await assert.rejects(
      async () => await verifyToken(`${h}.${p}.${sig.toString('base64url')}`, options),
      failsWith(/signature/)
    );
    const other = base64UrlEncode(JSON.stringify(claims({ sub: 'mallory' })));
    await assert.rejects(
      async () => await verifyToken(`${h}.${other}.${s}`, options),
      failsWith(/signature/)
    );
  });

  it('refuses a wrong issuer', async () => {
    await assert.rejects(
      async () => await verifyToken(await sign(claims({ iss: 'evil.example.com' })), options),
      failsWith(/issuer/)
    );
    await assert.rejects(
      async () => await verifyToken(await sign(claims({ iss: undefined })), options),
      failsWith(/issuer/)
    );
  });

  it('refuses a wrong audience, and accepts an array containing the service', async () => {
    await assert.rejects(
      async () => await verifyToken(await sign(claims({ aud: 'registry' })), options),
      failsWith(/audience/)
    );
    await assert.rejects(
      async () => await verifyToken(await sign(claims({ aud: ['registry'] })), options),
      failsWith(/audience/)
    );
    await assert.rejects(
      async () => await verifyToken(await sign(claims({ aud: undefined })), options),
      failsWith(/audience/)
    );
    assert.equal(
      (await verifyToken(await sign(claims({ aud: ['registry', SERVICE] })), options)).subject,
      'alice'
    );
  });

  describe('exp and nbf with 60 s leeway', () => {
    it('accepts up to 60 s past exp and refuses after', async () => {
      assert.equal(LEEWAY_SECONDS, 60);
      const token = await sign(claims({ exp: NOW - 60 }));
      assert.equal((await verifyToken(token, options)).subject, 'alice');
      const later = { ...options, clock: new ManualClock((NOW + 1) * 1000) };
      await assert.rejects(async () => await verifyToken(token, later), failsWith(/expired/));
      await assert.rejects(
        async () => await verifyToken(await sign(claims({ exp: NOW - 3600 })), options),
        failsWith(/expired/)
      );
    });

    it('accepts up to 60 s before nbf and refuses earlier', async () => {
      assert.equal(
        (await verifyToken(await sign(claims({ nbf: NOW + 60 })), options)).subject,
        'alice'
      );
      await assert.rejects(
        async () => await verifyToken(await sign(claims({ nbf: NOW + 61 })), options),
        failsWith(/not valid yet/)
      );
      assert.equal(
        (await verifyToken(await sign(claims({ nbf: undefined })), options)).subject,
        'alice'
      );
    });

    it('requires exp to be an integer', async () => {
      await assert.rejects(
        async () => await verifyToken(await sign(claims({ exp: undefined })), options),
        failsWith(/exp/)
      );
      await assert.rejects(
        async () => await verifyToken(await sign(claims({ exp: String(NOW + 300) })), options),
        failsWith(/exp/)
      );
      await assert.rejects(
        async () => await verifyToken(await sign(claims({ exp: NOW + 300.5 })), options),
        failsWith(/exp/)
      );
      await assert.rejects(
        async () => await verifyToken(await sign(claims({ nbf: 'now' })), options),
        failsWith(/nbf/)
      );
    });
  });

  it('refuses alg none', async () => {
    const header = base64UrlEncode(
      JSON.stringify({ alg: 'none', kid: libtrustKeyId(key.publicKey) })
    );
    const body = base64UrlEncode(JSON.stringify(claims()));
    await assert.rejects(
      async () => await verifyToken(`${header}.${body}.`, options),
      failsWith(/signature/)
    );
    await assert.rejects(
      async () => await verifyToken(`${header}.${body}.AAAA`, options),
      failsWith(/signature/)
    );
  });

  it('refuses HS256 with the trusted public key as the HMAC secret', async () => {
    for (const secret of [
      cert.toString(),
      key.publicKey.export({ type: 'spki', format: 'pem' }),
      key.publicKey.export({ type: 'spki', format: 'der' }),
    ]) {
      const input = `${base64UrlEncode(JSON.stringify({ alg: 'HS256', kid: libtrustKeyId(key.publicKey) }))}.${base64UrlEncode(JSON.stringify(claims()))}`;
      const mac = createHmac('sha256', secret).update(input).digest();
      await assert.rejects(
        async () => await verifyToken(`${input}.${base64UrlEncode(mac)}`, options),
        failsWith(/signature/)
      );
    }
  });

  it('refuses an alg that does not match the key type', async () => {
    const token = await sign(claims());
    const [, p, s] = token.split('.');
    for (const alg of ['ES384', 'RS256', 'PS256', 'EdDSA']) {
      const h = base64UrlEncode(JSON.stringify({ alg, kid: libtrustKeyId(key.publicKey) }));
      await assert.rejects(
        async () => await verifyToken(`${h}.${p}.${s}`, options),
        failsWith(/signature/),
        alg
      );
    }
    // an RSA-signed token cannot borrow the trusted EC key's kid
    const rsa = rsaKey();
    const forged = await signCompactJws(
      { kid: libtrustKeyId(key.publicKey) },
      claims(),
      rsa.privateKey
    );
    await assert.rejects(async () => await verifyToken(forged, options), failsWith(/signature/));
  });

  it('refuses keys and chains outside the bundle', async () => {
    await assert.rejects(
      async () => await verifyToken(await sign(claims(), stranger), options),
      failsWith(/untrusted key/)
    );
    const x5c = await sign(claims(), stranger, {
      kid: libtrustKeyId(key.publicKey),
      x5c: [strangerCert.raw.toString('base64')],
    });
    await assert.rejects(async () => await verifyToken(x5c, options), failsWith(/chain/));
    const jwk = await sign(claims(), stranger, {
      kid: undefined,
      jwk: stranger.publicKey.export({ format: 'jwk' }),
    });
    await assert.rejects(async () => await verifyToken(jwk, options), failsWith(/jwk/));
  });

  it('refuses malformed tokens and access claims', async () => {
    await assert.rejects(
      async () => await verifyToken('not.a.token', options),
      failsWith(/base64url|JSON/)
    );
    await assert.rejects(async () => await verifyToken('', options), failsWith(/compact/));
    await assert.rejects(
      async () => await verifyToken(await sign(claims({ sub: 42 })), options),
      failsWith(/sub/)
    );
    await assert.rejects(
      async () => await verifyToken(await sign(claims({ access: {} })), options),
      failsWith(/access/)
    );
    for (const bad of [
      [1],
      [{ type: 'repository' }],
      [{ type: 'r', name: 'n', actions: 'pull' }],
      [{ type: 'r', name: 'n', actions: [1] }],
    ]) {
      assert.throws(() => parseAccessClaim(bad), failsWith(/access/), JSON.stringify(bad));
    }
    assert.deepEqual(parseAccessClaim([{ type: 'r', class: 'c', name: 'n', actions: null }]), [
      { type: 'r', class: 'c', name: 'n', actions: [] },
    ]);
  });

  describe('#requireAccess', () => {
    it('passes with the scope and throws insufficient_scope without it', async () => {
      const verified = await verifyToken(await sign(claims()), options);
      requireAccess(verified, [{ type: 'repository', name: 'example.com/x', action: 'push' }]);
      assert.throws(
        () => requireAccess(verified, [{ type: 'repository', name: 'example.com/x', action: '*' }]),
        (e) =>
          isBearerChallengeError(e) &&
          e.code === 'UNAUTHORIZED' &&
          e.bearerError === 'insufficient_scope'
      );
    });
  });

  describe('#bearerTokenFromHeader', () => {
    it('reads "Bearer <token>" in any case and refuses the rest without an error parameter', () => {
      assert.equal(bearerTokenFromHeader('Bearer abc'), 'abc');
      assert.equal(bearerTokenFromHeader('bEaReR abc'), 'abc');
      for (const bad of [undefined, '', 'Bearer', 'Bearer  abc', 'Basic abc', 'Bearer a b']) {
        assert.throws(
          () => bearerTokenFromHeader(bad),
          (e) => isBearerChallengeError(e) && e.bearerError === undefined,
          String(bad)
        );
      }
    });
  });
});
