import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { p256 } from '@noble/curves/nist.js';
import { isCountersignError } from '../../../src/errors.js';
import {
  parseRoot,
  parseSnapshot,
  parseTargets,
  parseTimestamp,
  parseEnvelope,
} from '../../../src/tuf/metadata.js';
import {
  fileMetaOf,
  rememberVerifiedSignatures,
  signatureEntry,
  verifySignatures,
  checkNotExpired,
  checkFileMeta,
  isExpired,
} from '../../../src/tuf/verify.js';
import { validateRoot, baseRoleVerifier } from '../../../src/tuf/root.js';
import {
  findDelegation,
  pathAllowed,
  checkTargetsStructure,
} from '../../../src/tuf/delegations.js';
import { envelopeBytes, snapshotSigned } from '../../../src/tuf/build.js';
import { parseExpires, formatExpires } from '../../../src/tuf/time.js';
import { canonicalBytes } from '../../../src/canonical/encode.js';
import { PublicKey } from '../../../src/crypto/keys.js';
import {
  sign,
  plainKey,
  x509Key,
  rootSigned,
  targetsSigned,
  expiresIn,
  type TestKey,
} from '../../helpers/tuf-builder.js';

const GUN = 'example.com/acme/web';
const code = (c: string) => (e: unknown) => isCountersignError(e) && e.code === c;

function resign(
  raw: Buffer,
  mutate: (env: { signed: Record<string, unknown>; signatures: Record<string, unknown>[] }) => void
): Buffer {
  const env = JSON.parse(raw.toString()) as {
    signed: Record<string, unknown>;
    signatures: Record<string, unknown>[];
  };
  mutate(env);
  return Buffer.from(JSON.stringify(env));
}

async function repoKeys(): Promise<{
  root: TestKey;
  targets: TestKey;
  snapshot: TestKey;
  timestamp: TestKey;
}> {
  return {
    root: await x509Key(GUN),
    targets: plainKey('ecdsa'),
    snapshot: plainKey('ecdsa'),
    timestamp: plainKey('ed25519'),
  };
}

/** The keys' root, signed by its own root key. */
function rootOf(k: Awaited<ReturnType<typeof repoKeys>>) {
  return parseRoot(
    sign(
      rootSigned({
        root: [k.root],
        targets: [k.targets],
        snapshot: [k.snapshot],
        timestamp: [k.timestamp],
      }),
      [k.root]
    )
  );
}

