/**
 * The client workflow over metadata the real notary tools made (fixtures/notary) served from
 * memory: every scenario verifies, tags resolve as docker resolves them, and derived variants
 * (rollback, tampered snapshot, bad signature, expiry, broken root chain, foreign pins) fail
 * exactly the check they should.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  verifyRepository,
  type VerificationResult,
  type VerifyOptions,
} from '../../../src/client/index.js';
import { ManualClock } from '../../../src/util/clock.js';
import { parseEnvelope } from '../../../src/tuf/metadata.js';
import { loadScenario, scenarioNames } from '../../helpers/notary-fixtures.js';
import { MemorySource, captureTime, sha256Hex } from './memory-source.js';
import { makeTestCa } from './repo-builder.js';

const EXPECTED: Record<string, Record<string, number>> = {
  'ecdsa-root': { root: 2, timestamp: 7, snapshot: 8, targets: 7 },
  delegation: {
    root: 1,
    timestamp: 6,
    snapshot: 7,
    targets: 5,
    'targets/releases': 1,
    'targets/alice': 1,
  },
  'root-rotation': { root: 3, timestamp: 5, snapshot: 6, targets: 4 },
  'rsa-root': { root: 1, timestamp: 2, snapshot: 3, targets: 3 },
  docker: {
    root: 1,
    timestamp: 3,
    snapshot: 3,
    targets: 2,
    'targets/releaser': 1,
    'targets/releases': 1,
  },
  'ecdsa-signer': { root: 2, timestamp: 6, snapshot: 7, targets: 6 },
};

async function verify(
  src: MemorySource,
  extra: Partial<VerifyOptions> = {}
): Promise<VerificationResult> {
  return verifyRepository({
    source: src,
    gun: src.gun,
    clock: new ManualClock(captureTime(src)),
    ...extra,
  });
}

const check = (r: VerificationResult, name: string) => {
  const c = r.checks.find((x) => x.name === name);
  assert.ok(c, `check ${name} present`);
  return c;
};

function assertOnlyFailing(r: VerificationResult, failing: string[]): void {
  for (const c of r.checks) {
    assert.equal(c.passed, !failing.includes(c.name), `${c.name}: ${c.detail}`);
  }
  assert.equal(r.ok, failing.length === 0);
}

/** The same bytes with one base64 character of the first signature changed: same length, other content. */
function flipSignature(raw: Buffer): Buffer {
  const out = Buffer.from(raw);
  const at = out.indexOf('"sig":"') + 7 + 10;
  out[at] = out[at] === 0x41 ? 0x42 : 0x41; // 'A' / 'B'
  return out;
}

describe('every captured notary scenario', () => {
  for (const name of scenarioNames()) {
    it(`${name}: verifies with trust on first use, every check passing`, async () => {
      const src = MemorySource.fromScenario(name);
      const r = await verify(src);
      assertOnlyFailing(r, []);
      assert.deepEqual(
        r.checks.map((c) => c.name),
        ['root-chain', 'signatures', 'consistency', 'expiry', 'rollback']
      );
      assert.deepEqual(Object.fromEntries(r.roles.map((x) => [x.role, x.version])), EXPECTED[name]);
      assert.deepEqual(
        r.roles.slice(0, 4).map((x) => x.role),
        ['root', 'timestamp', 'snapshot', 'targets']
      );
      for (const role of r.roles) {
        assert.equal(role.sha256, sha256Hex(src.currentBytes(role.role)), role.role);
        assert.equal(role.expires, parseEnvelope(src.currentBytes(role.role)).signedJSON.expires);
        assert.equal(role.state, 'valid');
      }
      assert.ok(r.roles[0]!.certificatesExpire, 'root certificate expiry reported');
      // Only hash-named files after the root and timestamp, as the Go client fetches them.
      const after = src.requests.slice(src.requests.indexOf('timestamp.json') + 1);
      assert.ok(
        after.length >= 2 && after.every((p) => /\.[0-9a-f]{64}\.json$/.test(p)),
        after.join(' ')
      );
    });
  }

  it('root-rotation: the chain is walked from 1.root.json through 2.root.json to root.json', async () => {
    const src = MemorySource.fromScenario('root-rotation');
    const r = await verify(src);
    assert.deepEqual(src.requests.slice(0, 3), ['root.json', '1.root.json', '2.root.json']);
    assert.match(check(r, 'root-chain').detail, /root versions 1→3 from trust on first use/);
  });

  it("the delegation scenario loads delegations in the parent's order, parents first", async () => {
    const r = await verify(MemorySource.fromScenario('delegation'));
    assert.deepEqual(
      r.roles.map((x) => x.role),
      ['root', 'timestamp', 'snapshot', 'targets', 'targets/releases', 'targets/alice']
    );
  });
});

