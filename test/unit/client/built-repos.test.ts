/**
 * Client rules the captured fixtures cannot show, on repositories signed in the test: narrowed
 * delegation paths, nested delegations, delegations below their threshold or expired, and
 * `trust_pinning.ca` with CA-issued root certificates of each extended key usage.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { verifyRepository, type VerificationResult } from '../../../src/client/index.js';
import { ManualClock, systemClock } from '../../../src/util/clock.js';
import { expiresIn, plainKey, type TargetSpec, type TestKey } from '../../helpers/tuf-builder.js';
import {
  buildRepo,
  certKey,
  makeTestCa,
  type BuiltRepo,
  type DelegationSpec,
  type RepoSpec,
} from './repo-builder.js';

const GUN = 'example.com/client/built';
const hashOf = (byte: number) => Buffer.alloc(32, byte);
const digestOf = (byte: number) => `sha256:${hashOf(byte).toString('hex')}`;

const check = (r: VerificationResult, name: string) => r.checks.find((c) => c.name === name)!;

function delegationTo(key: TestKey, name: string, paths?: string[]) {
  return {
    keys: [key],
    roles: [{ name, keyids: [key.publicKey.id], ...(paths ? { paths } : {}) }],
  };
}

async function resolve(repo: BuiltRepo, tag: string): Promise<VerificationResult> {
  return verifyRepository({ source: repo.source, gun: GUN, clock: systemClock, target: tag });
}

async function repo(spec: Omit<RepoSpec, 'gun'>): Promise<BuiltRepo> {
  return buildRepo({ gun: GUN, ...spec });
}

describe('delegated targets and docker resolution', () => {
  const releases = plainKey();

  /**
   * Resolves TAG in a repository whose targets holds TARGETS and delegates PATHS to
   * targets/releases (releases' key); that file holds RELEASED, signed by `releases` unless
   * FILE names other signers (or sets its expiry).
   */
  const resolveReleases = async (
    tag: string,
    o: {
      targets?: TargetSpec[];
      paths?: string[];
      released: TargetSpec[];
      file?: Pick<DelegationSpec, 'signers' | 'expires'>;
    }
  ): Promise<VerificationResult> =>
    resolve(
      await repo({
        targets: o.targets,
        delegations: delegationTo(releases, 'targets/releases', o.paths),
        delegationFiles: [
          { name: 'targets/releases', targets: o.released, signers: [releases], ...o.file },
        ],
      }),
      tag
    );

  it('a tag in targets/releases outside its paths is ignored; targets answers', async () => {
    const r = await resolveReleases('v1', {
      targets: [{ name: 'v1', sha256: hashOf(1), length: 10 }],
      paths: ['only/'],
      released: [{ name: 'v1', sha256: hashOf(2), length: 20 }],
    });
    assert.equal(r.ok, true, JSON.stringify(r.failures));
    assert.deepEqual(
      [r.target?.role, r.target?.digest, r.target?.length],
      ['targets', digestOf(1), 10]
    );
  });

  it('within its paths, targets/releases wins over targets', async () => {
    const r = await resolveReleases('only/v1', {
      targets: [{ name: 'only/v1', sha256: hashOf(1), length: 10 }],
      paths: ['only/'],
      released: [{ name: 'only/v1', sha256: hashOf(2), length: 20 }],
    });
    assert.deepEqual([r.target?.role, r.target?.digest], ['targets/releases', digestOf(2)]);
  });

  it('a delegation with no paths can sign nothing', async () => {
    const r = await resolveReleases('v1', { released: [{ name: 'v1', sha256: hashOf(2) }] });
    assert.equal(check(r, 'target').passed, false);
    assert.equal(r.failures[0]?.code, 'TARGET_NOT_FOUND');
  });

  it('paths are narrowed by the parent: a child cannot widen them', async () => {
    const sub = plainKey();
    const built = await repo({
      delegations: delegationTo(releases, 'targets/releases', ['a/']),
      delegationFiles: [
        {
          name: 'targets/releases',
          delegations: delegationTo(sub, 'targets/releases/sub', ['a/', 'b/']),
          signers: [releases],
        },
        {
          name: 'targets/releases/sub',
          targets: [
            { name: 'b/v1', sha256: hashOf(3) },
            { name: 'a/v1', sha256: hashOf(4) },
          ],
          signers: [sub],
        },
      ],
    });
    // sub asks for a/ and b/; its parent only has a/, so b/ is cut away.
    const outside = await resolve(built, 'b/v1');
    assert.match(check(outside, 'target').detail, /no valid trust data for b\/v1/);
    // Inside the narrowed paths the walk finds it, but in targets/releases/sub, which docker refuses.
    const inside = await resolve(built, 'a/v1');
    assert.match(check(inside, 'target').detail, /a\/v1 is signed only by targets\/releases\/sub/);
  });

  it('a tag found under targets/releases in a child role is refused even when targets has it', async () => {
    const sub = plainKey();
    const r = await resolve(
      await repo({
        targets: [{ name: 'v1', sha256: hashOf(1) }],
        delegations: delegationTo(releases, 'targets/releases', ['']),
        delegationFiles: [
          {
            name: 'targets/releases',
            delegations: delegationTo(sub, 'targets/releases/sub', ['']),
            signers: [releases],
          },
          {
            name: 'targets/releases/sub',
            targets: [{ name: 'v1', sha256: hashOf(5) }],
            signers: [sub],
          },
        ],
      }),
      'v1'
    );
    assert.equal(r.target, undefined);
    assert.match(check(r, 'target').detail, /signed only by targets\/releases\/sub/);
    assert.deepEqual(
      r.roles.map((x) => x.role),
      ['root', 'timestamp', 'snapshot', 'targets', 'targets/releases', 'targets/releases/sub']
    );
  });

  it('a delegation below its threshold fails signatures, and docker-like resolution skips it', async () => {
    const r = await resolveReleases('v1', {
      targets: [{ name: 'v1', sha256: hashOf(1) }],
      paths: [''],
      released: [{ name: 'v1', sha256: hashOf(2) }],
      file: { signers: [plainKey()] },
    });
    assert.deepEqual(
      r.failures.map((f) => [f.check, f.code, f.role]),
      [['signatures', 'META_THRESHOLD', 'targets/releases']]
    );
    assert.equal(r.ok, false);
    assert.deepEqual([r.target?.role, r.target?.digest], ['targets', digestOf(1)]);
    assert.ok(!r.roles.some((x) => x.role === 'targets/releases'));
  });

  it('an expired delegation fails expiry and is not used to resolve tags', async () => {
    const r = await resolveReleases('v1', {
      targets: [{ name: 'v1', sha256: hashOf(1) }],
      paths: [''],
      released: [{ name: 'v1', sha256: hashOf(2) }],
      file: { expires: expiresIn(-1) },
    });
    assert.deepEqual(
      r.failures.map((f) => [f.check, f.role]),
      [['expiry', 'targets/releases']]
    );
    assert.match(check(r, 'expiry').detail, /^targets\/releases expired at /);
    assert.equal(r.target?.role, 'targets');
  });
});