describe('signature verification', () => {
  it('accepts ecdsa and eddsa signatures over the canonical form', async () => {
    const k = await repoKeys();
    const root = rootOf(k);
    const t = parseTargets(
      sign(targetsSigned({ targets: [{ name: 'v1', bytes: Buffer.from('x') }] }), [k.targets])
    );
    assert.deepEqual(
      [...verifySignatures(t, baseRoleVerifier(root.signed, 'targets'))],
      [k.targets.publicKey.id]
    );
    const ts = sign({ _type: 'Timestamp', expires: expiresIn(1), meta: {}, version: 1 }, [
      k.timestamp,
    ]);
    assert.equal(
      verifySignatures(parseTimestamp(ts), baseRoleVerifier(root.signed, 'timestamp')).size,
      1
    );
  });

  it('rejects a tampered signed object', async () => {
    const k = await repoKeys();
    const root = rootOf(k);
    const raw = resign(sign(targetsSigned({ targets: [{ name: 'v1' }] }), [k.targets]), (e) => {
      (e.signed.targets as Record<string, unknown>).v2 = {
        hashes: { sha256: Buffer.alloc(32).toString('base64') },
        length: 1,
      };
    });
    assert.throws(
      () => verifySignatures(parseTargets(raw), baseRoleVerifier(root.signed, 'targets')),
      code('META_THRESHOLD')
    );
  });

  it('rejects a signature by a key the role does not list', async () => {
    const k = await repoKeys();
    const root = rootOf(k);
    const t = parseTargets(sign(targetsSigned({}), [plainKey()]));
    assert.throws(
      () => verifySignatures(t, baseRoleVerifier(root.signed, 'targets')),
      code('META_THRESHOLD')
    );
  });

  it('counts distinct key IDs toward the threshold', async () => {
    const a = plainKey(),
      b = plainKey();
    const verifier = {
      name: 'targets',
      keys: new Map([
        [a.publicKey.id, a.publicKey],
        [b.publicKey.id, b.publicKey],
      ]),
      threshold: 2,
    };
    const once = sign(targetsSigned({}), [a]);
    const twice = resign(once, (e) => e.signatures.push({ ...e.signatures[0] }));
    assert.throws(() => verifySignatures(parseTargets(twice), verifier), code('META_THRESHOLD'));
    assert.equal(verifySignatures(parseTargets(sign(targetsSigned({}), [a, b])), verifier).size, 2);
  });

  it('refuses DER-encoded ECDSA signatures (notary wants raw r‖s)', () => {
    const a = plainKey('ecdsa');
    const signed = targetsSigned({});
    const raw = sign(signed, [a]);
    const der = resign(raw, (e) => {
      const compact = Buffer.from(e.signatures[0]!.sig as string, 'base64');
      e.signatures[0]!.sig = Buffer.from(
        p256.Signature.fromBytes(compact, 'compact').toBytes('der')
      ).toString('base64');
    });
    const verifier = {
      name: 'targets',
      keys: new Map([[a.publicKey.id, a.publicKey]]),
      threshold: 1,
    };
    assert.equal(verifySignatures(parseTargets(raw), verifier).size, 1);
    assert.throws(() => verifySignatures(parseTargets(der), verifier), code('META_THRESHOLD'));
  });

  it('accepts high-S ECDSA signatures, as Go does', () => {
    const a = plainKey('ecdsa');
    const raw = resign(sign(targetsSigned({}), [a]), (e) => {
      const sig = p256.Signature.fromBytes(
        Buffer.from(e.signatures[0]!.sig as string, 'base64'),
        'compact'
      );
      const high = new p256.Signature(sig.r, p256.Point.CURVE().n - sig.s);
      e.signatures[0]!.sig = Buffer.from(high.toBytes('compact')).toString('base64');
    });
    const verifier = {
      name: 'targets',
      keys: new Map([[a.publicKey.id, a.publicKey]]),
      threshold: 1,
    };
    assert.equal(verifySignatures(parseTargets(raw), verifier).size, 1);
  });

  it('lets the key type, not the method label, pick the algorithm', () => {
    const a = plainKey('ecdsa');
    const relabelled = resign(
      sign(targetsSigned({}), [a]),
      (e) => (e.signatures[0]!.method = 'eddsa')
    );
    const verifier = {
      name: 'targets',
      keys: new Map([[a.publicKey.id, a.publicKey]]),
      threshold: 1,
    };
    assert.throws(
      () => verifySignatures(parseTargets(relabelled), verifier),
      code('META_THRESHOLD')
    );
    const upper = resign(sign(targetsSigned({}), [a]), (e) => (e.signatures[0]!.method = 'ECDSA'));
    assert.equal(
      verifySignatures(parseTargets(upper), verifier).size,
      1,
      'methods are matched case-insensitively'
    );
  });

  it('treats a key whose content does not match its declared ID as a hard error', () => {
    const a = plainKey(),
      b = plainKey();
    const raw = sign(targetsSigned({}), [a]);
    const verifier = {
      name: 'targets',
      keys: new Map([[a.publicKey.id, b.publicKey]]),
      threshold: 1,
    };
    assert.throws(() => verifySignatures(parseTargets(raw), verifier), code('KEY_ID_MISMATCH'));
  });

  it('rejects metadata with no signatures', () => {
    const raw = envelopeBytes(targetsSigned({}), []);
    assert.throws(
      () => verifySignatures(parseTargets(raw), { name: 'targets', keys: new Map(), threshold: 1 }),
      code('META_NO_SIGNATURES')
    );
  });
});