describe('target resolution as docker does it', () => {
  const digestOf = (scenario: string, payload: string) =>
    `sha256:${sha256Hex(loadScenario(scenario).bytes(`payloads/${payload}`))}`;

  it('delegation: a tag in targets/releases and in targets resolves to the releases entry', async () => {
    const r = await verify(MemorySource.fromScenario('delegation'), { target: 'v1' });
    assertOnlyFailing(r, []);
    assert.equal(r.target?.role, 'targets/releases');
    assert.equal(r.target?.digest, digestOf('delegation', 'releases-v1.txt'));
    assert.equal(r.target?.length, 47);
    assert.notEqual(r.target?.digest, digestOf('delegation', 'top-v1.txt'));
    assert.match(
      check(r, 'target').detail,
      /v1 → sha256:[0-9a-f]{64} \(47 bytes\) from targets\/releases/
    );
  });

  it('delegation: a tag only in targets resolves to targets', async () => {
    const r = await verify(MemorySource.fromScenario('delegation'), { target: 'top-only' });
    assertOnlyFailing(r, []);
    assert.equal(r.target?.role, 'targets');
    assert.equal(r.target?.digest, digestOf('delegation', 'top-only.txt'));
    assert.deepEqual(Object.keys(r.target?.hashes ?? {}).sort(), ['sha256', 'sha512']);
  });

  it('delegation: a tag signed only by targets/alice is refused', async () => {
    const r = await verify(MemorySource.fromScenario('delegation'), { target: 'alice-only' });
    assertOnlyFailing(r, ['target']);
    assert.equal(r.target, undefined);
    assert.equal(r.failures[0]?.code, 'TARGET_NOT_FOUND');
    assert.match(check(r, 'target').detail, /signed only by targets\/alice/);
  });

  it('delegation: an unknown tag is not found', async () => {
    const r = await verify(MemorySource.fromScenario('delegation'), { target: 'nope' });
    assertOnlyFailing(r, ['target']);
    assert.match(check(r, 'target').detail, /no valid trust data for nope/);
  });

  it('docker: the tag docker signed resolves through targets/releases to the manifest digest', async () => {
    const r = await verify(MemorySource.fromScenario('docker'), { target: 'latest' });
    assertOnlyFailing(r, []);
    assert.deepEqual(
      { role: r.target?.role, digest: r.target?.digest, length: r.target?.length },
      { role: 'targets/releases', digest: digestOf('docker', 'manifest.json'), length: 246 }
    );
  });

  it('ecdsa-root: custom JSON of a target is returned as written', async () => {
    const r = await verify(MemorySource.fromScenario('ecdsa-root'), { target: 'v4' });
    assertOnlyFailing(r, []);
    const custom = JSON.parse(
      loadScenario('ecdsa-root').bytes('payloads/v4-custom.json').toString('utf8')
    );
    assert.deepEqual(r.target?.custom, custom);
  });
});

