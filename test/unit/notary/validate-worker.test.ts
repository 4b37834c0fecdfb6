/**
 * Parsing large uploads in a worker thread (src/notary/validate-worker.ts) gives the same
 * verdicts and the same parsed values as parsing inline: a differential over valid and broken
 * targets files, through the real worker thread; then uploads through the whole app.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  goDecodesAsSignedMeta,
  parseTargets,
  type SignedFile,
  type Targets,
} from '../../../src/tuf/metadata.js';
import { readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { sha256, sha512 } from '../../../src/crypto/hash.js';
import { PublicKey } from '../../../src/crypto/keys.js';
import { signaturesVerifiedElsewhere, verifySignatures } from '../../../src/tuf/verify.js';
import {
  ValidationWorker,
  PREPARE_MIN_BYTES,
  WORKER_NICE,
  WORKER_YOUNG_GENERATION_MB,
} from '../../../src/notary/validate-worker.js';
import {
  expiresIn,
  manyTargets,
  plainKey,
  sign,
  targetsSigned,
  type TestKey,
} from '../../helpers/tuf-builder.js';
import { publishRepo, post, startTestApp, tuf, type TestApp } from '../../helpers/app.js';

const FIXED_EXPIRY = '2030-01-01T00:00:00Z';
const key = plainKey('ecdsa');
const delegate = plainKey('ed25519');

/** A 3,000-target file (over PREPARE_MIN_BYTES) at VERSION, signed by SIGNER (`key` unless given). */
const bigTargets = (version: number, signer: TestKey = key) =>
  sign(targetsSigned({ targets: manyTargets(3000), version, expires: expiresIn(30) }), [signer]);

const valid = targetsSigned({ targets: manyTargets(3), expires: FIXED_EXPIRY });
const withDelegation = targetsSigned({
  targets: manyTargets(2),
  delegations: {
    keys: [delegate],
    roles: [{ name: 'targets/releases', keyids: [delegate.publicKey.id], paths: ['app-'] }],
  },
  expires: FIXED_EXPIRY,
});
const text = (s: string) => Buffer.from(s);
const envelope = (signed: unknown, signatures: unknown = []) =>
  Buffer.from(JSON.stringify({ signed, signatures }));

/** Role files as a client could send them: valid ones and one per kind of parse failure. */
const CASES: readonly [string, string, Buffer][] = [
  ['valid, 3 targets', 'targets', sign(valid, [key])],
  ['valid, 5,000 targets', 'targets', sign(targetsSigned({ targets: manyTargets(5000) }), [key])],
  ['a delegation, as a delegated role', 'targets/releases', sign(withDelegation, [delegate])],
  ['with delegations', 'targets', sign(withDelegation, [key])],
  ['unsigned', 'targets', envelope(valid)],
  [
    'a forged signature',
    'targets',
    envelope(valid, [{ keyid: key.publicKey.id, method: 'ecdsa', sig: 'AAAA' }]),
  ],
  ['an unknown field in signed', 'targets', envelope({ ...valid, extra: { a: [1, 2] } })],
  ['Go-cased field names', 'targets', envelope({ ...valid, Version: 3 })],
  ['not JSON', 'targets', text('{"signed": {')],
  [
    'a byte-order mark',
    'targets',
    Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), sign(valid, [key])]),
  ],
  [
    'invalid UTF-8 in a target name',
    'targets',
    Buffer.concat([
      text('{"signed":{"_type":"Targets","targets":{"'),
      Buffer.from([0xff]),
      text(
        '":{"length":1,"hashes":{"sha256":"AA=="}}},"version":1,"expires":"2030-01-01T00:00:00Z"},"signatures":[]}'
      ),
    ]),
  ],
  [
    'version written as 2.0',
    'targets',
    text(
      `{"signed":{"_type":"Targets","targets":{},"version":2.0,"expires":"${FIXED_EXPIRY}"},"signatures":[]}`
    ),
  ],
  [
    'a length written as 1e3',
    'targets',
    text(
      `{"signed":{"_type":"Targets","targets":{"a":{"length":1e3,"hashes":{"sha256":"AA=="}}},"version":2,"expires":"${FIXED_EXPIRY}"},"signatures":[]}`
    ),
  ],
  [
    'a negative length',
    'targets',
    envelope({ ...valid, targets: { a: { length: -1, hashes: { sha256: 'AA==' } } } }),
  ],
  ['a target without hashes', 'targets', envelope({ ...valid, targets: { a: { length: 1 } } })],
  ['the wrong _type', 'targets', envelope({ ...valid, _type: 'Root' })],
  ['expires not a time', 'targets', envelope({ ...valid, expires: 'tomorrow' })],
  [
    'delegation roles not an array',
    'targets',
    envelope({ ...withDelegation, delegations: { keys: {}, roles: {} } }),
  ],
  [
    'a delegation key of an unknown type',
    'targets',
    envelope({
      ...withDelegation,
      delegations: {
        keys: { x: { keytype: 'dsa', keyval: { public: 'AA==', private: null } } },
        roles: [],
      },
    }),
  ],
  [
    'signatures not an array',
    'targets',
    Buffer.from(JSON.stringify({ signed: valid, signatures: {} })),
  ],
  [
    'nested deeper than the limit',
    'targets',
    text(`{"signed":${'['.repeat(1200)}${']'.repeat(1200)},"signatures":[]}`),
  ],
  ['a root (only the decode check moves)', 'root', sign(valid, [key])],
];

