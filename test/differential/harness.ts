/**
 * Differential testing against the reference notary-server 0.7: the same request (same bytes, or
 * the same recipe where the repository's state differs) goes to both servers, and the outcomes
 * are compared — equal status and error code (and `detail.Name` for INVALID_UPDATE), or
 * Countersign stricter exactly where DESIGN says so, with the reference's own behaviour asserted
 * too so each test documents the difference. After every rejection Countersign's stored state
 * (current files, versions, changefeeds) must be byte-identical to what it was before.
 *
 * Both servers run plain HTTP on 127.0.0.1; each test file starts one pair. Repositories use the
 * same GUN on both servers (they share no state) and the same client keys, so uploads that do
 * not involve the root (which lists each server's own timestamp/snapshot key) are byte-identical.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { PublicKey } from '../../src/crypto/keys.js';
import type { SigningKey } from '../../src/crypto/signing.js';
import type { SignatureEntry } from '../../src/signer/types.js';
import { envelopeBytes } from '../../src/tuf/build.js';
import type { JsonObject } from '../../src/tuf/metadata.js';
import { startCountersign } from '../helpers/countersign.js';
import { rolesBody, type MultipartBody } from '../helpers/multipart.js';
import { startReferenceNotaryServer } from '../helpers/notary-server.js';
import { rawRequest, type RawRequest } from '../helpers/raw-http.js';
import type { ServerUnderTest, StartedServer } from '../helpers/server-under-test.js';
import {
  plainKey,
  rootSigned,
  sign,
  snapshotSignedFor,
  targetsSigned,
  x509Key,
  type RootSpec,
  type TestKey,
} from '../helpers/tuf-builder.js';

export type SideName = 'notary-server' | 'countersign';

export interface Side {
  readonly name: SideName;
  readonly sut: ServerUnderTest;
}

/** What a server answered, reduced to what the comparison needs (plus the raw pieces for extra checks). */
export interface Outcome {
  /** HTTP status, or `dropped` when the server closed the connection without answering. */
  readonly status: number | 'dropped';
  readonly code?: string;
  /** `detail.Name` of an INVALID_UPDATE. */
  readonly name?: string;
  /** `detail.Error.Msg`, or a string detail. */
  readonly msg?: string;
  readonly detail?: unknown;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  readonly error?: string;
}

export interface Expect {
  readonly status: number | 'dropped';
  readonly code?: string;
  readonly name?: string;
}

/** An accepted upload. */
export const OK: Expect = { status: 200 };
/** An update refused as INVALID_UPDATE with notary's error NAME in `detail.Name` (ErrBadTargets, …). */
export const invalidUpdate = (name: string): Expect => ({
  status: 400,
  code: 'INVALID_UPDATE',
  name,
});

/** Role name → file bytes, in the order they are uploaded. */
export const roleFiles = (...entries: [string, Buffer][]): Map<string, Buffer> => new Map(entries);
/** A request uploading the role files RECIPE builds for each side's repository. */
export const uploadRoles =
  (recipe: (repo: Repo) => Map<string, Buffer>) =>
  (repo: Repo | undefined): RawRequest => {
    const r = repo as Repo;
    return r.post(rolesBody(recipe(r)));
  };

export class Servers {
  private constructor(
    readonly notary: Side,
    readonly countersign: Side,
    private readonly started: readonly StartedServer[]
  ) {}

  /** The reference notary-server and Countersign (`countersignConfig` written as its config file), both plain HTTP. */
  static async start(opts: { countersignConfig?: Record<string, unknown> } = {}): Promise<Servers> {
    const started: StartedServer[] = [];
    try {
      const [ref, ours] = await Promise.all([
        startReferenceNotaryServer({ tls: false, logLevel: 'error' }).then(
          (s) => (started.push(s), s)
        ),
        startCountersign({
          tls: false,
          ...(opts.countersignConfig ? { config: opts.countersignConfig } : {}),
        }).then((s) => (started.push(s), s)),
      ]);
      return new Servers(
        { name: 'notary-server', sut: ref.sut },
        { name: 'countersign', sut: ours.sut },
        started
      );
    } catch (e) {
      await Promise.allSettled(started.map((s) => s.stop()));
      throw e;
    }
  }

