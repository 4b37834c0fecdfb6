import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { X509Certificate } from 'node:crypto';
import { libtrustKeyId } from '../../../src/auth/libtrust.js';
import { isBearerChallengeError } from '../../../src/auth/token-error.js';
import {
  resolveSigningKey,
  trustRootsFromCertificates,
  trustRootsFromPem,
  verifyCertificateChain,
  type TrustRoots,
} from '../../../src/auth/trust-roots.js';
import { isCountersignError } from '../../../src/errors.js';
import { makeCert, makeEcKey, toPem, type TestKey } from '../../auth/pki.js';

const invalid = (e: unknown) => isBearerChallengeError(e) && e.bearerError === 'invalid_token';
const b64 = (c: X509Certificate) => c.raw.toString('base64');
const HOUR = 3600_000;

describe('trust roots', () => {
  let caKey: TestKey, ca: X509Certificate;
  let interKey: TestKey, inter: X509Certificate;
  let leafKey: TestKey, leaf: X509Certificate, leafUnderInter: X509Certificate;
  let selfKey: TestKey, selfSigned: X509Certificate;
  let otherCaKey: TestKey, otherCa: X509Certificate, foreignLeaf: X509Certificate;
  let roots: TrustRoots;
  const now = new Date();

  before(async () => {
    caKey = await makeEcKey();
    ca = await makeCert({ subject: 'root ca', key: caKey, ca: true });
    interKey = await makeEcKey();
    inter = await makeCert({
      subject: 'intermediate',
      key: interKey,
      ca: true,
      issuer: { cert: ca, key: caKey },
    });
    leafKey = await makeEcKey();
    leaf = await makeCert({ subject: 'leaf', key: leafKey, issuer: { cert: ca, key: caKey } });
    leafUnderInter = await makeCert({
      subject: 'leaf2',
      key: leafKey,
      issuer: { cert: inter, key: interKey },
    });
    selfKey = await makeEcKey();
    selfSigned = await makeCert({ subject: 'self', key: selfKey });
    otherCaKey = await makeEcKey();
    otherCa = await makeCert({ subject: 'other ca', key: otherCaKey, ca: true });
    foreignLeaf = await makeCert({
      subject: 'foreign',
      key: leafKey,
      issuer: { cert: otherCa, key: otherCaKey },
    });
    roots = trustRootsFromPem(
      `junk\n${toPem([ca, selfSigned])}-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n`
    );
  });

  describe('#trustRootsFromPem', () => {
    it('reads every certificate and indexes their keys by libtrust ID', () => {
      assert.equal(roots.certificates.length, 2);
      assert.deepEqual(
        [...roots.keys.keys()].sort(),
        [libtrustKeyId(ca.publicKey), libtrustKeyId(selfSigned.publicKey)].sort()
      );
    });

    it('refuses a bundle without certificates, or with a broken one', () => {
      assert.throws(
        () => trustRootsFromPem(''),
        (e) => isCountersignError(e, 'CONFIG_INVALID')
      );
      assert.throws(
        () => trustRootsFromCertificates([]),
        (e) => isCountersignError(e, 'CONFIG_INVALID')
      );
      const broken = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
      assert.throws(
        () => trustRootsFromPem(broken),
        (e) => isCountersignError(e, 'CONFIG_INVALID')
      );
    });
  });

  describe('#verifyCertificateChain', () => {
    it('accepts a leaf issued by a root, through an intermediate, or a root itself', () => {
      assert.equal(verifyCertificateChain([leaf], [ca], now), leaf);
      assert.equal(verifyCertificateChain([leafUnderInter, inter], [ca], now), leafUnderInter);
      assert.equal(verifyCertificateChain([selfSigned], [selfSigned], now), selfSigned);
    });

    it('refuses a chain that ends at a CA outside the bundle', () => {
      assert.throws(() => verifyCertificateChain([foreignLeaf], [ca], now), invalid);
      assert.throws(() => verifyCertificateChain([foreignLeaf, otherCa], [ca], now), invalid);
      assert.throws(
        () => verifyCertificateChain([leafUnderInter], [ca], now),
        invalid,
        'missing intermediate'
      );
    });

    it('refuses a leaf outside its validity period', async () => {
      const expired = await makeCert({
        subject: 'expired',
        key: leafKey,
        issuer: { cert: ca, key: caKey },
        notBefore: new Date(now.getTime() - 48 * HOUR),
        notAfter: new Date(now.getTime() - HOUR),
      });
      const future = await makeCert({
        subject: 'future',
        key: leafKey,
        issuer: { cert: ca, key: caKey },
        notBefore: new Date(now.getTime() + HOUR),
        notAfter: new Date(now.getTime() + 48 * HOUR),
      });
      assert.throws(
        () => verifyCertificateChain([expired], [ca], now),
        (e) => invalid(e) && /expired/.test(String(e))
      );
      assert.throws(() => verifyCertificateChain([future], [ca], now), invalid);
      assert.equal(verifyCertificateChain([leaf], [ca], new Date(now.getTime() + 2 * HOUR)), leaf);
      assert.throws(
        () => verifyCertificateChain([leaf], [ca], new Date(now.getTime() + 48 * HOUR)),
        invalid
      );
    });

    it('refuses an intermediate that is not a CA', async () => {
      const notCaKey = await makeEcKey();
      const notCa = await makeCert({
        subject: 'not a ca',
        key: notCaKey,
        issuer: { cert: ca, key: caKey },
      });
      const under = await makeCert({
        subject: 'under',
        key: leafKey,
        issuer: { cert: notCa, key: notCaKey },
      });
      assert.throws(() => verifyCertificateChain([under, notCa], [ca], now), invalid);
    });
  });

  describe('#resolveSigningKey', () => {
    const id = (k: TestKey) => libtrustKeyId(k.publicKey);

    it('takes the leaf key of an x5c chain, before jwk and kid', () => {
      const key = resolveSigningKey(
        { alg: 'ES256', x5c: [b64(leaf)], kid: id(selfKey) },
        roots,
        now
      );
      assert.equal(libtrustKeyId(key), id(leafKey));
    });

    it('refuses an x5c chain not in the bundle, even with a trusted kid beside it', () => {
      assert.throws(
        () =>
          resolveSigningKey(
            { alg: 'ES256', x5c: [b64(foreignLeaf)], kid: id(selfKey) },
            roots,
            now
          ),
        invalid
      );
      assert.throws(
        () => resolveSigningKey({ alg: 'ES256', x5c: ['not base64!'] }, roots, now),
        invalid
      );
      assert.throws(
        () =>
          resolveSigningKey(
            { alg: 'ES256', x5c: [Buffer.from('junk').toString('base64')] },
            roots,
            now
          ),
        invalid
      );
      const long = Array<string>(6).fill(b64(leaf));
      assert.throws(() => resolveSigningKey({ alg: 'ES256', x5c: long }, roots, now), invalid);
    });

    it('accepts a jwk only when it is a bundle key or chains to the bundle', () => {
      const jwk = selfKey.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
      assert.equal(
        libtrustKeyId(resolveSigningKey({ alg: 'ES256', jwk }, roots, now)),
        id(selfKey)
      );
      const leafJwk = leafKey.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
      assert.throws(() => resolveSigningKey({ alg: 'ES256', jwk: leafJwk }, roots, now), invalid);
      const withChain = { ...leafJwk, x5c: [b64(leaf)] };
      assert.equal(
        libtrustKeyId(resolveSigningKey({ alg: 'ES256', jwk: withChain }, roots, now)),
        id(leafKey)
      );
      const mismatched = {
        ...(interKey.publicKey.export({ format: 'jwk' }) as object),
        x5c: [b64(leaf)],
      };
      assert.throws(
        () => resolveSigningKey({ alg: 'ES256', jwk: mismatched }, roots, now),
        invalid
      );
      const priv = selfKey.privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
      assert.throws(() => resolveSigningKey({ alg: 'ES256', jwk: priv }, roots, now), invalid);
      assert.throws(
        () => resolveSigningKey({ alg: 'ES256', jwk: { kty: 'EC' } }, roots, now),
        invalid
      );
    });

    it('looks a kid up among the bundle keys', () => {
      assert.equal(
        libtrustKeyId(resolveSigningKey({ alg: 'ES256', kid: id(caKey) }, roots, now)),
        id(caKey)
      );
      assert.throws(
        () => resolveSigningKey({ alg: 'ES256', kid: id(leafKey) }, roots, now),
        invalid
      );
      assert.throws(() => resolveSigningKey({ alg: 'ES256', kid: '' }, roots, now), invalid);
    });

    it('refuses a header that names no key', () => {
      assert.throws(() => resolveSigningKey({ alg: 'ES256' }, roots, now), invalid);
    });
  });
});
