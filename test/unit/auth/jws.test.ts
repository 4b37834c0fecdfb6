import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createHmac,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import {
  MAX_JWS_LENGTH,
  algorithmForKey,
  algorithmMismatch,
  base64UrlDecode,
  base64UrlEncode,
  parseCompactJws,
  signCompactJws,
  verifyJwsSignature,
  type JwsAlgorithm,
} from '../../../src/auth/jws.js';
import { isBearerChallengeError } from '../../../src/auth/token-error.js';
import { isCountersignError } from '../../../src/errors.js';

const ec = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve });
const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048 });
const KEYS: Record<JwsAlgorithm, { privateKey: KeyObject; publicKey: KeyObject }> = {
  ES256: ec('prime256v1'),
  ES384: ec('secp384r1'),
  ES512: ec('secp521r1'),
  RS256: rsa2048,
  RS384: rsa2048,
  RS512: rsa2048,
  PS256: rsa2048,
  PS384: rsa2048,
  PS512: rsa2048,
  EdDSA: generateKeyPairSync('ed25519'),
};

const invalid = (e: unknown) => isBearerChallengeError(e) && e.bearerError === 'invalid_token';
const b64 = (v: unknown) => base64UrlEncode(JSON.stringify(v));

describe('jws', () => {
  describe('base64url', () => {
    it('round-trips and refuses padding, other alphabets and non-canonical trailing bits', () => {
      assert.equal(base64UrlEncode(Buffer.from([0xfb, 0xff])), '-_8');
      assert.deepEqual(base64UrlDecode('-_8'), Buffer.from([0xfb, 0xff]));
      assert.equal(base64UrlDecode('-_8='), null);
      assert.equal(base64UrlDecode('+/8'), null);
      assert.equal(base64UrlDecode('-_9'), null); // last char carries non-zero unused bits
      assert.equal(base64UrlDecode('A'), null);
      assert.deepEqual(base64UrlDecode(''), Buffer.alloc(0));
    });
  });

  describe('#parseCompactJws', () => {
    let good = '';
    before(async () => {
      good = await signCompactJws({ typ: 'JWT' }, { a: 1 }, KEYS.ES256.privateKey);
    });

    it('splits header, payload, signing input and signature', () => {
      const jws = parseCompactJws(good);
      assert.equal(jws.header.alg, 'ES256');
      assert.deepEqual(jws.payload, { a: 1 });
      assert.equal(jws.signingInput, good.split('.').slice(0, 2).join('.'));
      assert.equal(jws.signature.length, 64);
    });

    it('refuses tokens over the size cap before decoding them', () => {
      assert.equal(MAX_JWS_LENGTH, 8192);
      const huge = `${b64({ alg: 'ES256' })}.${'A'.repeat(MAX_JWS_LENGTH)}.AA`;
      assert.throws(
        () => parseCompactJws(huge),
        (e) => invalid(e) && /longer than/.test((e as Error).message)
      );
    });

    it('refuses malformed shapes', () => {
      const sig = good.split('.')[2]!;
      const cases = [
        'a.b',
        `${good}.x`,
        `${b64([1])}.${b64({})}.${sig}`, // header not an object
        `${b64({ alg: 'ES256' })}.${b64('str')}.${sig}`, // payload not an object
        `${b64({ alg: 'ES256' })}.${base64UrlEncode('{nope')}.${sig}`,
        `${b64({ alg: 'ES256' })}.${base64UrlEncode(Buffer.from([0x7b, 0xff, 0x7d]))}.${sig}`, // not UTF-8
        `${b64({ typ: 'JWT' })}.${b64({})}.${sig}`, // no alg
        `${b64({ alg: 'ES256', kid: 7 })}.${b64({})}.${sig}`,
        `${b64({ alg: 'ES256', x5c: [] })}.${b64({})}.${sig}`,
        `${b64({ alg: 'ES256', x5c: 'abc' })}.${b64({})}.${sig}`,
        `${b64({ alg: 'ES256', jwk: [] })}.${b64({})}.${sig}`,
        `${b64({ alg: 'ES256', crit: ['exp'] })}.${b64({})}.${sig}`,
        `${b64({ alg: 'ES256' })}.${b64({})}.`, // empty signature
        `${b64({ alg: 'ES256' })}.${b64({})}.${sig}=`,
      ];
      for (const token of cases) assert.throws(() => parseCompactJws(token), invalid, token);
    });
  });

  describe('#signCompactJws / #verifyJwsSignature', () => {
    for (const alg of Object.keys(KEYS) as JwsAlgorithm[]) {
      it(`signs and verifies ${alg}`, async () => {
        const { privateKey, publicKey } = KEYS[alg];
        const token = await signCompactJws({ alg }, { sub: 'x' }, privateKey);
        const jws = parseCompactJws(token);
        assert.equal(jws.header.alg, alg);
        assert.equal(await verifyJwsSignature(jws, publicKey), true);
        const tampered = parseCompactJws(token.replace(/\.[^.]+\./, `.${b64({ sub: 'y' })}.`));
        assert.equal(await verifyJwsSignature(tampered, publicKey), false);
      });
    }

    it('writes ECDSA signatures as raw r‖s and refuses DER', async () => {
      const { privateKey, publicKey } = KEYS.ES256;
      const jws = parseCompactJws(await signCompactJws({}, { a: 1 }, privateKey));
      assert.equal(await verifyJwsSignature(jws, publicKey), true);
      const der = sign('sha256', Buffer.from(jws.signingInput), privateKey); // DER by default
      assert.equal(await verifyJwsSignature({ ...jws, signature: der }, publicKey), false);
    });

    it('refuses a flipped signature bit', async () => {
      const { privateKey, publicKey } = KEYS.ES256;
      const jws = parseCompactJws(await signCompactJws({}, { a: 1 }, privateKey));
      const sig = Buffer.from(jws.signature);
      sig[10] = sig[10]! ^ 0x01;
      assert.equal(await verifyJwsSignature({ ...jws, signature: sig }, publicKey), false);
    });

    it('refuses alg none', async () => {
      const token = `${b64({ alg: 'none' })}.${b64({ sub: 'x' })}.${base64UrlEncode('x')}`;
      const jws = parseCompactJws(token);
      for (const { publicKey } of Object.values(KEYS))
        assert.equal(await verifyJwsSignature(jws, publicKey), false);
      assert.match(algorithmMismatch('none', KEYS.ES256.publicKey)!, /not accepted/);
    });

    it('refuses HS256 signed with the public key as the HMAC secret', async () => {
      const { publicKey } = KEYS.RS256;
      const pem = publicKey.export({ type: 'spki', format: 'pem' });
      const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'attacker' })}`;
      const mac = createHmac('sha256', pem).update(input).digest();
      const jws = parseCompactJws(`${input}.${base64UrlEncode(mac)}`);
      assert.equal(await verifyJwsSignature(jws, publicKey), false);
      assert.equal(await verifyJwsSignature(jws, createSecretKey(Buffer.from(pem))), false);
      assert.equal(await verifyJwsSignature(jws, KEYS.ES256.publicKey), false);
    });

    it('refuses an alg that does not fit the key', async () => {
      const cases: [JwsAlgorithm, KeyObject][] = [
        ['ES384', KEYS.ES256.publicKey], // curve mismatch
        ['ES256', KEYS.RS256.publicKey],
        ['RS256', KEYS.ES256.publicKey],
        ['PS256', KEYS.EdDSA.publicKey],
        ['EdDSA', KEYS.ES256.publicKey],
        // jose over WebCrypto has no Ed448, nor has distribution's libtrust
        ['EdDSA', generateKeyPairSync('ed448').publicKey],
      ];
      for (const [alg, key] of cases) assert.notEqual(algorithmMismatch(alg, key), null, `${alg}`);
      // a genuine ES256 signature presented as ES384
      const token = await signCompactJws({}, { a: 1 }, KEYS.ES256.privateKey);
      const [, p, s] = token.split('.');
      const relabelled = parseCompactJws(`${b64({ alg: 'ES384' })}.${p}.${s}`);
      assert.equal(await verifyJwsSignature(relabelled, KEYS.ES256.publicKey), false);
      // and signing refuses the mismatch too
      await assert.rejects(
        () => signCompactJws({ alg: 'RS256' }, {}, KEYS.ES256.privateKey),
        (e) => isCountersignError(e, 'KEY_UNSUPPORTED')
      );
      await assert.rejects(
        () => signCompactJws({ alg: 'HS256' }, {}, KEYS.ES256.privateKey),
        (e) => isCountersignError(e, 'KEY_UNSUPPORTED')
      );
    });

    it('refuses RSA keys under 2048 bits', async () => {
      const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
      assert.match(algorithmMismatch('RS256', small.publicKey)!, /2048/);
      // A genuine RS256 signature by the small key does not verify either.
      const input = `${b64({ alg: 'RS256' })}.${b64({ sub: 'x' })}`;
      const sig = sign('sha256', Buffer.from(input), small.privateKey);
      const jws = parseCompactJws(`${input}.${base64UrlEncode(sig)}`);
      assert.equal(await verifyJwsSignature(jws, small.publicKey), false);
    });

    it('signs as node:crypto verifies it, and verifies what node:crypto signed', async () => {
      const { privateKey, publicKey } = KEYS.ES256;
      const jws = parseCompactJws(await signCompactJws({}, { a: 1 }, privateKey));
      const input = Buffer.from(jws.signingInput);
      const raw = { key: publicKey, dsaEncoding: 'ieee-p1363' as const };
      assert.equal(verify('sha256', input, raw, jws.signature), true);
      const ours = sign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      assert.equal(await verifyJwsSignature({ ...jws, signature: ours }, publicKey), true);
    });

    it('picks the algorithm from the key', () => {
      assert.equal(algorithmForKey(KEYS.ES256.privateKey), 'ES256');
      assert.equal(algorithmForKey(KEYS.ES384.publicKey), 'ES384');
      assert.equal(algorithmForKey(KEYS.ES512.publicKey), 'ES512');
      assert.equal(algorithmForKey(KEYS.RS256.publicKey), 'RS256');
      assert.equal(algorithmForKey(KEYS.EdDSA.publicKey), 'EdDSA');
      const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey;
      assert.throws(
        () => algorithmForKey(k1),
        (e) => isCountersignError(e, 'KEY_UNSUPPORTED')
      );
    });

    it('refuses to sign with a public key', async () => {
      await assert.rejects(
        () => signCompactJws({}, {}, createPublicKey(KEYS.ES256.privateKey)),
        (e) => isCountersignError(e, 'KEY_INVALID')
      );
    });
  });
});
