/**
 * Differential: Countersign's size caps (`countersign.limits`), which notary-server does not have
 * (docs/protocol.md §8.1). Countersign runs with small caps here; every upload over a cap is one
 * notary accepts, and Countersign refuses it with a clear 4xx and stores nothing. Uploads at the
 * caps are accepted by both.
 */
import { after, before, describe, it } from 'node:test';
import { rolesBody } from '../helpers/multipart.js';
import { expiresIn, plainKey, sign, targetsSigned } from '../helpers/tuf-builder.js';
import {
  compare,
  publishedPair,
  standardTargets,
  Servers,
  type Expect,
  type Pair,
  type Repo,
} from './harness.js';

const LIMITS = {
  maxBodyBytes: 12_000,
  maxPartBytes: 8_000,
  maxParts: 4,
  maxTargets: 3,
  maxDelegations: 2,
};
const OK: Expect = { status: 200 };
const TOO_LARGE: Expect = { status: 413, code: 'TOO_LARGE' };
const badTargets: Expect = { status: 400, code: 'INVALID_UPDATE', name: 'ErrBadTargets' };

let servers: Servers;
before(async () => {
  servers = await Servers.start({ countersignConfig: { countersign: { limits: LIMITS } } });
});
after(async () => {
  await servers?.stop();
});

const upload =
  (files: [string, Buffer][], headers: Record<string, string> = {}) =>
  (repo: Repo | undefined) => {
    const r = (repo as Repo).post(rolesBody(files));
    return { ...r, headers: { ...r.headers, ...headers } };
  };

/** One expiry for every padded file, so its text (and length) is the same each time. */
const EXPIRES = expiresIn(1095);

/** targets v2 padded with a `custom` field to about `bytes` bytes (one target). */
function paddedTargets(p: Pair, bytes: number): Buffer {
  return sign(
    targetsSigned({
      version: 2,
      expires: EXPIRES,
      targets: [{ name: 'big', bytes: Buffer.from('x'), custom: { pad: 'p'.repeat(bytes - 900) } }],
    }),
    [p.keys.targets]
  );
}

/** targets v2 of exactly `bytes` bytes (the padding is ASCII and the signature has a fixed size). */
function targetsOfSize(p: Pair, bytes: number): Buffer {
  const first = paddedTargets(p, bytes);
  const exact = paddedTargets(p, bytes + (bytes - first.length));
  if (exact.length !== bytes) throw new Error(`targets of ${exact.length} bytes, wanted ${bytes}`);
  return exact;
}

/** Two targets parts (the last wins) whose multipart body is exactly `bytes` long. */
function bodyOfSize(p: Pair, bytes: number): [string, Buffer][] {
  const first = targetsOfSize(p, 5_000);
  const trial = rolesBody([
    ['targets', first],
    ['targets', first],
  ]).body.length;
  return [
    ['targets', first],
    ['targets', targetsOfSize(p, 5_000 + bytes - trial)],
  ];
}

function targetsListing(p: Pair, n: number): Buffer {
  return sign(
    targetsSigned({
      version: 2,
      targets: Array.from({ length: n }, (_, i) => ({
        name: `t${i}`,
        bytes: Buffer.from(`target ${i}`),
      })),
    }),
    [p.keys.targets]
  );
}

function targetsDelegating(p: Pair, n: number): Buffer {
  const keys = Array.from({ length: n }, () => plainKey());
  return sign(
    targetsSigned({
      version: 2,
      delegations: {
        keys,
        roles: keys.map((k, i) => ({
          name: `targets/d${i}`,
          keyids: [k.publicKey.id],
          paths: [''],
        })),
      },
    }),
    [p.keys.targets]
  );
}