describe('signatures verified elsewhere (the upload worker)', () => {
  const key = plainKey('ecdsa');
  const other = plainKey('ecdsa');
  const role = (k: TestKey) => ({
    name: 'targets',
    keys: new Map([[k.publicKey.id, k.publicKey]]),
    threshold: 1,
  });
  // A signature that does not verify: only a remembered entry can make it count.
  const forged = (k: TestKey) =>
    resign(sign(targetsSigned({ targets: [] }), [k]), (env) => {
      env.signatures[0]!.sig = Buffer.alloc(64, 1).toString('base64');
    });

  it('a remembered entry stands in for the check of that key, method and signature', () => {
    const file = parseTargets(forged(key));
    assert.throws(() => verifySignatures(file, role(key)), code('META_THRESHOLD'));
    const s = file.signatures[0]!;
    rememberVerifiedSignatures(file, [signatureEntry(key.publicKey, s.method, s.sig)]);
    assert.deepEqual([...verifySignatures(file, role(key))], [key.publicKey.id]);
  });

  it('counts for nothing with another key, another method or on another file', () => {
    const file = parseTargets(forged(key));
    const s = file.signatures[0]!;
    rememberVerifiedSignatures(file, [
      signatureEntry(other.publicKey, s.method, s.sig),
      signatureEntry(key.publicKey, 'eddsa', s.sig),
    ]);
    assert.throws(() => verifySignatures(file, role(key)), code('META_THRESHOLD'));
    const twin = parseTargets(file.raw);
    assert.throws(() => verifySignatures(twin, role(key)), code('META_THRESHOLD'));
  });

  it('signatures not remembered are still verified over the canonical bytes', () => {
    const both = sign(targetsSigned({ targets: [] }), [key, other]);
    const file = parseTargets(both);
    const mine = file.signatures.find((x) => x.keyid === key.publicKey.id)!;
    rememberVerifiedSignatures(file, [signatureEntry(key.publicKey, mine.method, mine.sig)]);
    assert.deepEqual([...verifySignatures(file, role(other))], [other.publicKey.id]);
  });
});

describe('expiry and hashes', () => {
  it('counts expired strictly after expires', () => {
    const t = parseTargets(sign(targetsSigned({ expires: '2026-01-01T00:00:00Z' }), [plainKey()]));
    assert.equal(isExpired(t.signed, new Date('2026-01-01T00:00:00Z')), false);
    assert.equal(isExpired(t.signed, new Date('2026-01-01T00:00:00.001Z')), true);
    assert.throws(
      () => checkNotExpired(t.signed, 'targets', new Date('2027-01-01T00:00:00Z')),
      /targets expired at Thu Jan 1 00:00:00 UTC 2026/
    );
  });

  it('checks every known hash and the exact length', () => {
    const bytes = Buffer.from('hello');
    const good = { length: 5, hashes: { sha256: fileMetaOf(bytes).hashes.sha256 } };
    checkFileMeta(bytes, good, 'targets');
    assert.throws(
      () => checkFileMeta(Buffer.from('hellp'), good, 'targets'),
      /sha256 checksum for targets did not match/
    );
    assert.throws(
      () => checkFileMeta(bytes, { ...good, length: 6 }, 'targets'),
      code('META_HASH_MISMATCH')
    );
    assert.throws(
      () => checkFileMeta(bytes, { length: 5, hashes: { md5: 'AAAA' } }, 'targets/x'),
      /no checksums for supported algorithms were provided for targets\/x/
    );
  });
});