describe('failures, each in its own check', () => {
  it('a lower version than seen before fails rollback only', async () => {
    const src = MemorySource.fromScenario('ecdsa-root');
    const r = await verify(src, { previousVersions: { timestamp: 8, snapshot: 8, targets: 2 } });
    assertOnlyFailing(r, ['rollback']);
    assert.deepEqual(
      r.failures.map((f) => [f.role, f.code]),
      [['timestamp', 'META_VERSION']]
    );
    assert.match(check(r, 'rollback').detail, /timestamp version 7 is below version 8 seen before/);
  });

  it('a root older than the root seen before fails rollback', async () => {
    const r = await verify(MemorySource.fromScenario('root-rotation'), {
      previousVersions: { root: 4 },
    });
    assertOnlyFailing(r, ['rollback']);
    assert.equal(r.failures[0]?.role, 'root');
  });

  it("a snapshot whose bytes do not match the timestamp's hash fails consistency and stops", async () => {
    const src = MemorySource.fromScenario('ecdsa-root');
    const snap = src.currentBytes('snapshot');
    const tampered = flipSignature(snap);
    assert.equal(tampered.length, snap.length);
    src.replaceByChecksum('snapshot', sha256Hex(snap), tampered);
    const r = await verify(src);
    assert.equal(r.ok, false);
    assert.equal(check(r, 'consistency').passed, false);
    assert.deepEqual(
      r.failures.map((f) => [f.check, f.code, f.role]),
      [['consistency', 'META_HASH_MISMATCH', 'snapshot']]
    );
    assert.equal(check(r, 'root-chain').passed, true);
    assert.equal(check(r, 'signatures').detail, 'not checked: consistency failed');
    assert.ok(!src.requests.some((p) => p.startsWith('targets.')), 'stops before targets');
  });

  it('a snapshot longer than the timestamp says is refused as too large', async () => {
    const src = MemorySource.fromScenario('ecdsa-root');
    const snap = src.currentBytes('snapshot');
    src.replaceByChecksum('snapshot', sha256Hex(snap), Buffer.concat([snap, Buffer.from(' ')]));
    const r = await verify(src);
    assert.deepEqual(
      r.failures.map((f) => [f.check, f.code, f.role]),
      [['consistency', 'META_TOO_LARGE', 'snapshot']]
    );
  });

  it('a snapshot missing from the server fails consistency', async () => {
    const src = MemorySource.fromScenario('ecdsa-root');
    src.replaceByChecksum('snapshot', sha256Hex(src.currentBytes('snapshot')), null);
    const r = await verify(src);
    assert.deepEqual(
      r.failures.map((f) => [f.check, f.code]),
      [['consistency', 'META_NOT_FOUND']]
    );
    assert.match(r.failures[0]!.message, /snapshot\.[0-9a-f]{64}\.json is not on the server/);
  });

  it('a timestamp with a broken signature fails signatures', async () => {
    const src = MemorySource.fromScenario('ecdsa-signer');
    src.setCurrent('timestamp', flipSignature(src.currentBytes('timestamp')));
    const r = await verify(src);
    assert.deepEqual(
      r.failures.map((f) => [f.check, f.code, f.role]),
      [['signatures', 'META_THRESHOLD', 'timestamp']]
    );
    assert.equal(check(r, 'consistency').passed, false);
  });

  it('everything expired by the clock fails expiry, naming the role and "expired"', async () => {
    const src = MemorySource.fromScenario('ecdsa-root');
    const ts = parseEnvelope(src.currentBytes('timestamp'));
    const r = await verifyRepository({
      source: src,
      gun: src.gun,
      clock: new ManualClock(ts.expires.getTime() + 1000),
    });
    assertOnlyFailing(r, ['expiry']);
    assert.deepEqual(
      r.failures.map((f) => [f.role, f.code]),
      [['timestamp', 'META_EXPIRED']]
    );
    assert.equal(
      check(r, 'expiry').detail,
      `timestamp expired at ${String(ts.signedJSON.expires)}`
    );
    assert.equal(r.roles.find((x) => x.role === 'timestamp')?.state, 'expired');
  });

  it('a role expiring within the minimum validity fails expiry with "expires within"', async () => {
    const src = MemorySource.fromScenario('docker');
    const r = await verify(src, { minValidityMs: 30 * 86_400_000 });
    assertOnlyFailing(r, ['expiry']);
    assert.match(check(r, 'expiry').detail, /^timestamp expires within 30d \(at 20\d\d-/);
    assert.equal(r.roles.find((x) => x.role === 'timestamp')?.state, 'expiring');
    const ok = await verify(MemorySource.fromScenario('docker'), {
      minValidityMs: 13 * 86_400_000,
    });
    assertOnlyFailing(ok, []);
  });

  it('a root certificate past its notAfter fails expiry', async () => {
    const src = MemorySource.fromScenario('rsa-root');
    const cert = loadScenario('rsa-root');
    const notAfter = new Date(
      (
        JSON.parse(cert.bytes('capture.json').toString()) as {
          certificates: { notAfter: string }[];
        }
      ).certificates[0]!.notAfter
    );
    const r = await verifyRepository({
      source: src,
      gun: src.gun,
      clock: new ManualClock(notAfter.getTime() + 86_400_000),
    });
    const certFailure = r.failures.find((f) => /root certificate/.test(f.message));
    assert.ok(certFailure, JSON.stringify(r.failures));
    assert.equal(certFailure.check, 'expiry');
    assert.match(certFailure.message, /expired at/);
  });

  it('a missing intermediate root version breaks the root chain', async () => {
    const src = MemorySource.fromScenario('root-rotation').dropVersion('root', 2);
    const r = await verify(src);
    assert.deepEqual(
      r.failures.map((f) => [f.check, f.code]),
      [['root-chain', 'META_NOT_FOUND']]
    );
    assert.match(r.failures[0]!.message, /2\.root\.json is not on the server/);
    for (const name of ['signatures', 'consistency', 'expiry', 'rollback'])
      assert.match(check(r, name).detail, /^not checked: root-chain failed/);
  });

  it('a root version that skips a number breaks the root chain', async () => {
    const s = loadScenario('root-rotation');
    const src = MemorySource.fromScenario('root-rotation');
    // 2.root.json answering with version 3's file: versions must go up by exactly one.
    src.setVersion('root', 2, s.versions('root')[2]!.data);
    const r = await verify(src);
    assert.deepEqual(
      r.failures.map((f) => [f.check, f.code]),
      [['root-chain', 'META_VERSION']]
    );
  });

  it('a newest root not signed by the previous root threshold breaks the chain', async () => {
    const src = MemorySource.fromScenario('root-rotation');
    const v1 = loadScenario('ecdsa-root').versions('root')[0]!.data;
    src.setVersion('root', 1, v1);
    const r = await verify(src);
    assert.equal(r.failures[0]?.check, 'root-chain');
  });

  it('a GUN without trust data says so', async () => {
    const src = MemorySource.fromScenario('ecdsa-root');
    const r = await verifyRepository({
      source: src,
      gun: 'example.com/nothing/here',
      clock: new ManualClock(captureTime(src)),
    });
    assert.deepEqual(
      r.failures.map((f) => [f.check, f.code, f.role]),
      [['root-chain', 'META_NOT_FOUND', 'root']]
    );
    assert.match(r.failures[0]!.message, /example\.com\/nothing\/here has no trust data/);
  });
});

describe('trust anchors', () => {
  it('a pinned root of any version of the chain is followed to the newest', async () => {
    const s = loadScenario('root-rotation');
    const walked: Record<number, string[]> = {};
    for (const { version, data } of s.versions('root')) {
      const src = MemorySource.fromScenario('root-rotation');
      const r = await verify(src, { trust: { kind: 'root', root: data } });
      assertOnlyFailing(r, []);
      walked[version] = src.requests.filter((p) => /^\d+\.root\.json$/.test(p));
    }
    assert.deepEqual(walked, { 1: ['2.root.json'], 2: [], 3: [] });
  });

  it('a pinned root of another repository is refused', async () => {
    const other = loadScenario('ecdsa-root').current('root');
    const r = await verify(MemorySource.fromScenario('root-rotation'), {
      trust: { kind: 'root', root: other },
    });
    assert.equal(r.failures[0]?.check, 'root-chain');
    assert.equal(r.ok, false);
  });

  it("a pinned root newer than the server's root fails rollback", async () => {
    const s = loadScenario('root-rotation');
    const src = MemorySource.fromScenario('root-rotation').setCurrent(
      'root',
      s.versions('root')[1]!.data
    );
    const r = await verify(src, { trust: { kind: 'root', root: s.current('root') } });
    assert.deepEqual(
      r.failures.map((f) => [f.check, f.code]),
      [['rollback', 'META_VERSION']]
    );
    assert.match(r.failures[0]!.message, /older than the pinned root's version 3/);
  });

  it('a pinned CA that did not issue the root is refused', async () => {
    const src = MemorySource.fromScenario('ecdsa-root');
    const ca = await makeTestCa('Some Other CA', undefined, captureTime(src));
    const r = await verify(src, {
      trust: { kind: 'ca', pem: ca.pem },
    });
    assert.deepEqual(
      r.failures.map((f) => [f.check, f.code]),
      [['root-chain', 'CERT_INVALID']]
    );
    assert.match(
      r.failures[0]!.message,
      /unable to match any certificates to trust_pinning config.*signed by unknown authority/
    );
  });

  it("pinning notary's own self-signed root certificate is refused: its codeSigning EKU fails Go's serverAuth default", async () => {
    const s = loadScenario('ecdsa-root');
    const capture = JSON.parse(s.bytes('capture.json').toString()) as {
      certificates: { path: string; rootVersions: number[] }[];
    };
    const certPath = capture.certificates.find((c) => c.rootVersions.includes(2))!.path;
    const r = await verify(MemorySource.fromScenario('ecdsa-root'), {
      trust: { kind: 'ca', pem: s.bytes(certPath).toString('latin1') },
    });
    assert.equal(r.failures[0]?.check, 'root-chain');
    assert.match(r.failures[0].message, /incompatible key usage/);
  });
});