describe('bytes and parts', () => {
  it('a whole body over the cap', async () => {
    const p = await publishedPair(servers, 'body cap');
    const t = paddedTargets(p, 7_000);
    await compare(
      'two 7 kB targets parts (body over 12 kB)',
      p,
      upload([
        ['targets', t],
        ['targets', t],
      ]),
      { notary: OK, countersign: TOO_LARGE }
    );
  });

  it('a whole body over the cap, sent chunked', async () => {
    const p = await publishedPair(servers, 'body cap chunked');
    const t = paddedTargets(p, 7_000);
    await compare(
      'the same body with Transfer-Encoding: chunked',
      p,
      upload(
        [
          ['targets', t],
          ['targets', t],
        ],
        { 'Transfer-Encoding': 'chunked' }
      ),
      { notary: OK, countersign: TOO_LARGE }
    );
  });

  it('one part over the cap', async () => {
    const p = await publishedPair(servers, 'part cap');
    await compare('a 9 kB targets part', p, upload([['targets', paddedTargets(p, 9_000)]]), {
      notary: OK,
      countersign: TOO_LARGE,
    });
  });

  it('a body at the cap', async () => {
    const p = await publishedPair(servers, 'body at cap');
    const files = bodyOfSize(p, LIMITS.maxBodyBytes);
    if (rolesBody(files).body.length !== LIMITS.maxBodyBytes)
      throw new Error('the body is not at the cap');
    await compare('a body of exactly maxBodyBytes', p, upload(files), { both: OK });
  });

  it('a part one byte over the cap', async () => {
    const p = await publishedPair(servers, 'part over cap by one');
    await compare(
      'a targets part of maxPartBytes + 1',
      p,
      upload([['targets', targetsOfSize(p, LIMITS.maxPartBytes + 1)]]),
      { notary: OK, countersign: TOO_LARGE }
    );
  });

  it('a part at the cap', async () => {
    const p = await publishedPair(servers, 'part at cap');
    await compare(
      'a targets part of exactly maxPartBytes',
      p,
      upload([['targets', targetsOfSize(p, LIMITS.maxPartBytes)]]),
      { both: OK }
    );
  });

  it('more parts than the cap', async () => {
    const p = await publishedPair(servers, 'parts cap');
    const t = standardTargets(p.keys, false, 2);
    await compare(
      '5 parts (targets 5 times)',
      p,
      upload(Array.from({ length: 5 }, () => ['targets', t] as [string, Buffer])),
      { notary: OK, countersign: TOO_LARGE }
    );
  });

  it('as many parts as the cap', async () => {
    const p = await publishedPair(servers, 'parts at cap');
    const t = standardTargets(p.keys, false, 2);
    await compare(
      '4 parts (targets 4 times)',
      p,
      upload(Array.from({ length: 4 }, () => ['targets', t] as [string, Buffer])),
      { both: OK }
    );
  });
});

describe('counts inside a file', () => {
  it('more targets than the cap', async () => {
    const p = await publishedPair(servers, 'targets cap');
    await compare(
      'targets listing 4 targets (cap 3)',
      p,
      upload([['targets', targetsListing(p, 4)]]),
      { notary: OK, countersign: badTargets }
    );
  });

  it('as many targets as the cap', async () => {
    const p = await publishedPair(servers, 'targets at cap');
    await compare(
      'targets listing 3 targets (cap 3)',
      p,
      upload([['targets', targetsListing(p, 3)]]),
      { both: OK }
    );
  });

  it('more delegations than the cap', async () => {
    const p = await publishedPair(servers, 'delegations cap');
    await compare(
      'targets declaring 3 delegations (cap 2)',
      p,
      upload([['targets', targetsDelegating(p, 3)]]),
      { notary: OK, countersign: badTargets }
    );
  });

  it('as many delegations as the cap', async () => {
    const p = await publishedPair(servers, 'delegations at cap');
    await compare(
      'targets declaring 2 delegations (cap 2)',
      p,
      upload([['targets', targetsDelegating(p, 2)]]),
      { both: OK }
    );
  });
});