describe('root validation', () => {
  it('accepts a root signed by its own certificate key with CN = GUN', async () => {
    const k = await repoKeys();
    const root = rootOf(k);
    validateRoot(root, { gun: GUN, now: new Date(), checkExpiry: true });
  });

  it('refuses a certificate for another GUN, but accepts a matching wildcard', async () => {
    const other = await x509Key('example.com/other');
    const t = plainKey();
    const root = parseRoot(
      sign(rootSigned({ root: [other], targets: [t], snapshot: [t], timestamp: [t] }), [other])
    );
    assert.throws(
      () => validateRoot(root, { gun: GUN, now: new Date(), checkExpiry: true }),
      /unable to retrieve valid leaf certificates/
    );
    const wild = await x509Key('example.com/acme/*');
    const wroot = parseRoot(
      sign(rootSigned({ root: [wild], targets: [t], snapshot: [t], timestamp: [t] }), [wild])
    );
    validateRoot(wroot, { gun: GUN, now: new Date(), checkExpiry: true });
  });

  it('refuses an expired certificate and plain (non-x509) root keys', async () => {
    const old = await x509Key(GUN, {
      notBefore: new Date('2020-01-01'),
      notAfter: new Date('2021-01-01'),
    });
    const t = plainKey();
    const root = parseRoot(
      sign(rootSigned({ root: [old], targets: [t], snapshot: [t], timestamp: [t] }), [old])
    );
    assert.throws(
      () => validateRoot(root, { gun: GUN, now: new Date(), checkExpiry: true }),
      code('CERT_INVALID')
    );
    const plain = parseRoot(
      sign(rootSigned({ root: [t], targets: [t], snapshot: [t], timestamp: [t] }), [t])
    );
    assert.throws(
      () => validateRoot(plain, { gun: GUN, now: new Date(), checkExpiry: true }),
      code('CERT_INVALID')
    );
  });

  it('needs the previous root threshold for a rotation (old and new keys)', async () => {
    const k = await repoKeys();
    const next = await x509Key(GUN);
    const v1 = rootOf(k);
    const spec = {
      root: [next],
      targets: [k.targets],
      snapshot: [k.snapshot],
      timestamp: [k.timestamp],
      version: 2,
    };
    const onlyNew = parseRoot(sign(rootSigned(spec), [next]));
    assert.throws(
      () => validateRoot(onlyNew, { gun: GUN, now: new Date(), previous: v1, checkExpiry: true }),
      /could not rotate trust to a new trusted root/
    );
    const both = parseRoot(sign(rootSigned(spec), [k.root, next]));
    validateRoot(both, { gun: GUN, now: new Date(), previous: v1, checkExpiry: true });
    const onlyOld = parseRoot(sign(rootSigned(spec), [k.root]));
    assert.throws(
      () => validateRoot(onlyOld, { gun: GUN, now: new Date(), previous: v1, checkExpiry: true }),
      /failed to validate integrity of roots/
    );
  });

  it('computes x509 key IDs over Go-formatted PEM, so other PEM layouts do not match', async () => {
    const k = await repoKeys();
    const pem = Buffer.from(k.root.publicKey.publicB64, 'base64').toString().replace(/\n/g, '\r\n');
    const crlf = new PublicKey('ecdsa-x509', Buffer.from(pem).toString('base64'));
    const crlfKey = { signing: k.root.signing, publicKey: crlf };
    const root = parseRoot(
      sign(
        rootSigned({
          root: [crlfKey],
          targets: [k.targets],
          snapshot: [k.snapshot],
          timestamp: [k.timestamp],
        }),
        [crlfKey]
      )
    );
    assert.throws(
      () => validateRoot(root, { gun: GUN, now: new Date(), checkExpiry: true }),
      /failed to validate integrity of roots/
    );
  });

  it('gives the canonical ID of an x509 key as the ID of its bare public key', async () => {
    const k = await x509Key(GUN);
    assert.notEqual(k.publicKey.canonicalId(), k.publicKey.id);
    assert.equal(k.publicKey.canonicalId(), k.signing.publicKey.id);
  });
});