/** What inline parsing yields: an error message, or the values the update path reads. */
function inline(
  role: string,
  data: Buffer
): { decodes: boolean; file?: ReturnType<typeof view>; error?: string } {
  const decodes = goDecodesAsSignedMeta(data);
  if (!decodes || (role !== 'targets' && !role.startsWith('targets/'))) return { decodes };
  try {
    return { decodes, file: view(parseTargets(data)) };
  } catch (err) {
    return { decodes, error: (err as Error).message };
  }
}

function view(f: SignedFile<Targets>) {
  return {
    type: f.signed.type,
    version: f.signed.version,
    expires: f.signed.expires.toISOString(),
    targets: [...f.signed.targets],
    targetCount: f.signed.targets.size,
    delegationKeys: [...f.signed.delegations.keys].map(([id, k]) => [id, k.id, k.toJSON()]),
    delegationRoles: f.signed.delegations.roles,
    signatures: f.signatures,
    canonical: f.canonical().toString('base64'),
    signedJSON: f.signedJSON,
    raw: f.raw.toString('base64'),
  };
}

describe('validation in a worker thread', () => {
  const worker = new ValidationWorker(0);
  after(() => worker.close());

  /** The same bytes in shared memory, as src/http/multipart.ts hands large parts over. */
  const shared = (data: Buffer) => {
    const out = Buffer.from(new SharedArrayBuffer(data.length));
    data.copy(out);
    return out;
  };
  for (const [label, role, data, memory] of CASES.flatMap(([l, r, d]) => [
    [l, r, d, 'a copy'] as const,
    [l, r, d, 'shared memory'] as const,
  ])) {
    it(`same verdict as inline: ${label} (${memory})`, async () => {
      const expected = inline(role, data);
      const part = { role, data: memory === 'shared memory' ? shared(data) : data };
      const [prepared] = await worker.prepare([part]);
      assert.ok(part.data.equals(data), 'the part is left as it was');
      assert.ok(prepared, 'every part is handed to the worker at minBytes 0');
      assert.equal(prepared.decodes, expected.decodes);
      // The digests the worker remembered for the part (or none) are its bytes' own.
      assert.ok(sha256(part.data).equals(createHash('sha256').update(data).digest()));
      assert.ok(sha512(part.data).equals(createHash('sha512').update(data).digest()));
      if (expected.file) {
        assert.ok(prepared.targets, 'a file that parses inline parses in the worker');
        // The size is known before the entries are parsed again on the main thread.
        assert.equal(prepared.targets.signed.targets.size, expected.file.targetCount);
        assert.deepEqual(view(prepared.targets), expected.file);
      } else {
        assert.equal(prepared.targets, undefined, 'a failure is left to the inline parser');
      }
    });
  }

  it('keeps the order of the parts and leaves small parts on the main thread', async () => {
    const sized = new ValidationWorker(PREPARE_MIN_BYTES);
    try {
      const small = sign(valid, [key]);
      const big = sign(targetsSigned({ targets: manyTargets(2000) }), [key]);
      assert.ok(small.length < PREPARE_MIN_BYTES && big.length >= PREPARE_MIN_BYTES);
      const out = await sized.prepare([
        { role: 'targets', data: small },
        { role: 'targets', data: big },
        { role: 'snapshot', data: text('nope') },
      ]);
      assert.equal(out[0], undefined);
      assert.equal(out[1]?.targets?.signed.targets.size, 2000);
      assert.equal(out[2], undefined);
    } finally {
      await sized.close();
    }
  });

  describe('signatures checked in the worker with the keys the root is expected to list', () => {
    const other = plainKey('ecdsa');
    const candidates =
      (...keys: PublicKey[]) =>
      () =>
        Promise.resolve(keys.map((k) => ({ keytype: k.keyType, public: k.publicB64 })));
    const roleOf = (k: PublicKey) => ({
      name: 'targets',
      keys: new Map([[k.id, k]]),
      threshold: 1,
    });
    /** Whether the main thread holds the file's canonical bytes (a private field, peeked at). */
    const hasCanonical = (f: SignedFile<Targets>) =>
      (f as unknown as { canonicalCache?: Buffer }).canonicalCache !== undefined;

    it('verified there: remembered, and the canonical bytes stay in the worker', async () => {
      const data = sign(valid, [key]);
      const [p] = await worker.prepare([{ role: 'targets', data }], candidates(key.publicKey));
      assert.ok(p?.targets);
      assert.equal(signaturesVerifiedElsewhere(p.targets).size, 1);
      assert.equal(hasCanonical(p.targets), false, 'no 1 MB of canonical bytes for the event loop');
      assert.deepEqual([...verifySignatures(p.targets, roleOf(key.publicKey))], [key.publicKey.id]);
      assert.equal(hasCanonical(p.targets), false, 'and none computed to verify');
    });

    it('a signature that does not verify: nothing remembered, the canonical bytes come back', async () => {
      const data = envelope(valid, [{ keyid: key.publicKey.id, method: 'ecdsa', sig: 'AAAA' }]);
      const [p] = await worker.prepare([{ role: 'targets', data }], candidates(key.publicKey));
      assert.ok(p?.targets);
      assert.equal(signaturesVerifiedElsewhere(p.targets).size, 0);
      assert.equal(hasCanonical(p.targets), true);
      assert.throws(() => verifySignatures(p.targets!, roleOf(key.publicKey)), /threshold/);
    });

    it('keys that changed since the hint: the other signature is verified from the raw bytes', async () => {
      const data = sign(valid, [key, other]);
      const [p] = await worker.prepare([{ role: 'targets', data }], candidates(key.publicKey));
      assert.ok(p?.targets);
      assert.equal(hasCanonical(p.targets), false);
      assert.deepEqual(
        [...verifySignatures(p.targets, roleOf(other.publicKey))],
        [other.publicKey.id]
      );
    });

    it('a hint that fails is no hint', async () => {
      const data = sign(valid, [key]);
      const [p] = await worker.prepare([{ role: 'targets', data }], () =>
        Promise.reject(new Error('storage down'))
      );
      assert.ok(p?.targets);
      assert.equal(signaturesVerifiedElsewhere(p.targets).size, 0);
      assert.deepEqual([...verifySignatures(p.targets, roleOf(key.publicKey))], [key.publicKey.id]);
    });
  });

  it('runs with a small young generation (memory: docs/performance.md)', async () => {
    await worker.prepare([{ role: 'targets', data: sign(valid, [key]) }]);
    assert.equal(worker.heapLimits?.maxYoungGenerationSizeMb, WORKER_YOUNG_GENERATION_MB);
    // A large file still parses there: 20,000 targets (about 2 MB) with the limit in place.
    const big = sign(targetsSigned({ targets: manyTargets(20_000) }), [key]);
    const [p] = await worker.prepare([{ role: 'targets', data: big }]);
    assert.equal(p?.targets?.signed.targets.size, 20_000);
  });

  it('runs at a lower priority than the event loop (Linux: the thread’s nice value)', async () => {
    await worker.prepare([{ role: 'targets', data: sign(valid, [key]) }]);
    const niceOf = (tid: string) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // Field 19 (nice) counted after the command name, which is in parentheses.
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    };
    const nices = readdirSync('/proc/self/task').map(niceOf);
    const want = Math.min(19, niceOf(String(process.pid)) + WORKER_NICE);
    assert.ok(nices.includes(want), `a thread at nice ${want}: ${nices.join(' ')}`);
  });

  it('stops an idle thread and starts another for the next upload', async () => {
    const brief = new ValidationWorker(0, 50);
    try {
      await brief.prepare([{ role: 'targets', data: sign(valid, [key]) }]);
      assert.equal(brief.running, true);
      for (let i = 0; i < 500 && brief.running; i++)
        await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(brief.running, false, 'stopped after 50 ms without work');
      const [again] = await brief.prepare([{ role: 'targets', data: sign(valid, [key]) }]);
      assert.equal(again?.targets?.signed.version, 1);
      assert.equal(brief.running, true);
    } finally {
      await brief.close();
    }
  });

  it('a large declared upload starts the thread before its body arrives; an unused one stops again', async () => {
    const early = new ValidationWorker(PREPARE_MIN_BYTES, 50);
    try {
      early.warm(PREPARE_MIN_BYTES - 1);
      assert.equal(early.running, false, 'a small upload starts nothing');
      early.warm(PREPARE_MIN_BYTES);
      assert.equal(early.running, true);
      for (let i = 0; i < 500 && early.running; i++)
        await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(early.running, false, 'no part came: stopped after 50 ms');
    } finally {
      await early.close();
    }
  });

  it('a closed worker is started again on the next upload', async () => {
    await worker.close();
    const [again] = await worker.prepare([{ role: 'targets', data: sign(valid, [key]) }]);
    assert.equal(again?.targets?.signed.version, 1);
  });
});

