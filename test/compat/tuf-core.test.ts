/**
 * The TUF core against metadata the real notary tools made (fixtures/notary): every file parses,
 * re-encoding `signed` reproduces the signed bytes exactly, every signature verifies with the
 * root (chain) and delegations in force, and variants derived from them fail with the right error.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { p256 } from '@noble/curves/nist.js';
import { canonicalString, htmlEscapeJson } from '../../src/canonical/encode.js';
import { isCountersignError } from '../../src/errors.js';
import {
  parseRole,
  parseRoot,
  parseSnapshot,
  parseTargets,
  parseTimestamp,
  type Root,
  type SignedFile,
  type Targets,
} from '../../src/tuf/metadata.js';
import { validateRoot, baseRoleVerifier } from '../../src/tuf/root.js';
import { findDelegation } from '../../src/tuf/delegations.js';
import { verifySignatures, checkFileMeta, checkNotExpired } from '../../src/tuf/verify.js';
import { isDelegationName } from '../../src/tuf/names.js';
import { loadScenario, scenarioNames, type Scenario } from '../helpers/notary-fixtures.js';
import { plainKey, sign } from '../helpers/tuf-builder.js';

const NOW = new Date();
const code = (c: string) => (e: unknown) => isCountersignError(e) && e.code === c;
const roleOf = (s: Scenario) =>
  [...new Set(s.files.map((f) => f.role))].filter(
    (r) => ['root', 'targets', 'snapshot', 'timestamp'].includes(r) || isDelegationName(r)
  );

/** The signed part of an envelope as stored: between `{"signed":` and `,"signatures":`. */
function signedText(raw: Buffer): string {
  const text = raw.toString('utf8');
  assert.ok(text.startsWith('{"signed":'), 'envelope starts with signed');
  const end = text.lastIndexOf(',"signatures":');
  return text.slice('{"signed":'.length, end);
}

function currentRoot(s: Scenario): SignedFile<Root> {
  return parseRoot(s.current('root'));
}

for (const name of scenarioNames()) {
  const s = loadScenario(name);
  describe(`fixtures/notary/${name}`, () => {
    it('parses every captured file, and re-encoding signed reproduces the stored bytes', () => {
      let n = 0;
      for (const role of roleOf(s)) {
        for (const { data } of s.versions(role)) {
          const file = parseRole(role, data);
          assert.equal(
            htmlEscapeJson(canonicalString(file.signedJSON)),
            signedText(data),
            `${role} v${file.signed.version}`
          );
          n++;
        }
      }
      assert.ok(n >= 4);
    });

    it('validates the root chain from version 1, each root signed by its predecessor too', () => {
      const roots = s.versions('root').map((v) => parseRoot(v.data));
      assert.equal(roots[0]!.signed.version, 1);
      let previous: SignedFile<Root> | undefined;
      for (const r of roots) {
        validateRoot(r, { gun: s.gun, now: NOW, previous, checkExpiry: true });
        previous = r;
      }
    });

    it('verifies the current timestamp → snapshot → targets → delegations by signature, hash and length', () => {
      const root = currentRoot(s).signed;
      const ts = parseTimestamp(s.current('timestamp'));
      verifySignatures(ts, baseRoleVerifier(root, 'timestamp'));
      checkNotExpired(ts.signed, 'timestamp', NOW);
      const snapBytes = s.current('snapshot');
      checkFileMeta(snapBytes, ts.signed.meta.get('snapshot')!, 'snapshot');
      const snap = parseSnapshot(snapBytes);
      verifySignatures(snap, baseRoleVerifier(root, 'snapshot'));
      const loaded = new Map<string, Targets>();
      for (const role of roleOf(s)
        .filter((r) => r === 'targets' || isDelegationName(r))
        .sort((a, b) => a.split('/').length - b.split('/').length)) {
        const bytes = s.current(role);
        checkFileMeta(bytes, snap.signed.meta.get(role)!, role);
        const t = parseTargets(bytes);
        const verifier =
          role === 'targets'
            ? baseRoleVerifier(root, 'targets')
            : findDelegation(role, (r) => loaded.get(r)).verifier;
        verifySignatures(t, verifier);
        loaded.set(role, t.signed);
      }
      checkFileMeta(s.current('root'), snap.signed.meta.get('root')!, 'root');
    });

    it('verifies every older timestamp and snapshot with some root of the chain', () => {
      const roots = s.versions('root').map((v) => parseRoot(v.data).signed);
      for (const role of ['timestamp', 'snapshot'] as const) {
        for (const { version, data } of s.versions(role)) {
          const file = parseRole(role, data);
          const ok = roots.some((r) => {
            try {
              verifySignatures(file, baseRoleVerifier(r, role));
              return true;
            } catch {
              return false;
            }
          });
          assert.ok(ok, `${role} v${version}`);
        }
      }
    });
  });
}