describe('delegations', () => {
  it('walks from targets through listed roles, narrowing paths', () => {
    const a = plainKey(),
      b = plainKey();
    const top = parseTargets(
      sign(
        targetsSigned({
          delegations: {
            keys: [a],
            roles: [{ name: 'targets/releases', keyids: [a.publicKey.id], paths: ['v1', 'v2'] }],
          },
        }),
        [plainKey()]
      )
    ).signed;
    const rel = parseTargets(
      sign(
        targetsSigned({
          delegations: {
            keys: [b],
            roles: [
              { name: 'targets/releases/qa', keyids: [b.publicKey.id], paths: ['v1.5', 'x'] },
            ],
          },
        }),
        [a]
      )
    ).signed;
    const loaded = (r: string) =>
      r === 'targets' ? top : r === 'targets/releases' ? rel : undefined;
    assert.deepEqual(findDelegation('targets/releases', loaded).paths, ['v1', 'v2']);
    assert.deepEqual(findDelegation('targets/releases/qa', loaded).paths, ['v1.5']);
    assert.throws(() => findDelegation('targets/alice', loaded), /delegation does not exist/);
    assert.equal(pathAllowed('v1.0', ['v1']), true);
    assert.equal(pathAllowed('w', ['v1']), false);
    assert.equal(pathAllowed('anything', ['']), true);
  });

  it('rejects a delegation threshold above its number of keys, and non-child roles', () => {
    const a = plainKey();
    const over = parseTargets(
      sign(
        targetsSigned({
          delegations: {
            keys: [a],
            roles: [{ name: 'targets/x', keyids: [a.publicKey.id], threshold: 2, paths: [''] }],
          },
        }),
        [a]
      )
    ).signed;
    assert.throws(() => checkTargetsStructure(over, 'targets'), /threshold 2 above its 1 keys/);
    const grandchild = parseTargets(
      sign(
        targetsSigned({
          delegations: {
            keys: [a],
            roles: [{ name: 'targets/x/y', keyids: [a.publicKey.id], paths: [''] }],
          },
        }),
        [a]
      )
    ).signed;
    assert.throws(
      () => checkTargetsStructure(grandchild, 'targets'),
      /invalid delegation role name/
    );
  });
});

describe('builders', () => {
  it('writes envelopes as Go does: canonical signed, HTML-escaped, keyid/method/sig', () => {
    const a = plainKey('ed25519');
    const signed = snapshotSigned({
      updated: new Map([['targets/<&>', Buffer.from('x')]]),
      version: 3,
      expires: new Date('2030-01-02T03:04:05.678Z'),
    });
    const raw = sign(signed, [a]);
    const text = raw.toString();
    assert.match(
      text,
      /^\{"signed":\{"_type":"Snapshot","expires":"2030-01-02T03:04:05.678Z","meta":\{"targets\/\\u003c\\u0026\\u003e":\{"hashes":\{"sha256":"[^"]+","sha512":"[^"]+"\},"length":1\}\},"version":3\},"signatures":\[\{"keyid":"[0-9a-f]{64}","method":"eddsa","sig":"[^"]+"\}\]\}$/
    );
    // The signature is over the unescaped canonical bytes.
    const env = parseEnvelope(raw);
    assert.ok(canonicalBytes(env.signedJSON).includes(Buffer.from('targets/<&>')));
    assert.equal(
      verifySignatures(parseSnapshot(raw), {
        name: 'snapshot',
        keys: new Map([[a.publicKey.id, a.publicKey]]),
        threshold: 1,
      }).size,
      1
    );
  });
});

describe('expires', () => {
  it('accepts any RFC 3339 offset and 0–9 fractional digits', () => {
    assert.equal(
      parseExpires('2026-12-11T05:37:17.246138112Z', 'e').toISOString(),
      '2026-12-11T05:37:17.246Z'
    );
    assert.equal(
      parseExpires('2026-12-11T06:37:17+01:00', 'e').toISOString(),
      '2026-12-11T05:37:17.000Z'
    );
    assert.equal(
      parseExpires('2026-12-11T05:37:17.1-00:30', 'e').toISOString(),
      '2026-12-11T06:07:17.100Z'
    );
    for (const bad of [
      '2026-12-11 05:37:17Z',
      '2026-02-30T00:00:00Z',
      '2026-12-11T05:37:17.1234567891Z',
      '2026-12-11T05:37:17',
      1,
    ]) {
      assert.throws(() => parseExpires(bad, 'e'), code('META_SHAPE'));
    }
    assert.equal(formatExpires(new Date('2026-01-01T00:00:00.000Z')), '2026-01-01T00:00:00Z');
  });
});