describe('trust_pinning.ca', () => {
  async function pinned(rootKey: TestKey, caPem: string): Promise<VerificationResult> {
    const built = await buildRepo({
      gun: GUN,
      rootKey,
      targets: [{ name: 'v1', sha256: hashOf(1) }],
    });
    return verifyRepository({
      source: built.source,
      gun: GUN,
      clock: systemClock,
      trust: { kind: 'ca', pem: caPem },
      target: 'v1',
    });
  }

  it('accepts a CA-issued root certificate with no extended key usage', async () => {
    const ca = await makeTestCa();
    const r = await pinned(await certKey(GUN, { issuer: ca }), ca.pem);
    assert.equal(r.ok, true, JSON.stringify(r.failures));
    assert.match(check(r, 'root-chain').detail, /pinned CA/);
  });

  it('accepts one whose extended key usage includes serverAuth', async () => {
    const ca = await makeTestCa();
    const r = await pinned(
      await certKey(GUN, { issuer: ca, extKeyUsage: ['serverAuth', 'codeSigning'] }),
      ca.pem
    );
    assert.equal(r.ok, true, JSON.stringify(r.failures));
  });

  it("refuses one with only codeSigning, as Go's default serverAuth chain check does", async () => {
    const ca = await makeTestCa();
    const r = await pinned(
      await certKey(GUN, { issuer: ca, extKeyUsage: ['codeSigning'] }),
      ca.pem
    );
    assert.deepEqual(
      r.failures.map((f) => [f.check, f.code]),
      [['root-chain', 'CERT_INVALID']]
    );
    assert.match(r.failures[0]!.message, /incompatible key usage/);
  });

  it('refuses a root issued by another CA, and accepts the same root under no pin', async () => {
    const ca = await makeTestCa();
    const other = await makeTestCa('Other CA');
    const key = await certKey(GUN, { issuer: ca });
    const r = await pinned(key, other.pem);
    assert.match(
      r.failures[0]!.message,
      /unable to match any certificates to trust_pinning config.*unknown authority/
    );
    const built = await buildRepo({ gun: GUN, rootKey: key });
    assert.equal(
      (await verifyRepository({ source: built.source, gun: GUN, clock: systemClock })).ok,
      true
    );
  });

  it("follows an intermediate CA carried in the root key's certificate bundle", async () => {
    const ca = await makeTestCa();
    const intermediate = await makeTestCa('Intermediate CA', ca);
    const r = await pinned(
      await certKey(GUN, { issuer: intermediate, chain: [intermediate] }),
      ca.pem
    );
    assert.equal(r.ok, true, JSON.stringify(r.failures));
    const without = await pinned(await certKey(GUN, { issuer: intermediate }), ca.pem);
    assert.match(without.failures[0]!.message, /unknown authority/);
  });

  it('refuses a pin file that holds no certificate', async () => {
    const r = await pinned(await certKey(GUN), 'not a pem');
    assert.deepEqual(
      r.failures.map((f) => [f.check, f.code]),
      [['root-chain', 'CERT_INVALID']]
    );
  });
});

describe('root certificate validity', () => {
  it('an expired root certificate fails expiry, naming it; one expiring soon fails with --min-valid', async () => {
    const now = Date.now();
    const key = await certKey(GUN, {
      notBefore: new Date(now - 10 * 86_400_000),
      notAfter: new Date(now + 5 * 86_400_000),
    });
    const built = await buildRepo({ gun: GUN, rootKey: key });
    const soon = await verifyRepository({
      source: built.source,
      gun: GUN,
      clock: systemClock,
      minValidityMs: 10 * 86_400_000,
    });
    assert.deepEqual(
      soon.failures.map((f) => [f.check, f.role]),
      [['expiry', 'root']]
    );
    assert.match(
      soon.failures[0]!.message,
      /^root certificate [0-9a-f]{12}… \(CN example\.com\/client\/built\) expires within 10d/
    );
    assert.equal(soon.roles[0]?.state, 'expiring');
    const later = await verifyRepository({
      source: built.source,
      gun: GUN,
      clock: new ManualClock(now + 6 * 86_400_000),
    });
    assert.ok(
      later.failures.some(
        (f) => f.check === 'expiry' && /root certificate .* expired at/.test(f.message)
      ),
      JSON.stringify(later.failures)
    );
    assert.equal(later.roles[0]?.state, 'expired');
  });
});
