/**
 * Differential: the validation pipeline of `POST …/_trust/tuf/` (docs/protocol.md §2.4–§2.8) against
 * notary-server 0.7. Each case builds the same upload (our own keys, tuf-builder) for the same
 * repository state on both servers and compares status, error code and `detail.Name`; the few
 * places Countersign is deliberately stricter assert both answers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { expiresIn, plainKey, sign, targetsSigned, x509Key } from '../helpers/tuf-builder.js';
import {
  compare,
  currentSigned,
  forgedSignature,
  invalidUpdate,
  newPair,
  OK,
  publishedPair,
  resigned,
  roleFiles,
  Servers,
  standardTargets,
  uploadRoles,
  withSignatures,
  type Expect,
  type Pair,
  type Repo,
} from './harness.js';

const VERSION: Expect = { status: 400, code: 'VERSION' };

/** targets v2 of the standard repository (optionally with the standard delegation), as shared bytes. */
const targetsV2 = (p: Pair, opts: { delegation?: boolean } = {}) =>
  standardTargets(p.keys, opts.delegation ?? false, 2);

let servers: Servers;
before(async () => {
  servers = await Servers.start();
});
after(async () => {
  await servers?.stop();
});

describe('signatures', () => {
  it('targets with a forged signature', async () => {
    const p = await publishedPair(servers, 'forged targets');
    const t = withSignatures(targetsV2(p), () => [forgedSignature(p.keys.targets)]);
    await compare(
      'targets with a forged signature',
      p,
      uploadRoles(() => roleFiles(['targets', t])),
      { both: invalidUpdate('ErrBadTargets') }
    );
  });

  it('targets with no signatures', async () => {
    const p = await publishedPair(servers, 'unsigned targets');
    const t = withSignatures(targetsV2(p), () => []);
    await compare(
      'targets with no signatures',
      p,
      uploadRoles(() => roleFiles(['targets', t])),
      { both: invalidUpdate('ErrBadTargets') }
    );
  });

  it('targets signed by a key the root does not list', async () => {
    const p = await publishedPair(servers, 'stranger targets');
    const t = sign(targetsSigned({ version: 2 }), [plainKey()]);
    await compare(
      'targets signed by a key the root does not list',
      p,
      uploadRoles(() => roleFiles(['targets', t])),
      { both: invalidUpdate('ErrBadTargets') }
    );
  });

  it('targets below their threshold', async () => {
    const p = await newPair(servers, 'targets threshold');
    const second = plainKey();
    const t = sign(targetsSigned({}), [p.keys.targets]);
    await compare(
      'targets signed by 1 of the 2 keys the threshold needs',
      p,
      uploadRoles((r) =>
        roleFiles(
          ['root', r.root({ targets: [p.keys.targets, second], thresholds: { targets: 2 } })],
          ['targets', t]
        )
      ),
      { both: invalidUpdate('ErrBadTargets') }
    );
  });

  it('root below its threshold', async () => {
    const p = await newPair(servers, 'root threshold');
    const second = await x509Key(p.gun);
    await compare(
      'root signed by 1 of the 2 keys its threshold needs',
      p,
      uploadRoles((r) =>
        roleFiles(
          ['root', r.root({ root: [p.keys.root, second], thresholds: { root: 2 } }, [p.keys.root])],
          ['targets', standardTargets(p.keys, false)]
        )
      ),
      { both: invalidUpdate('ErrBadRoot') }
    );
  });

  it('root signed by a key it does not list', async () => {
    const p = await newPair(servers, 'root stranger');
    const stranger = await x509Key(p.gun);
    await compare(
      'root signed by a key it does not list',
      p,
      uploadRoles((r) =>
        roleFiles(['root', r.root({}, [stranger])], ['targets', standardTargets(p.keys, false)])
      ),
      {
        both: invalidUpdate('ErrBadRoot'),
      }
    );
  });

  it('client snapshot signed by the targets key', async () => {
    const p = await publishedPair(servers, 'snapshot wrong key', { clientSnapshot: true });
    const t = targetsV2(p);
    await compare(
      'snapshot signed by a key the root does not list for snapshot',
      p,
      uploadRoles((r) =>
        roleFiles(
          ['targets', t],
          ['snapshot', r.snapshot(roleFiles(['targets', t]), { signers: [p.keys.targets] })]
        )
      ),
      { both: invalidUpdate('ErrBadSnapshot') }
    );
  });

  it('delegation signed by a key it does not list', async () => {
    const p = await publishedPair(servers, 'delegation wrong key', { delegation: true });
    const d = sign(targetsSigned({ version: 2 }), [p.keys.targets]);
    await compare(
      'delegation signed by the targets key instead of its own',
      p,
      uploadRoles(() => roleFiles(['targets/releases', d])),
      { both: invalidUpdate('ErrBadTargets') },
      { roles: ['targets/releases'] }
    );
  });
});