describe('variants derived from real metadata', () => {
  const s = loadScenario('ecdsa-root');
  const root = parseRoot(s.current('root')).signed;
  const targetsRaw = s.current('targets');
  const targetsVerifier = baseRoleVerifier(root, 'targets');

  const mutate = (
    raw: Buffer,
    fn: (env: {
      signed: Record<string, unknown>;
      signatures: { keyid: string; method: string; sig: string }[];
    }) => void
  ) => {
    const env = JSON.parse(raw.toString());
    fn(env);
    return Buffer.from(JSON.stringify(env));
  };

  it('a tampered target fails the threshold', () => {
    const raw = mutate(targetsRaw, (e) => {
      const t = e.signed.targets as Record<string, { length: number }>;
      const first = Object.keys(t)[0]!;
      t[first]!.length += 1;
    });
    assert.throws(
      () => verifySignatures(parseTargets(raw), targetsVerifier),
      code('META_THRESHOLD')
    );
  });

  it('a signature by another key fails the threshold', () => {
    const env = JSON.parse(targetsRaw.toString());
    const raw = sign(env.signed, [plainKey()]);
    assert.throws(
      () => verifySignatures(parseTargets(raw), targetsVerifier),
      code('META_THRESHOLD')
    );
  });

  it('one valid signature is below a threshold of two', () => {
    assert.throws(
      () => verifySignatures(parseTargets(targetsRaw), { ...targetsVerifier, threshold: 2 }),
      code('META_THRESHOLD')
    );
  });

  it('is expired once the clock passes expires', () => {
    const t = parseTargets(targetsRaw);
    assert.throws(
      () => checkNotExpired(t.signed, 'targets', new Date(t.signed.expires.getTime() + 1)),
      code('META_EXPIRED')
    );
  });

  it('a DER-encoded copy of a real ECDSA signature is refused', () => {
    const raw = mutate(targetsRaw, (e) => {
      const sig = e.signatures[0]!;
      sig.sig = Buffer.from(
        p256.Signature.fromBytes(Buffer.from(sig.sig, 'base64'), 'compact').toBytes('der')
      ).toString('base64');
    });
    assert.equal(verifySignatures(parseTargets(targetsRaw), targetsVerifier).size, 1);
    assert.throws(
      () => verifySignatures(parseTargets(raw), targetsVerifier),
      code('META_THRESHOLD')
    );
  });

  it('an older root cannot be validated as a rotation from a newer one', () => {
    const roots = loadScenario('root-rotation')
      .versions('root')
      .map((v) => parseRoot(v.data));
    const gun = loadScenario('root-rotation').gun;
    assert.throws(() =>
      validateRoot(roots[0]!, {
        gun,
        now: NOW,
        previous: roots[roots.length - 1],
        minVersion: roots[roots.length - 1]!.signed.version,
        checkExpiry: true,
      })
    );
  });

  it('the RSA root signs with rsapss over a 3072-bit key', () => {
    const rsa = loadScenario('rsa-root');
    const r = parseRoot(rsa.current('root'));
    assert.ok(r.signatures.every((x) => x.method === 'rsapss'));
    const key = r.signed.keys.get(r.signed.roles.root.keyids[0]!)!;
    assert.equal(key.keyType, 'rsa-x509');
    assert.equal(key.certificates![0]!.rsaBits, 3072);
  });
});