describe('large uploads through the app', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  it('stores and serves a large targets file parsed in the worker', async () => {
    const repo = await publishRepo(t, 'example.com/worker/ok');
    const data = bigTargets(2, repo.targetsKey);
    assert.ok(data.length >= PREPARE_MIN_BYTES);
    const res = await post(t, repo.gun, { targets: data });
    assert.equal(res.status, 200, res.text);
    const got = await t.http.get(tuf(repo.gun, 'targets.json')).expect(200);
    assert.ok(Buffer.from(got.text).equals(data));
    // The digests the worker computed went into the server's snapshot and the stored row.
    const hex = createHash('sha256').update(data).digest('hex');
    const snapshot = JSON.parse(
      (await t.http.get(tuf(repo.gun, 'snapshot.json')).expect(200)).text
    );
    assert.deepEqual(snapshot.signed.meta.targets, {
      hashes: {
        sha256: Buffer.from(hex, 'hex').toString('base64'),
        sha512: createHash('sha512').update(data).digest('base64'),
      },
      length: data.length,
    });
    const byChecksum = await t.http.get(tuf(repo.gun, `targets.${hex}.json`)).expect(200);
    assert.ok(Buffer.from(byChecksum.text).equals(data));
  });

  it('verifies its signature in the worker with the stored root’s targets keys, not on the event loop', async () => {
    const repo = await publishRepo(t, 'example.com/worker/verified');
    const data = bigTargets(2, repo.targetsKey);
    // Signature checks over large messages made on this (the main) thread during the upload.
    const original = Object.getOwnPropertyDescriptor(PublicKey.prototype, 'verify')!;
    let largeChecks = 0;
    const verify = original.value as PublicKey['verify'];
    PublicKey.prototype.verify = function (
      this: PublicKey,
      ...args: Parameters<PublicKey['verify']>
    ) {
      if (args[1].length >= PREPARE_MIN_BYTES) largeChecks++;
      return verify.apply(this, args);
    };
    try {
      const res = await post(t, repo.gun, { targets: data });
      assert.equal(res.status, 200, res.text);
    } finally {
      Object.defineProperty(PublicKey.prototype, 'verify', original);
    }
    assert.equal(largeChecks, 0);
  });

  it('refuses a large targets file signed by a key the root does not list, storing nothing', async () => {
    const repo = await publishRepo(t, 'example.com/worker/forged');
    const before = await t.http.get(tuf(repo.gun, 'targets.json')).expect(200);
    const res = await post(t, repo.gun, { targets: bigTargets(2) });
    assert.equal(res.status, 400);
    assert.equal(res.body.errors[0].code, 'INVALID_UPDATE');
    assert.equal(res.body.errors[0].detail.Name, 'ErrBadTargets');
    const afterwards = await t.http.get(tuf(repo.gun, 'targets.json')).expect(200);
    assert.equal(afterwards.text, before.text);
  });

  it('refuses a large part that is not JSON as notary does (MALFORMED_JSON)', async () => {
    const repo = await publishRepo(t, 'example.com/worker/malformed');
    const broken = Buffer.concat([bigTargets(2).subarray(0, PREPARE_MIN_BYTES + 10)]);
    const res = await post(t, repo.gun, { targets: broken });
    assert.equal(res.status, 400);
    assert.equal(res.body.errors[0].code, 'MALFORMED_JSON');
  });
});

describe('countersign.limits.parseInWorkerBytes', () => {
  it('refuses a negative size at start', async () => {
    await assert.rejects(
      startTestApp({ countersign: { limits: { parseInWorkerBytes: -1 } } }),
      (err: Error & { code?: string }) =>
        err.code === 'CONFIG_INVALID' && /parseInWorkerBytes/.test(err.message)
    );
  });

  it('at 0 parses on the event loop, with the same verdicts', async () => {
    const t = await startTestApp({ countersign: { limits: { parseInWorkerBytes: 0 } } });
    try {
      const repo = await publishRepo(t, 'example.com/worker/inline');
      const refused = await post(t, repo.gun, { targets: bigTargets(2, key) });
      assert.equal(refused.body.errors[0].detail.Name, 'ErrBadTargets');
      assert.equal(
        (await post(t, repo.gun, { targets: bigTargets(2, repo.targetsKey) })).status,
        200
      );
    } finally {
      await t.close();
    }
  });
});