  get sides(): readonly [Side, Side] {
    return [this.notary, this.countersign];
  }

  async stop(): Promise<void> {
    const results = await Promise.allSettled(this.started.map((s) => s.stop()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

export async function send(side: Side, req: RawRequest): Promise<Outcome> {
  const r = await rawRequest(side.sut, req);
  if (r.kind === 'dropped')
    return { status: 'dropped', headers: {}, body: Buffer.alloc(0), error: r.error };
  const out: { -readonly [K in keyof Outcome]: Outcome[K] } = {
    status: r.status,
    headers: r.headers,
    body: r.body,
  };
  if (r.status >= 400 && r.body.length > 0) {
    try {
      const e = (
        JSON.parse(r.body.toString('utf8')) as { errors: { code: string; detail?: unknown }[] }
      ).errors[0];
      if (e) {
        out.code = e.code;
        out.detail = e.detail;
        const d = e.detail as { Name?: unknown; Error?: { Msg?: unknown } } | string | undefined;
        if (typeof d === 'string') out.msg = d;
        else if (d && typeof d === 'object') {
          if (typeof d.Name === 'string') out.name = d.Name;
          if (typeof d.Error?.Msg === 'string') out.msg = d.Error.Msg;
        }
      }
    } catch {
      // Not an errcode body; status alone is compared.
    }
  }
  return out;
}

export function describeOutcome(o: Outcome): string {
  if (o.status === 'dropped') return `connection dropped (${o.error ?? ''})`;
  return [String(o.status), o.code, o.name].filter(Boolean).join(' ');
}

function matches(o: Outcome, e: Expect): boolean {
  return (
    o.status === e.status &&
    (e.code === undefined || o.code === e.code) &&
    (e.name === undefined || o.name === e.name)
  );
}

export function assertOutcome(o: Outcome, e: Expect, who: string): void {
  assert.ok(
    matches(o, e),
    `${who}: expected ${[e.status, e.code, e.name].filter(Boolean).join(' ')}, got ${describeOutcome(o)}${o.msg ? ` (${o.msg})` : ''}\n${o.body.toString('utf8').slice(0, 600)}`
  );
  // An expectation without a code still pins "no errcode body" on success.
  if (e.code === undefined && typeof e.status === 'number' && e.status < 300)
    assert.equal(o.code, undefined, `${who}: unexpected error code`);
}

// ---------------------------------------------------------------------------------------------
// The report table: every compared case, appended to $DIFFERENTIAL_REPORT when set.

export function record(
  caseName: string,
  notary: Outcome,
  countersign: Outcome,
  verdict: 'equal' | 'stricter' | 'differs'
): void {
  const file = process.env.DIFFERENTIAL_REPORT;
  if (!file) return;
  const cell = (o: Outcome) =>
    describeOutcome(o) +
    (o.msg ? ` — ${o.msg.replace(/\|/g, '\\|').replace(/\s+/g, ' ').slice(0, 140)}` : '');
  appendFileSync(
    file,
    `| ${caseName.replace(/\|/g, '\\|')} | ${cell(notary)} | ${cell(countersign)} | ${verdict} |\n`
  );
}

// ---------------------------------------------------------------------------------------------
// Countersign's stored state, as clients can see it.

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export function gunPath(gun: string): string {
  return gun
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
}

/**
 * Everything a client could observe of a GUN's stored metadata: the current files, every
 * version 1..6 of each role (so a stray row under a new version shows), the GUN's changefeed
 * and the newest entries of the global one.
 */
export async function storedState(
  side: Side,
  gun: string,
  extraRoles: readonly string[] = []
): Promise<Record<string, string>> {
  const base = `/v2/${gunPath(gun)}/_trust/tuf/`;
  const probes: [string, string][] = [];
  for (const role of ['root', 'targets', 'snapshot', 'timestamp', ...extraRoles]) {
    probes.push([`${role}.json`, `${base}${role}.json`]);
    for (let v = 1; v <= 6; v++) probes.push([`${v}.${role}.json`, `${base}${v}.${role}.json`]);
  }
  const answers = await Promise.all(
    probes.map(async ([key, path]) => {
      const o = await send(side, { method: 'GET', path });
      return [key, o.status === 200 ? `200 ${sha256(o.body)}` : describeOutcome(o)] as const;
    })
  );
  const state: Record<string, string> = Object.fromEntries(answers);
  state['changefeed'] = (
    await send(side, { method: 'GET', path: `/v2/${gunPath(gun)}/_trust/changefeed?records=1000` })
  ).body.toString('utf8');
  state['global changefeed'] = (
    await send(side, { method: 'GET', path: '/v2/_trust/changefeed?change_id=-1&records=100' })
  ).body.toString('utf8');
  return state;
}

// ---------------------------------------------------------------------------------------------
// Repositories built with our own keys.

/** A key the server holds: listed in roots, never signed with by the test. */
export function serverHeld(key: PublicKey): TestKey {
  const signing: SigningKey = {
    algorithm: key.keyType === 'ed25519' ? 'ed25519' : 'ecdsa',
    publicKey: key,
    sign: () => {
      throw new Error('the server holds this key');
    },
    secretBytes: () => {
      throw new Error('the server holds this key');
    },
  };
  return { signing, publicKey: key };
}

export async function fetchServerKey(
  side: Side,
  gun: string,
  role: 'timestamp' | 'snapshot'
): Promise<PublicKey> {
  const o = await send(side, { method: 'GET', path: `/v2/${gunPath(gun)}/_trust/tuf/${role}.key` });
  assert.equal(o.status, 200, `${side.name}: GET ${role}.key: ${describeOutcome(o)}`);
  const k = JSON.parse(o.body.toString('utf8')) as { keytype: string; keyval: { public: string } };
  return new PublicKey(k.keytype, k.keyval.public);
}

/** Client keys shared by both sides of one case. */
export interface ClientKeys {
  readonly root: TestKey;
  readonly targets: TestKey;
  /** Present: the client holds the snapshot key; absent: the server does. */
  readonly snapshot?: TestKey;
  /** The key of delegation `targets/releases` in the standard setup. */
  readonly delegation: TestKey;
}

export interface RepoOptions {
  /** The client signs snapshots (the server holds none). Default false. */
  readonly clientSnapshot?: boolean;
  /** Use this GUN instead of a fresh one. */
  readonly gun?: string;
  /**
   * Countersign refuses this GUN (even `GET .key`): its copy lists a key made here instead, so
   * the same upload can still be built and sent to both servers.
   */
  readonly refusedByCountersign?: boolean;
}

/** One side's copy of a test repository: the same GUN and client keys, that server's own keys. */
export class Repo {
  /** The last accepted bytes of root, targets and delegations, by role. */
  readonly files = new Map<string, Buffer>();
  snapshotVersion = 0;

  constructor(
    readonly side: Side,
    readonly gun: string,
    readonly keys: ClientKeys,
    readonly timestampKey: PublicKey,
    readonly serverSnapshotKey: PublicKey | undefined
  ) {}

  get tufPath(): string {
    return `/v2/${gunPath(this.gun)}/_trust/tuf/`;
  }

  rootSpec(over: Partial<RootSpec> = {}): RootSpec {
    const snapshot = this.keys.snapshot ?? serverHeld(this.serverSnapshotKey as PublicKey);
    return {
      root: [this.keys.root],
      targets: [this.keys.targets],
      snapshot: [snapshot],
      timestamp: [serverHeld(this.timestampKey)],
      ...over,
    };
  }

  /** A root for this server, signed by `signers` (default: the root key). */
  root(
    over: Partial<RootSpec> = {},
    signers: readonly TestKey[] = over.root?.filter((k): k is TestKey => 'signing' in k) ?? [
      this.keys.root,
    ]
  ): Buffer {
    return sign(rootSigned(this.rootSpec(over)), signers);
  }

  /** A client snapshot over the current files with `uploads` applied (the server must hold no snapshot key). */
  snapshot(
    uploads: ReadonlyMap<string, Buffer>,
    opts: {
      version?: number;
      expires?: string;
      signers?: readonly TestKey[];
      meta?: (m: JsonObject) => void;
    } = {}
  ): Buffer {
    const files = new Map(this.files);
    for (const [r, b] of uploads) if (r !== 'snapshot' && r !== 'timestamp') files.set(r, b);
    const signed = snapshotSignedFor(files, opts.version ?? this.snapshotVersion + 1, opts.expires);
    opts.meta?.(signed.meta as JsonObject);
    return sign(signed, opts.signers ?? [this.keys.snapshot as TestKey]);
  }

  /** The role files of an upload, plus a client snapshot when the client holds the snapshot key. */
  withSnapshot(uploads: ReadonlyMap<string, Buffer>): Map<string, Buffer> {
    const out = new Map(uploads);
    if (this.keys.snapshot) out.set('snapshot', this.snapshot(uploads));
    return out;
  }

  post(body: MultipartBody, path = this.tufPath): RawRequest {
    return { method: 'POST', path, headers: { 'Content-Type': body.contentType }, body: body.body };
  }

  /** Uploads role files that must be accepted, and remembers them as the current state. */
  async publish(files: ReadonlyMap<string, Buffer>): Promise<void> {
    const o = await send(this.side, this.post(rolesBody(files)));
    assertOutcome(
      o,
      { status: 200 },
      `${this.side.name}: publish ${[...files.keys()].join('+')} to ${this.gun}`
    );
    this.accepted(files);
  }

  accepted(files: ReadonlyMap<string, Buffer>): void {
    for (const [r, b] of files) {
      if (r === 'snapshot')
        this.snapshotVersion = (
          JSON.parse(b.toString('utf8')) as { signed: { version: number } }
        ).signed.version;
      else if (r !== 'timestamp') this.files.set(r, b);
    }
  }
}

let gunCounter = 0;

/** A GUN unique within this process (and so on each server), readable in server logs. */
export function newGun(label: string): string {
  return `diff.example.com/${label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')}-${process.pid}-${++gunCounter}`;
}

export interface Pair {
  readonly gun: string;
  readonly keys: ClientKeys;
  readonly notary: Repo;
  readonly countersign: Repo;
  readonly both: readonly [Repo, Repo];
}

/** The same new repository on both servers (nothing uploaded yet): shared client keys, each server's own keys. */
export async function newPair(
  servers: Servers,
  label: string,
  opts: RepoOptions = {}
): Promise<Pair> {
  const gun = opts.gun ?? newGun(label);
  const keys: ClientKeys = {
    root: await x509Key(gun),
    targets: plainKey('ecdsa'),
    ...(opts.clientSnapshot ? { snapshot: plainKey('ecdsa') } : {}),
    delegation: plainKey('ecdsa'),
  };
  const key = (side: Side, role: 'timestamp' | 'snapshot') =>
    side.name === 'countersign' && opts.refusedByCountersign
      ? Promise.resolve(plainKey('ecdsa').publicKey)
      : fetchServerKey(side, gun, role);
  const make = async (side: Side) =>
    new Repo(
      side,
      gun,
      keys,
      await key(side, 'timestamp'),
      opts.clientSnapshot ? undefined : await key(side, 'snapshot')
    );
  const [notary, countersign] = await Promise.all([
    make(servers.notary),
    make(servers.countersign),
  ]);
  return { gun, keys, notary, countersign, both: [notary, countersign] };
}

export interface SetupOptions extends RepoOptions {
  /** Also publish `targets/releases` (key `keys.delegation`, paths [""]) listed in targets v1. */
  readonly delegation?: boolean;
}

const standardCache = new WeakMap<ClientKeys, Map<string, Buffer>>();

/**
 * The standard targets file (one target, optionally the `targets/releases` delegation) at
 * `version`. Signing is randomized and `expires` moves with the clock, so the bytes are made once
 * per key set and version: both servers get the very same file however often a recipe asks.
 */
export function standardTargets(keys: ClientKeys, delegation: boolean, version = 1): Buffer {
  let cache = standardCache.get(keys);
  if (!cache) standardCache.set(keys, (cache = new Map()));
  const id = `${delegation}/${version}`;
  let bytes = cache.get(id);
  if (!bytes) cache.set(id, (bytes = makeStandardTargets(keys, delegation, version)));
  return bytes;
}

function makeStandardTargets(keys: ClientKeys, delegation: boolean, version: number): Buffer {
  return sign(
    targetsSigned({
      version,
      targets: [{ name: 'v1', bytes: Buffer.from('payload v1') }],
      ...(delegation
        ? {
            delegations: {
              keys: [keys.delegation],
              roles: [
                { name: 'targets/releases', keyids: [keys.delegation.publicKey.id], paths: [''] },
              ],
            },
          }
        : {}),
    }),
    [keys.targets]
  );
}

/** A repository published on both servers: root v1 + targets v1 (+ delegation, + client snapshot). */
export async function publishedPair(
  servers: Servers,
  label: string,
  opts: SetupOptions = {}
): Promise<Pair> {
  const pair = await newPair(servers, label, opts);
  const targets = standardTargets(pair.keys, opts.delegation ?? false);
  const releases = sign(
    targetsSigned({ targets: [{ name: 'r1', bytes: Buffer.from('release 1') }] }),
    [pair.keys.delegation]
  );
  await Promise.all(
    pair.both.map((repo) => {
      const files = new Map<string, Buffer>([
        ['root', repo.root()],
        ['targets', targets],
      ]);
      if (opts.delegation) files.set('targets/releases', releases);
      return repo.publish(repo.withSnapshot(files));
    })
  );
  return pair;
}

// ---------------------------------------------------------------------------------------------
// The comparison itself.

/**
 * `both`: the servers must agree. Otherwise each side's answer is pinned: `stricter` (the
 * default) where Countersign refuses what notary accepts or answers a request notary drops the
 * connection on; `differs` where both refuse with the same status but Countersign names the
 * problem by another code (each such case says why in its test).
 */
export type Expectation =
  | { readonly both: Expect }
  | {
      readonly notary: Expect;
      readonly countersign: Expect;
      readonly verdict?: 'stricter' | 'differs';
    };

export interface CompareOptions {
  /** Delegation roles whose stored files the no-change check also reads. */
  readonly roles?: readonly string[];
  /** The GUN whose stored state the no-change check reads (default: the pair's). */
  readonly stateGun?: string;
  /** Skip the same-repository check after both accepted (the test checks the difference itself). */
  readonly resultsDiffer?: boolean;
}

/**
 * Sends `build(repo)` to each server (reference first) and checks the expectation. Countersign's
 * stored state is captured around every request it rejects and must not change.
 */
export async function compare(
  caseName: string,
  target: Pair | Servers,
  build: (repo: Repo | undefined, side: Side) => RawRequest | Promise<RawRequest>,
  expectation: Expectation,
  opts: CompareOptions = {}
): Promise<{ notary: Outcome; countersign: Outcome }> {
  const pair = target instanceof Servers ? undefined : target;
  const sides: readonly [Side, Side] = pair
    ? [pair.notary.side, pair.countersign.side]
    : (target as Servers).sides;
  const gun = opts.stateGun ?? pair?.gun;
  const notary = await send(sides[0], await build(pair?.notary, sides[0]));
  const cs = sides[1];
  const req = await build(pair?.countersign, cs);
  const before = gun === undefined ? undefined : await storedState(cs, gun, opts.roles);
  const countersign = await send(cs, req);
  if (before && gun !== undefined && countersign.status !== 200) {
    assert.deepEqual(
      await storedState(cs, gun, opts.roles),
      before,
      `${caseName}: Countersign's stored state changed after a rejected request`
    );
  }
  if ('both' in expectation) {
    assertOutcome(notary, expectation.both, `${caseName} [notary-server]`);
    assertOutcome(countersign, expectation.both, `${caseName} [countersign]`);
    assert.equal(countersign.status, notary.status, `${caseName}: status differs`);
    assert.equal(countersign.code, notary.code, `${caseName}: error code differs`);
    if (notary.code === 'INVALID_UPDATE')
      assert.equal(countersign.name, notary.name, `${caseName}: detail.Name differs`);
    record(caseName, notary, countersign, 'equal');
  } else {
    assertOutcome(notary, expectation.notary, `${caseName} [notary-server]`);
    assertOutcome(countersign, expectation.countersign, `${caseName} [countersign]`);
    assert.ok(
      typeof countersign.status === 'number' &&
        countersign.status >= 400 &&
        countersign.status < 500,
      `${caseName}: Countersign's answer must be a clear 4xx`
    );
    const verdict = expectation.verdict ?? 'stricter';
    if (verdict === 'differs')
      assert.equal(countersign.status, notary.status, `${caseName}: same status expected`);
    else
      assert.ok(
        notary.status === 'dropped' || notary.status < 400,
        `${caseName}: notary must accept or drop where Countersign is stricter`
      );
    record(caseName, notary, countersign, verdict);
  }
  if (
    pair &&
    !opts.resultsDiffer &&
    notary.status === 200 &&
    countersign.status === 200 &&
    req.method === 'POST' &&
    req.path === pair.countersign.tufPath
  ) {
    await assertSameResult(caseName, pair);
  }
  return { notary, countersign };
}

/**
 * After both servers accepted the same update, they must hold the same repository: the same
 * root/snapshot/timestamp versions, the same snapshot entries, and the same bytes for every
 * targets-family file (those are shared; roots differ by each server's own keys).
 */
export async function assertSameResult(caseName: string, pair: Pair): Promise<void> {
  const [n, c] = await Promise.all(
    pair.both.map(async (r) => {
      const [root, snapshot, timestamp] = await Promise.all(
        ['root', 'snapshot', 'timestamp'].map((role) => currentSigned(r.side, r.gun, role))
      );
      return {
        root: root as Current,
        snapshot: snapshot as Current,
        timestamp: timestamp as Current,
      };
    })
  );
  if (!n || !c) throw new Error('two sides expected');
  for (const role of ['root', 'snapshot', 'timestamp'] as const)
    assert.equal(
      c[role].version,
      n[role].version,
      `${caseName}: ${role} version differs after both accepted`
    );
  const nMeta = n.snapshot.signed.meta as Record<string, unknown>;
  const cMeta = c.snapshot.signed.meta as Record<string, unknown>;
  assert.deepEqual(
    Object.keys(cMeta).sort(),
    Object.keys(nMeta).sort(),
    `${caseName}: snapshot entries differ`
  );
  for (const role of Object.keys(nMeta).filter((r) => r !== 'root')) {
    assert.deepEqual(cMeta[role], nMeta[role], `${caseName}: snapshot entry for ${role} differs`);
    const [nf, cf] = await Promise.all(
      pair.both.map((r) => send(r.side, { method: 'GET', path: `${r.tufPath}${role}.json` }))
    );
    assert.equal(cf?.status, nf?.status, `${caseName}: GET ${role}.json`);
    assert.ok(
      nf && cf && cf.body.equals(nf.body),
      `${caseName}: current ${role}.json bytes differ`
    );
  }
  const feeds = await Promise.all(pair.both.map((r) => changefeedOf(r.side, r.gun)));
  assert.deepEqual(feeds[1], feeds[0], `${caseName}: the GUN's changefeeds differ`);
  for (const r of pair.both) await assertClientWalk(`${caseName} [${r.side.name}]`, r);
}

/** (Category, Version) of every changefeed record of a GUN, oldest first. */
async function changefeedOf(side: Side, gun: string): Promise<[string, number][]> {
  const o = await send(side, {
    method: 'GET',
    path: `/v2/${gunPath(gun)}/_trust/changefeed?records=1000`,
  });
  const body = JSON.parse(o.body.toString('utf8')) as {
    records: { Category: string; Version: number }[] | null;
  };
  return (body.records ?? []).map((r) => [r.Category, r.Version]);
}

/**
 * What a notary client does on pull (docs/protocol.md §9): timestamp.json, then every file by the
 * sha256 its parent promises. Each must be served, with the promised length and hashes.
 */
export async function assertClientWalk(who: string, repo: Repo): Promise<void> {
  const fetchPromised = async (
    role: string,
    meta: { length: number; hashes: Record<string, string> }
  ) => {
    const hex = Buffer.from(meta.hashes.sha256 as string, 'base64').toString('hex');
    const o = await send(repo.side, { method: 'GET', path: `${repo.tufPath}${role}.${hex}.json` });
    assert.equal(o.status, 200, `${who}: GET ${role}.<sha256>.json`);
    assert.equal(o.body.length, meta.length, `${who}: length of ${role}`);
    for (const [alg, b64] of Object.entries(meta.hashes)) {
      if (alg === 'sha256' || alg === 'sha512')
        assert.equal(
          createHash(alg).update(o.body).digest('base64'),
          b64,
          `${who}: ${alg} of ${role}`
        );
    }
    return JSON.parse(o.body.toString('utf8')) as {
      signed: { meta: Record<string, { length: number; hashes: Record<string, string> }> };
    };
  };
  const ts = await currentSigned(repo.side, repo.gun, 'timestamp');
  const tsMeta = ts.signed.meta as Record<
    string,
    { length: number; hashes: Record<string, string> }
  >;
  const snapshot = await fetchPromised(
    'snapshot',
    tsMeta.snapshot as { length: number; hashes: Record<string, string> }
  );
  for (const [role, meta] of Object.entries(snapshot.signed.meta)) await fetchPromised(role, meta);
}

type Current = Awaited<ReturnType<typeof currentSigned>>;

/** The stored current file of a role, parsed (for post-success checks). */
export async function currentSigned(
  side: Side,
  gun: string,
  role: string
): Promise<{ version: number; raw: Buffer; signed: JsonObject }> {
  const o = await send(side, {
    method: 'GET',
    path: `/v2/${gunPath(gun)}/_trust/tuf/${role}.json`,
  });
  assert.equal(o.status, 200, `${side.name}: GET ${role}.json: ${describeOutcome(o)}`);
  const doc = JSON.parse(o.body.toString('utf8')) as { signed: JsonObject };
  return { version: doc.signed.version as number, raw: o.body, signed: doc.signed };
}

// ---------------------------------------------------------------------------------------------
// Tampering with signed files.

interface Envelope {
  signed: JsonObject;
  signatures: SignatureEntry[];
}

export function envelopeOf(file: Buffer): Envelope {
  return JSON.parse(file.toString('utf8')) as Envelope;
}

/** The same `signed` with other signatures (signed files keep the canonical layout). */
export function withSignatures(
  file: Buffer,
  change: (sigs: SignatureEntry[]) => SignatureEntry[]
): Buffer {
  const env = envelopeOf(file);
  return envelopeBytes(env.signed, change(env.signatures));
}

/** `signed` changed and signed again by `signers`. */
export function resigned(
  file: Buffer,
  change: (signed: JsonObject) => void,
  signers: readonly TestKey[]
): Buffer {
  const env = envelopeOf(file);
  change(env.signed);
  return sign(env.signed, signers);
}

/** A signature that is well-formed but over other bytes. */
export function forgedSignature(key: TestKey): SignatureEntry {
  const s = key.signing.sign(Buffer.from('something else entirely'));
  return { keyid: key.publicKey.id, method: s.method, sig: s.sig.toString('base64') };
}
