import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { X509Certificate } from 'node:crypto';
import { libtrustKeyId } from '../../../src/auth/libtrust.js';
import {
  DEFAULT_TOKEN_LIFETIME_SECONDS,
  TokenIssuer,
  tokenResponseBody,
} from '../../../src/auth/token-issuer.js';
import { verifyToken } from '../../../src/auth/token-verifier.js';
import { trustRootsFromCertificates } from '../../../src/auth/trust-roots.js';
import { isCountersignError } from '../../../src/errors.js';
import { ManualClock } from '../../../src/util/clock.js';
import { makeCert, makeEcKey, type TestKey } from '../../auth/pki.js';

const decode = (part: string) =>
  JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
const access = [{ type: 'repository', name: 'localhost:5000/app', actions: ['push', 'pull'] }];

describe('token issuer', () => {
  let key: TestKey;
  let caKey: TestKey;
  let ca: X509Certificate;
  let leaf: X509Certificate;
  const clock = new ManualClock('2025-06-01T12:00:00.750Z');

  before(async () => {
    key = await makeEcKey();
    caKey = await makeEcKey();
    ca = await makeCert({ subject: 'ca', key: caKey, ca: true });
    leaf = await makeCert({ subject: 'signer', key, issuer: { cert: ca, key: caKey } });
  });

  const issuer = (extra: Partial<ConstructorParameters<typeof TokenIssuer>[0]> = {}) =>
    new TokenIssuer({
      issuer: 'countersign',
      privateKey: key.privateKey,
      publicKey: key.publicKey,
      clock,
      ...extra,
    });

  it('writes an ES256 header with the libtrust kid', async () => {
    const { token } = await issuer().issue({ subject: 'alice', audience: 'notary', access });
    const [h, p, s] = token.split('.') as [string, string, string];
    assert.deepEqual(decode(h), { typ: 'JWT', alg: 'ES256', kid: libtrustKeyId(key.publicKey) });
    assert.equal(Buffer.from(s, 'base64url').length, 64);
    assert.ok(decode(p));
  });

  it("writes docker/distribution's claims", async () => {
    let n = 0;
    const issued = await issuer({ randomId: () => `jti-${++n}` }).issue({
      subject: 'alice',
      audience: 'notary',
      access,
    });
    const iat = Date.parse('2025-06-01T12:00:00Z') / 1000;
    const expected = {
      iss: 'countersign',
      sub: 'alice',
      aud: 'notary',
      exp: iat + 300,
      nbf: iat,
      iat,
      jti: 'jti-1',
      access,
    };
    assert.deepEqual(decode(issued.token.split('.')[1]!), expected);
    assert.deepEqual(issued.claims, expected);
    assert.equal(issued.expiresIn, DEFAULT_TOKEN_LIFETIME_SECONDS);
  });

  it('gives every token its own random jti', async () => {
    const i = issuer();
    const issued = await Promise.all(
      Array.from({ length: 50 }, () => i.issue({ subject: '', audience: 'n', access: [] }))
    );
    const ids = new Set(issued.map((t) => t.claims.jti));
    assert.equal(ids.size, 50);
    assert.match([...ids][0]!, /^[A-Za-z0-9_-]{22}$/);
  });

  it('adds x5c when given the certificate chain, and the result verifies against the CA', async () => {
    const now = new ManualClock(); // the test certificates are valid around the real now
    const withChain = issuer({ certificateChain: [leaf], clock: now });
    const { token } = await withChain.issue({ subject: 'alice', audience: 'notary', access });
    assert.deepEqual(decode(token.split('.')[0]!).x5c, [leaf.raw.toString('base64')]);
    const verified = await verifyToken(token, {
      issuer: 'countersign',
      service: 'notary',
      roots: trustRootsFromCertificates([ca]),
      clock: now,
    });
    assert.deepEqual(verified.access, access);
  });

  it('honours a configured lifetime and refuses unusable ones', async () => {
    const issued = await issuer({ lifetimeSeconds: 3600 }).issue({
      subject: 'a',
      audience: 'n',
      access: [],
    });
    assert.equal(issued.claims.exp - issued.claims.iat, 3600);
    assert.equal(issued.expiresIn, 3600);
    for (const lifetimeSeconds of [59, 0, 1.5, 86_401]) {
      assert.throws(
        () => issuer({ lifetimeSeconds }),
        (e) => isCountersignError(e, 'CONFIG_INVALID')
      );
    }
  });

  it('refuses a mismatched key pair or certificate', async () => {
    const other = await makeEcKey();
    assert.throws(
      () => issuer({ publicKey: other.publicKey }),
      (e) => isCountersignError(e, 'KEY_INVALID')
    );
    assert.throws(
      () => issuer({ privateKey: key.publicKey }),
      (e) => isCountersignError(e, 'KEY_INVALID')
    );
    assert.throws(
      () => issuer({ certificateChain: [ca] }),
      (e) => isCountersignError(e, 'CERT_INVALID')
    );
  });

  it('copies access entries so later changes do not leak into claims', async () => {
    const mutable = [{ type: 'repository', name: 'a', actions: ['pull'] }];
    const issued = await issuer().issue({ subject: 'a', audience: 'n', access: mutable });
    mutable[0]!.actions.push('push');
    assert.deepEqual(issued.claims.access, [{ type: 'repository', name: 'a', actions: ['pull'] }]);
  });

  describe('#tokenResponseBody', () => {
    it('has token, access_token, expires_in and issued_at (RFC 3339, whole seconds)', async () => {
      const issued = await issuer().issue({ subject: 'a', audience: 'n', access: [] });
      assert.deepEqual(tokenResponseBody(issued), {
        token: issued.token,
        access_token: issued.token,
        expires_in: 300,
        issued_at: '2025-06-01T12:00:00Z',
      });
      assert.equal(tokenResponseBody(issued, 'rt').refresh_token, 'rt');
    });
  });
});