describe('expiry', () => {
  it('expired root', async () => {
    const p = await newPair(servers, 'expired root');
    await compare(
      'expired root (new repository)',
      p,
      uploadRoles((r) =>
        roleFiles(
          ['root', r.root({ expires: expiresIn(-1) })],
          ['targets', standardTargets(p.keys, false)]
        )
      ),
      {
        both: invalidUpdate('ErrBadRoot'),
      }
    );
  });

  it('expired root certificate', async () => {
    const p = await newPair(servers, 'expired root cert');
    const old = await x509Key(p.gun, {
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    await compare(
      'root whose certificate has expired',
      p,
      uploadRoles((r) =>
        roleFiles(['root', r.root({ root: [old] })], ['targets', standardTargets(p.keys, false)])
      ),
      {
        both: invalidUpdate('ErrBadRoot'),
      }
    );
  });

  it('expired targets', async () => {
    const p = await publishedPair(servers, 'expired targets');
    const t = sign(targetsSigned({ version: 2, expires: expiresIn(-1) }), [p.keys.targets]);
    await compare(
      'expired targets',
      p,
      uploadRoles(() => roleFiles(['targets', t])),
      { both: invalidUpdate('ErrBadTargets') }
    );
  });

  it('expired snapshot', async () => {
    const p = await publishedPair(servers, 'expired snapshot', { clientSnapshot: true });
    const t = targetsV2(p);
    await compare(
      'expired client snapshot',
      p,
      uploadRoles((r) =>
        roleFiles(
          ['targets', t],
          ['snapshot', r.snapshot(roleFiles(['targets', t]), { expires: expiresIn(-1) })]
        )
      ),
      {
        both: invalidUpdate('ErrBadSnapshot'),
      }
    );
  });

  it('expired delegation', async () => {
    const p = await publishedPair(servers, 'expired delegation', { delegation: true });
    const d = sign(targetsSigned({ version: 2, expires: expiresIn(-1) }), [p.keys.delegation]);
    await compare(
      'expired delegation',
      p,
      uploadRoles(() => roleFiles(['targets/releases', d])),
      { both: invalidUpdate('ErrBadTargets') },
      { roles: ['targets/releases'] }
    );
  });
});

describe('root versions', () => {
  it('a new repository may start at root version 2', async () => {
    const p = await newPair(servers, 'root v2 first');
    await compare(
      'new repository, root version 2',
      p,
      uploadRoles((r) =>
        roleFiles(['root', r.root({ version: 2 })], ['targets', standardTargets(p.keys, false)])
      ),
      { both: OK }
    );
  });

  for (const version of [0, 3]) {
    it(`a new repository cannot start at root version ${version}`, async () => {
      const p = await newPair(servers, `root v${version} first`);
      await compare(
        `new repository, root version ${version}`,
        p,
        uploadRoles((r) =>
          roleFiles(['root', r.root({ version })], ['targets', standardTargets(p.keys, false)])
        ),
        {
          both: invalidUpdate('ErrBadRoot'),
        }
      );
    });
  }

  it('root version cur+2', async () => {
    const p = await publishedPair(servers, 'root skip');
    await compare(
      'root version 3 over stored version 1',
      p,
      uploadRoles((r) => roleFiles(['root', r.root({ version: 3 })])),
      { both: invalidUpdate('ErrBadRoot') }
    );
  });

  it('root version cur again', async () => {
    const p = await publishedPair(servers, 'root same version');
    await compare(
      'a different root with the stored version 1',
      p,
      uploadRoles((r) => roleFiles(['root', r.root({ version: 1, expires: expiresIn(3000) })])),
      { both: VERSION }
    );
  });

  it('root version cur+1', async () => {
    const p = await publishedPair(servers, 'root next');
    await compare(
      'root version 2 over stored version 1',
      p,
      uploadRoles((r) => roleFiles(['root', r.root({ version: 2 })])),
      { both: OK }
    );
  });
});

describe('targets versions', () => {
  it('rollback of targets', async () => {
    const p = await publishedPair(servers, 'targets rollback');
    const v2 = targetsV2(p);
    for (const r of p.both) await r.publish(roleFiles(['targets', v2]));
    const v1 = sign(
      targetsSigned({ version: 1, targets: [{ name: 'other', bytes: Buffer.from('other') }] }),
      [p.keys.targets]
    );
    await compare(
      'targets version 1 after version 2',
      p,
      uploadRoles(() => roleFiles(['targets', v1])),
      { both: VERSION }
    );
  });

  it('targets with the stored version', async () => {
    const p = await publishedPair(servers, 'targets same version');
    const v1 = sign(
      targetsSigned({ version: 1, targets: [{ name: 'other', bytes: Buffer.from('other') }] }),
      [p.keys.targets]
    );
    await compare(
      'different targets with the stored version 1',
      p,
      uploadRoles(() => roleFiles(['targets', v1])),
      { both: VERSION }
    );
  });

  it('targets version 0', async () => {
    const p = await newPair(servers, 'targets v0');
    const t = sign(targetsSigned({ version: 0 }), [p.keys.targets]);
    await compare(
      'targets version 0 (new repository)',
      p,
      uploadRoles((r) => roleFiles(['root', r.root()], ['targets', t])),
      { both: invalidUpdate('ErrBadTargets') }
    );
  });

  it('targets version above 2^30', async () => {
    const p = await publishedPair(servers, 'targets huge version');
    const t = sign(targetsSigned({ version: 2 ** 30 + 1 }), [p.keys.targets]);
    await compare(
      'targets version 2^30+1',
      p,
      uploadRoles(() => roleFiles(['targets', t])),
      { notary: OK, countersign: invalidUpdate('ErrBadTargets') }
    );
  });

  it('delegation version above 2^30', async () => {
    const p = await publishedPair(servers, 'delegation huge version', { delegation: true });
    const d = sign(targetsSigned({ version: 2 ** 31 - 1 }), [p.keys.delegation]);
    await compare(
      'delegation version 2^31-1',
      p,
      uploadRoles(() => roleFiles(['targets/releases', d])),
      { notary: OK, countersign: invalidUpdate('ErrBadTargets') },
      { roles: ['targets/releases'] }
    );
  });
});

describe('client-signed snapshots', () => {
  it('snapshot naming the previous targets (mix and match)', async () => {
    const p = await publishedPair(servers, 'mix and match', { clientSnapshot: true });
    const t = targetsV2(p);
    await compare(
      'targets v2 with a snapshot that names targets v1',
      p,
      uploadRoles((r) => roleFiles(['targets', t], ['snapshot', r.snapshot(new Map())])),
      {
        both: invalidUpdate('ErrBadSnapshot'),
      }
    );
  });

  it('snapshot with the hashes of another file', async () => {
    const p = await publishedPair(servers, 'wrong hashes', { clientSnapshot: true });
    const t = targetsV2(p);
    const snap = (r: Repo) =>
      r.snapshot(roleFiles(['targets', t]), {
        meta: (m) => {
          m.targets = m.root;
        },
      });
    await compare(
      'snapshot giving targets the hashes and length of root',
      p,
      uploadRoles((r) => roleFiles(['targets', t], ['snapshot', snap(r)])),
      { both: invalidUpdate('ErrBadSnapshot') }
    );
  });

  it('snapshot without a targets entry', async () => {
    const p = await publishedPair(servers, 'no targets meta', { clientSnapshot: true });
    const snap = (r: Repo) =>
      r.snapshot(new Map(), {
        meta: (m) => {
          delete m.targets;
        },
      });
    await compare(
      'snapshot without meta.targets',
      p,
      uploadRoles((r) => roleFiles(['snapshot', snap(r)])),
      { both: invalidUpdate('ErrBadSnapshot') }
    );
  });

  it('snapshot rollback', async () => {
    const p = await publishedPair(servers, 'snapshot rollback', { clientSnapshot: true });
    await compare(
      'snapshot version 1 again',
      p,
      uploadRoles((r) =>
        roleFiles(['snapshot', r.snapshot(new Map(), { version: 1, expires: expiresIn(900) })])
      ),
      { both: VERSION }
    );
  });

  it('snapshot version that jumps', async () => {
    const p = await publishedPair(servers, 'snapshot jump', { clientSnapshot: true });
    const t = targetsV2(p);
    await compare(
      'snapshot version 1 → 5',
      p,
      uploadRoles((r) =>
        roleFiles(
          ['targets', t],
          ['snapshot', r.snapshot(roleFiles(['targets', t]), { version: 5 })]
        )
      ),
      { both: OK }
    );
    for (const side of servers.sides)
      assert.equal((await currentSigned(side, p.gun, 'snapshot')).version, 5, side.name);
  });

  it('snapshot with a wrong length', async () => {
    const p = await publishedPair(servers, 'snapshot length', { clientSnapshot: true });
    const t = targetsV2(p);
    const snap = (r: Repo) =>
      r.snapshot(roleFiles(['targets', t]), {
        meta: (m) => {
          (m.targets as { length: number }).length += 1;
        },
      });
    await compare(
      'snapshot whose targets length is 1 byte too long (hashes right)',
      p,
      uploadRoles((r) => roleFiles(['targets', t], ['snapshot', snap(r)])),
      {
        notary: OK,
        countersign: invalidUpdate('ErrBadSnapshot'),
      }
    );
  });

  it('snapshot version above 2^30', async () => {
    const p = await publishedPair(servers, 'snapshot huge version', { clientSnapshot: true });
    await compare(
      'snapshot version 2^30+1',
      p,
      uploadRoles((r) => roleFiles(['snapshot', r.snapshot(new Map(), { version: 2 ** 30 + 1 })])),
      {
        notary: OK,
        countersign: invalidUpdate('ErrBadSnapshot'),
      }
    );
  });

  it('no snapshot, and the server holds no snapshot key', async () => {
    const p = await publishedPair(servers, 'missing snapshot', { clientSnapshot: true });
    await compare(
      'targets without a snapshot; the client holds the snapshot key',
      p,
      uploadRoles(() => roleFiles(['targets', targetsV2(p)])),
      { both: invalidUpdate('ErrBadHierarchy') }
    );
  });
});

describe('root rotation', () => {
  it('signed only by the new root key', async () => {
    const p = await publishedPair(servers, 'rotation new only');
    const next = await x509Key(p.gun);
    await compare(
      'root v2 with a new root key, signed by the new key only',
      p,
      uploadRoles((r) => roleFiles(['root', r.root({ version: 2, root: [next] }, [next])])),
      {
        both: invalidUpdate('ErrBadRoot'),
      }
    );
  });

  it('signed only by the old root key', async () => {
    const p = await publishedPair(servers, 'rotation old only');
    const next = await x509Key(p.gun);
    await compare(
      'root v2 with a new root key, signed by the old key only',
      p,
      uploadRoles((r) => roleFiles(['root', r.root({ version: 2, root: [next] }, [p.keys.root])])),
      {
        both: invalidUpdate('ErrBadRoot'),
      }
    );
  });

  it('signed by the old and the new root key', async () => {
    const p = await publishedPair(servers, 'rotation both');
    const next = await x509Key(p.gun);
    await compare(
      'root v2 with a new root key, signed by old and new',
      p,
      uploadRoles((r) =>
        roleFiles(['root', r.root({ version: 2, root: [next] }, [p.keys.root, next])])
      ),
      {
        both: OK,
      }
    );
  });

  it('root certificate for another GUN', async () => {
    const p = await newPair(servers, 'root cn');
    const other = await x509Key(`${p.gun}-other`);
    await compare(
      'root certificate CN naming another GUN',
      p,
      uploadRoles((r) =>
        roleFiles(['root', r.root({ root: [other] })], ['targets', standardTargets(p.keys, false)])
      ),
      {
        both: invalidUpdate('ErrBadRoot'),
      }
    );
  });
});

describe('root structure', () => {
  type Signed = Record<string, unknown>;
  type Roles = Record<string, { keyids: string[]; threshold: number }>;
  const roles = (s: Signed) => s.roles as Roles;
  for (const [label, change, expected] of [
    ['_type "root"', (s: Signed) => void (s._type = 'root'), invalidUpdate('ErrBadRoot')],
    [
      'no timestamp role',
      (s: Signed) => void delete roles(s).timestamp,
      invalidUpdate('ErrBadRoot'),
    ],
    [
      'a role listing a key ID missing from keys',
      (s: Signed) => void roles(s).targets?.keyids.push('a'.repeat(64)),
      invalidUpdate('ErrBadRoot'),
    ],
    [
      'targets threshold 0',
      (s: Signed) => void ((roles(s).targets as Roles[string]).threshold = 0),
      invalidUpdate('ErrBadRoot'),
    ],
    [
      'an extra role "foo"',
      (s: Signed) => void ((s.roles as Record<string, unknown>).foo = { keyids: [], threshold: 1 }),
      OK,
    ],
  ] as const) {
    it(`root with ${label}`, async () => {
      const p = await newPair(servers, `root ${label}`);
      const t = standardTargets(p.keys, false);
      await compare(
        `new repository, root with ${label}`,
        p,
        uploadRoles((r) =>
          roleFiles(['root', resigned(r.root(), change, [p.keys.root])], ['targets', t])
        ),
        { both: expected }
      );
    });
  }

  it('root v2 rotating the targets key, with targets signed by the old key', async () => {
    const p = await publishedPair(servers, 'targets key rotation');
    const next = plainKey();
    const t = sign(targetsSigned({ version: 2 }), [p.keys.targets]);
    await compare(
      'root v2 with a new targets key + targets v2 signed by the old one',
      p,
      uploadRoles((r) =>
        roleFiles(['root', r.root({ version: 2, targets: [next] })], ['targets', t])
      ),
      {
        both: invalidUpdate('ErrBadTargets'),
      }
    );
  });
});

describe('snapshot structure', () => {
  type Meta = Record<string, { hashes: Record<string, string> }>;
  const entry = (m: Meta, role: string) => m[role] as Meta[string];
  for (const [label, change, expected] of [
    [
      'a sha256 of the wrong size',
      (m: Meta) => void (entry(m, 'targets').hashes.sha256 = 'AAAA'),
      invalidUpdate('ErrBadSnapshot'),
    ],
    [
      'only a sha512 for targets',
      (m: Meta) => void delete entry(m, 'targets').hashes.sha256,
      invalidUpdate('ErrBadSnapshot'),
    ],
    ['no root entry', (m: Meta) => void delete m.root, invalidUpdate('ErrBadSnapshot')],
    [
      'a wrong sha512 beside a right sha256',
      (m: Meta) => void (entry(m, 'targets').hashes.sha512 = Buffer.alloc(64).toString('base64')),
      invalidUpdate('ErrBadSnapshot'),
    ],
    [
      'an extra hash of an unknown algorithm',
      (m: Meta) => void (entry(m, 'targets').hashes.md5 = 'AAAA'),
      OK,
    ],
  ] as const) {
    it(`snapshot with ${label}`, async () => {
      const p = await publishedPair(servers, `snapshot ${label}`, { clientSnapshot: true });
      const t = targetsV2(p);
      await compare(
        `targets v2 with a snapshot with ${label}`,
        p,
        uploadRoles((r) =>
          roleFiles(
            ['targets', t],
            [
              'snapshot',
              r.snapshot(roleFiles(['targets', t]), { meta: (m) => change(m as unknown as Meta) }),
            ]
          )
        ),
        {
          both: expected,
        }
      );
    });
  }
});

describe('incomplete updates', () => {
  it('first upload without a root', async () => {
    const p = await newPair(servers, 'no root');
    await compare(
      'new repository, targets without root',
      p,
      uploadRoles(() => roleFiles(['targets', standardTargets(p.keys, false)])),
      { both: invalidUpdate('ErrValidation') }
    );
  });

  it('new repository without targets (server holds the snapshot key)', async () => {
    const p = await newPair(servers, 'no targets server snapshot');
    await compare(
      'new repository, root only, server snapshot key',
      p,
      uploadRoles((r) => roleFiles(['root', r.root()])),
      { both: invalidUpdate('ErrValidation') }
    );
  });

  it('new repository without targets and no server snapshot key', async () => {
    const p = await newPair(servers, 'no targets client snapshot', { clientSnapshot: true });
    await compare(
      'new repository, root only, client snapshot key',
      p,
      uploadRoles((r) => roleFiles(['root', r.root()])),
      { both: invalidUpdate('ErrValidation') }
    );
  });

  it('new repository without a snapshot and no server snapshot key', async () => {
    const p = await newPair(servers, 'no snapshot', { clientSnapshot: true });
    await compare(
      'new repository, root + targets, client snapshot key, no snapshot',
      p,
      uploadRoles((r) =>
        roleFiles(['root', r.root()], ['targets', standardTargets(p.keys, false)])
      ),
      {
        both: invalidUpdate('ErrBadHierarchy'),
      }
    );
  });
});

describe('delegations', () => {
  const roleEntry = (
    name: string,
    keyids: readonly string[],
    extra: { threshold?: number; paths?: readonly string[] } = {}
  ) => ({ name, keyids, paths: [''], ...extra });
  const targetsDeclaring = (
    p: Pair,
    roles: ReturnType<typeof roleEntry>[],
    keys = [p.keys.delegation]
  ) => sign(targetsSigned({ version: 2, delegations: { keys, roles } }), [p.keys.targets]);

  it('a delegation its parent does not list', async () => {
    const p = await publishedPair(servers, 'unlisted delegation');
    const d = sign(targetsSigned({}), [p.keys.delegation]);
    await compare(
      'targets/releases not listed in targets',
      p,
      uploadRoles(() => roleFiles(['targets/releases', d])),
      { both: invalidUpdate('ErrBadTargets') },
      { roles: ['targets/releases'] }
    );
  });

  it('a delegation listing an unknown key', async () => {
    const p = await publishedPair(servers, 'unknown delegation key');
    const t = targetsDeclaring(p, [roleEntry('targets/releases', [plainKey().publicKey.id])]);
    await compare(
      'delegation role lists a keyid missing from delegations.keys',
      p,
      uploadRoles(() => roleFiles(['targets', t])),
      { both: invalidUpdate('ErrBadTargets') }
    );
  });

  for (const name of ['targets/Releases', 'targets/../x', 'targets/a/b', 'releases']) {
    it(`a delegation named ${name}`, async () => {
      const p = await publishedPair(servers, `delegation name ${name}`);
      const t = targetsDeclaring(p, [roleEntry(name, [p.keys.delegation.publicKey.id])]);
      await compare(
        `targets declares a delegation named ${name}`,
        p,
        uploadRoles(() => roleFiles(['targets', t])),
        { both: invalidUpdate('ErrBadTargets') }
      );
    });
  }

  it('a delegation with threshold 0', async () => {
    const p = await publishedPair(servers, 'delegation threshold 0');
    const t = targetsDeclaring(p, [
      roleEntry('targets/releases', [p.keys.delegation.publicKey.id], { threshold: 0 }),
    ]);
    await compare(
      'delegation threshold 0',
      p,
      uploadRoles(() => roleFiles(['targets', t])),
      { both: invalidUpdate('ErrBadTargets') }
    );
  });

  it('a delegation whose parent does not exist', async () => {
    const p = await publishedPair(servers, 'orphan delegation');
    const d = sign(targetsSigned({}), [p.keys.delegation]);
    await compare(
      'targets/a/b uploaded with no targets/a',
      p,
      uploadRoles(() => roleFiles(['targets/a/b', d])),
      { both: invalidUpdate('ErrBadTargets') },
      { roles: ['targets/a/b'] }
    );
  });

  it('a delegation threshold above its number of keys', async () => {
    const p = await publishedPair(servers, 'delegation threshold high');
    const t = targetsDeclaring(p, [
      roleEntry('targets/releases', [p.keys.delegation.publicKey.id], { threshold: 2 }),
    ]);
    await compare(
      'delegation threshold 2 with 1 key',
      p,
      uploadRoles(() => roleFiles(['targets', t])),
      { notary: OK, countersign: invalidUpdate('ErrBadTargets') }
    );
  });

  it('a delegation threshold met only by listing one key twice', async () => {
    const p = await publishedPair(servers, 'delegation duplicate keyids');
    const id = p.keys.delegation.publicKey.id;
    const t = targetsDeclaring(p, [roleEntry('targets/releases', [id, id], { threshold: 2 })]);
    await compare(
      'delegation keyids [k, k] with threshold 2',
      p,
      uploadRoles(() => roleFiles(['targets', t])),
      { notary: OK, countersign: invalidUpdate('ErrBadTargets') }
    );
  });

  it('delegated targets outside the delegation paths', async () => {
    const p = await publishedPair(servers, 'targets outside paths');
    const t = targetsDeclaring(p, [
      roleEntry('targets/releases', [p.keys.delegation.publicKey.id], { paths: ['releases/'] }),
    ]);
    const d = sign(
      targetsSigned({ targets: [{ name: 'elsewhere/file', bytes: Buffer.from('x') }] }),
      [p.keys.delegation]
    );
    await compare(
      'delegation lists a target outside its paths',
      p,
      uploadRoles(() => roleFiles(['targets', t], ['targets/releases', d])),
      { both: OK }
    );
  });

  it('a delegation wider than its parent', async () => {
    const p = await publishedPair(servers, 'wider delegation');
    const child = plainKey();
    const t = targetsDeclaring(p, [
      roleEntry('targets/releases', [p.keys.delegation.publicKey.id], { paths: ['releases/'] }),
    ]);
    const d = sign(
      targetsSigned({
        delegations: {
          keys: [child],
          roles: [{ name: 'targets/releases/beta', keyids: [child.publicKey.id], paths: [''] }],
        },
      }),
      [p.keys.delegation]
    );
    const beta = sign(targetsSigned({ targets: [{ name: 'anything', bytes: Buffer.from('y') }] }), [
      child,
    ]);
    await compare(
      'targets/releases/beta with paths [""] under targets/releases with paths ["releases/"]',
      p,
      uploadRoles(() =>
        roleFiles(['targets', t], ['targets/releases', d], ['targets/releases/beta', beta])
      ),
      {
        both: OK,
      }
    );
  });

  it('a delegation re-signed after the parent dropped it', async () => {
    const p = await publishedPair(servers, 'dropped delegation', { delegation: true });
    const t = targetsV2(p);
    const d = resigned(sign(targetsSigned({}), [p.keys.delegation]), (s) => (s.version = 2), [
      p.keys.delegation,
    ]);
    await compare(
      'targets v2 without the delegation, uploaded with targets/releases v2',
      p,
      uploadRoles(() => roleFiles(['targets', t], ['targets/releases', d])),
      { both: invalidUpdate('ErrBadTargets') },
      { roles: ['targets/releases'] }
    );
  });
});
