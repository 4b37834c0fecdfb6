/**
 * The atomic update of a repository (docs/protocol.md §2.4): the heart of the Notary API.
 *
 *   parse every part → load the stored root → validate an uploaded root (rotation rules) →
 *   targets and delegations, parents first → the client's snapshot, or one the server signs →
 *   a fresh timestamp → one transaction.
 *
 * Everything runs inside one storage transaction, so concurrent updates of a repository are
 * serialized: each validates against the state the previous one left, and no snapshot is ever
 * built from a mix of versions (the race notary fixed in PR #1636).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  CountersignError,
  fail,
  invalidUpdate,
  isCountersignError,
  type ValidationErrorName,
} from '../errors.js';
import { sha256Hex } from '../crypto/hash.js';
import type { Signer } from '../signer/types.js';
import type { NewMeta, Storage, StorageTx } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import {
  goDecodesAsSignedMeta,
  parseRoot,
  parseSnapshot,
  parseTargets,
  MAX_VERSION,
  MAX_STEPPED_VERSION,
  type Root,
  type SignedFile,
  type Snapshot,
  type Targets,
} from '../tuf/metadata.js';
import { isDelegationName, isValidRole, parentRole, roleDepth } from '../tuf/names.js';
import { validateRoot, baseRoleVerifier } from '../tuf/root.js';
import { checkTargetsStructure, findDelegation } from '../tuf/delegations.js';
import { checkFileMeta, checkHashSizes, checkNotExpired, verifySignatures } from '../tuf/verify.js';
import { loadCurrent, loadCurrentRole, type CurrentState } from './current.js';
import type { NotaryCaches } from './caches.js';
import { buildServerSnapshot, buildServerTimestamp, snapshotMetaJSON } from './server-signing.js';
import type { ExpiryPolicy } from './expiry.js';
import type { CandidateKey, PartPreparer, PreparedPart } from './validate-worker.js';

export interface UploadedPart {
  /** The role name: the multipart filename with an optional `.json` removed. */
  readonly role: string;
  readonly data: Buffer;
}

export interface UpdateLimits {
  /** Most targets one targets file may list. */
  readonly maxTargets: number;
  /** Most delegation roles one targets file may declare. */
  readonly maxDelegations: number;
}

export const DEFAULT_UPDATE_LIMITS: UpdateLimits = { maxTargets: 100_000, maxDelegations: 1_000 };

/**
 * An update whose parts add up to this many bytes gives the event loop a turn between its steps
 * (and before its COMMIT): each step of a 1 MB upload (signature check, snapshot, the insert)
 * holds the event loop for 1–3 ms, and GETs of every other repository would otherwise wait for
 * all of them in a row. A small publish's steps take microseconds and run straight through.
 */
export const TURNS_MIN_BYTES = 64 * 1024;

export interface UpdateDeps {
  readonly storage: Storage;
  readonly signer: Signer;
  readonly clock: Clock;
  readonly expiry: ExpiryPolicy;
  /** The app's parsed files, checked roots and imported keys (src/notary/caches.ts). */
  readonly caches: NotaryCaches;
  readonly limits?: UpdateLimits;
  /** Parses large parts off the event loop (src/notary/validate-worker.ts); inline without it. */
  readonly prepare?: PartPreparer;
}

export interface UpdateResult {
  /** Every file written, generated snapshot and timestamp included. */
  readonly written: readonly NewMeta[];
}

/** Applies one POST. Throws CountersignError with notary's codes (INVALID_UPDATE, VERSION, MALFORMED_JSON, …). */
export async function applyUpdate(
  deps: UpdateDeps,
  gun: string,
  parts: readonly UploadedPart[]
): Promise<UpdateResult> {
  const prepared = deps.prepare
    ? await deps.prepare(parts, (role) => expectedSigners(deps, gun, parts, role))
    : [];
  const { uploads, parsedTargets } = parseParts(parts, prepared);
  try {
    const run = (tx: StorageTx) => new UpdateRun(deps, tx, gun, uploads, parsedTargets).run();
    return await deps.storage.transaction(run, {
      lockGun: gun,
    });
  } catch (err) {
    if (isCountersignError(err, 'STORAGE_OLD_VERSION'))
      throw new CountersignError('VERSION', undefined, { detail: {}, cause: err });
    if (isCountersignError(err) && (err.code === 'INVALID_UPDATE' || err.code === 'VERSION'))
      throw err;
    if (isCountersignError(err, 'STORAGE_FAILURE'))
      throw new CountersignError('UPDATING', undefined, { cause: err });
    throw err;
  }
}

/**
 * The keys an uploaded `targets` file should be signed with, for the upload worker to verify its
 * signatures off the event loop: those the stored root lists for targets, and those of a root
 * uploaded with it. A hint read outside the transaction, which finds the keys again: should the
 * root change in between, the signatures are checked on the event loop as before. Delegations
 * get none (their keys are in a parent targets file, possibly as large).
 */
async function expectedSigners(
  deps: UpdateDeps,
  gun: string,
  parts: readonly UploadedPart[],
  role: string
): Promise<CandidateKey[] | undefined> {
  if (role !== 'targets') return undefined;
  const keys = new Map<string, CandidateKey>();
  const add = (root: Root) => {
    for (const k of baseRoleVerifier(root, 'targets').keys.values())
      keys.set(k.id, { keytype: k.keyType, public: k.publicB64 });
  };
  const row = await loadCurrentRole(deps.storage.meta, gun, 'root', deps.caches.parsed);
  if (row) add(deps.caches.parsed.root(row).signed);
  const uploadedRoot = parts.findLast((p) => p.role === 'root');
  if (uploadedRoot) {
    try {
      add(parseRoot(uploadedRoot.data).signed);
    } catch {
      // refused in the transaction, with the exact error
    }
  }
  return keys.size > 0 ? [...keys.values()] : undefined;
}

/**
 * Parse phase (docs/protocol.md §2.2): role names and the minimal JSON shape; the last duplicate
 * wins; timestamps are dropped. `prepared[i]`, when present, is the worker's verdict on part i
 * (a failed one is re-checked here, so the error is the inline one), and its parsed targets file.
 */
function parseParts(
  parts: readonly UploadedPart[],
  prepared: readonly (PreparedPart | undefined)[]
): { uploads: Map<string, Buffer>; parsedTargets: Map<string, SignedFile<Targets>> } {
  const uploads = new Map<string, Buffer>();
  const parsedTargets = new Map<string, SignedFile<Targets>>();
  parts.forEach((p, i) => {
    if (p.role === '') fail('NO_FILENAME');
    if (!isValidRole(p.role)) fail('INVALID_ROLE', undefined, { detail: p.role });
    const early = prepared[i];
    if (!early?.decodes && !goDecodesAsSignedMeta(p.data)) fail('MALFORMED_JSON');
    if (p.role === 'timestamp') return;
    uploads.set(p.role, p.data);
    if (early?.targets) parsedTargets.set(p.role, early.targets);
    else parsedTargets.delete(p.role);
  });
  return { uploads, parsedTargets };
}

class UpdateRun {
  private readonly now: Date;
  private readonly limits: UpdateLimits;
  /** Targets-family files loaded in this request (uploaded or stored ancestors), by role. */
  private readonly loadedTargets = new Map<string, { file: SignedFile<Targets>; data: Buffer }>();
  private readonly writes: NewMeta[] = [];

  constructor(
    private readonly deps: UpdateDeps,
    private readonly tx: StorageTx,
    private readonly gun: string,
    private readonly uploads: Map<string, Buffer>,
    /** Uploaded targets-family files already parsed off the event loop, by role. */
    private readonly parsedTargets: ReadonlyMap<string, SignedFile<Targets>> = new Map()
  ) {
    this.now = deps.clock.now();
    this.limits = deps.limits ?? DEFAULT_UPDATE_LIMITS;
  }

  async run(): Promise<UpdateResult> {
    const state = await loadCurrent(this.tx.meta, this.gun, this.deps.caches.parsed);
    const root = await this.resolveRoot(state);
    await this.loadTargetsFamily(root.file.signed, state);
    await this.turn();
    const snapshot = await this.resolveSnapshot(root, state);
    await this.makeTimestamp(root.file.signed, snapshot, state);
    await this.turn();
    await this.tx.meta.updateMany(this.gun, this.writes, this.now);
    await this.turn(); // the COMMIT follows
    return { written: this.writes };
  }

  /**
   * A turn of the event loop between steps, for a large update only (TURNS_MIN_BYTES): resolved
   * by setImmediate, so after the I/O callbacks that were pending, such as waiting GETs.
   */
  private turn(): Promise<void> | undefined {
    return this.uploadedBytes >= TURNS_MIN_BYTES ? nextTurn() : undefined;
  }

  private get uploadedBytes(): number {
    let n = 0;
    for (const data of this.uploads.values()) n += data.length;
    return n;
  }

  /** Steps 1–3: the stored root, and an uploaded root validated against it. */
  private async resolveRoot(
    state: CurrentState | null
  ): Promise<{ file: SignedFile<Root>; data: Buffer }> {
    const { parsed, validatedRoots, verifiers } = this.deps.caches;
    const storedRow = await loadCurrentRole(this.tx.meta, this.gun, 'root', parsed, state);
    let stored: SignedFile<Root> | undefined;
    if (storedRow) {
      try {
        stored = parsed.root(storedRow);
        validatedRoots.check(stored, this.gun, storedRow.sha256, this.now, verifiers);
      } catch (cause) {
        throw new CountersignError('INVALID_UPDATE', 'the stored root is no longer valid', {
          cause,
        });
      }
    }
    const uploaded = this.uploads.get('root');
    if (!uploaded) {
      if (!stored || !storedRow)
        throw invalidUpdate(
          'ErrValidation',
          'no pre-existing root and no root provided in update.'
        );
      return { file: stored, data: storedRow.data };
    }
    const cur = stored?.signed.version ?? 1;
    const file = this.guard('ErrBadRoot', () => parseRoot(uploaded));
    const v = file.signed.version;
    if (v !== cur && v !== cur + 1)
      throw invalidUpdate(
        'ErrBadRoot',
        `Root modifications must increment the version. Current ${cur}, new ${v}`
      );
    this.guard('ErrBadRoot', () =>
      validateRoot(file, {
        gun: this.gun,
        now: this.now,
        previous: stored,
        minVersion: cur,
        checkExpiry: true,
        verifiers,
      })
    );
    this.write('root', v, uploaded);
    await this.activateListedServerKeys(file.signed);
    return { file, data: uploaded };
  }

  /**
   * A server key stops being "pending" once a root lists it (docs/protocol.md §3.1): from then on
   * GET .key returns it and no other request can be handed it as a fresh key.
   */
  private async activateListedServerKeys(root: Root): Promise<void> {
    for (const id of new Set([...root.roles.snapshot.keyids, ...root.roles.timestamp.keyids])) {
      const key = await this.tx.keys.get(id);
      if (key && !key.activatedAt) await this.tx.keys.markActive(id, this.now);
    }
  }

  /** Step 4: uploaded targets and delegations, parents first, with stored ancestors loaded as needed. */
  private async loadTargetsFamily(root: Root, state: CurrentState | null): Promise<void> {
    const roles = [...this.uploads.keys()].filter((r) => r === 'targets' || isDelegationName(r));
    roles.sort((a, b) => roleDepth(a) - roleDepth(b) || (a < b ? -1 : a > b ? 1 : 0));
    for (const role of roles) {
      await this.loadStoredAncestors(role, state);
      const data = this.uploads.get(role) as Buffer;
      const file =
        this.parsedTargets.get(role) ?? this.guard('ErrBadTargets', () => parseTargets(data));
      const latest = await this.latestVersionAboveCap(role, file.signed.version);
      this.guard('ErrBadTargets', () => checkVersionCap(file.signed.version, role, latest));
      this.guard('ErrBadTargets', () => this.validateTargets(root, role, file));
      this.loadedTargets.set(role, { file, data });
      this.write(role, file.signed.version, data);
    }
  }

  private async loadStoredAncestors(role: string, state: CurrentState | null): Promise<void> {
    const chain: string[] = [];
    for (let r = role; r.includes('/');) chain.unshift((r = parentRole(r)));
    for (const ancestor of chain) {
      if (this.loadedTargets.has(ancestor)) continue;
      const row = await loadCurrentRole(
        this.tx.meta,
        this.gun,
        ancestor,
        this.deps.caches.parsed,
        state
      );
      if (!row) continue; // a missing ancestor is skipped; the delegation then cannot be found
      const file = this.guard('ErrBadTargets', () => parseTargets(row.data));
      this.loadedTargets.set(ancestor, { file, data: row.data });
    }
  }

  private validateTargets(root: Root, role: string, file: SignedFile<Targets>): void {
    const t = file.signed;
    if (t.targets.size > this.limits.maxTargets)
      fail(
        'META_SHAPE',
        `${role} lists ${t.targets.size} targets; at most ${this.limits.maxTargets} are accepted`
      );
    if (t.delegations.roles.length > this.limits.maxDelegations)
      fail('META_SHAPE', `${role} declares too many delegations`);
    checkTargetsStructure(t, role);
    const verifier =
      role === 'targets'
        ? baseRoleVerifier(root, 'targets')
        : findDelegation(role, (r) => this.loadedTargets.get(r)?.file.signed).verifier;
    verifySignatures(file, verifier, this.deps.caches.verifiers);
    checkNotExpired(t, role, this.now);
  }

  /** Step 5: the client's snapshot checked against everything loaded, or one the server signs. */
  private async resolveSnapshot(
    root: { file: SignedFile<Root>; data: Buffer },
    state: CurrentState | null
  ): Promise<{ version: number; data: Buffer }> {
    const uploaded = this.uploads.get('snapshot');
    const loaded = new Map<string, Buffer>([
      ['root', root.data],
      ...[...this.loadedTargets].map(([r, v]) => [r, v.data] as [string, Buffer]),
    ]);
    if (uploaded) {
      const file = this.guard('ErrBadSnapshot', () => parseSnapshot(uploaded));
      const latest = await this.latestVersionAboveCap('snapshot', file.signed.version);
      this.guard('ErrBadSnapshot', () => checkVersionCap(file.signed.version, 'snapshot', latest));
      this.guard('ErrBadSnapshot', () => this.validateSnapshot(root.file.signed, file, loaded));
      this.write('snapshot', file.signed.version, uploaded);
      return { version: file.signed.version, data: uploaded };
    }
    if (!state && !this.loadedTargets.has('targets'))
      throw invalidUpdate('ErrValidation', 'targets must be loaded first');
    const previous = state
      ? { version: state.snapshotFile.signed.version, meta: snapshotMetaJSON(state.snapshotFile) }
      : undefined;
    const built = await buildServerSnapshot({
      signer: this.deps.signer,
      root: root.file.signed,
      previous,
      updated: loaded,
      now: this.now,
      lifetimeMs: this.deps.expiry.lifetimes(this.gun).snapshot,
    });
    if (!built) {
      throw invalidUpdate(
        'ErrBadHierarchy',
        'no snapshot was included in update and server does not hold current snapshot key for repository',
        { missing: 'snapshot' }
      );
    }
    this.write('snapshot', built.version, built.data, built.sha256);
    return built;
  }

  private validateSnapshot(
    root: Root,
    file: SignedFile<Snapshot>,
    loaded: Map<string, Buffer>
  ): void {
    const s = file.signed;
    verifySignatures(file, baseRoleVerifier(root, 'snapshot'), this.deps.caches.verifiers);
    for (const required of ['root', 'targets']) {
      if (!s.meta.get(required)?.hashes.sha256)
        fail('META_SHAPE', `snapshot has no sha256 for ${required}`);
    }
    for (const [name, m] of s.meta) checkHashSizes(m, name);
    if (s.version < 1) fail('META_VERSION', 'snapshot version must be at least 1');
    checkNotExpired(s, 'snapshot', this.now);
    for (const [role, data] of loaded) {
      const m = s.meta.get(role);
      if (!m) fail('META_HASH_MISMATCH', `snapshot has no entry for ${role}`);
      // Stricter than notary, which checks hashes only: the length must agree too (clients enforce it).
      checkFileMeta(data, m, role, true);
    }
  }

  /** Step 6: a fresh timestamp over the new snapshot, always. */
  private async makeTimestamp(
    root: Root,
    snapshot: { version: number; data: Buffer },
    state: CurrentState | null
  ): Promise<void> {
    // The current state was read in this transaction, under the GUN's lock, so its timestamp is
    // the latest; only without one (no timestamp, or its snapshot missing) is the table asked.
    const latest = state?.timestamp ?? (await this.tx.meta.getLatest(this.gun, 'timestamp'));
    const built = await buildServerTimestamp({
      signer: this.deps.signer,
      root,
      previousVersion: latest?.version ?? 0,
      snapshot: snapshot.data,
      now: this.now,
      lifetimeMs: this.deps.expiry.lifetimes(this.gun).timestamp,
    });
    if (!built) throw invalidUpdate('ErrBadRoot', 'no timestamp keys exist on the server');
    this.write('timestamp', built.version, built.data, built.sha256);
  }

  private write(role: string, version: number, data: Buffer, sha256 = sha256Hex(data)): void {
    this.writes.push({ role, version, data, sha256 });
  }

  /** Runs a check, turning any domain failure into notary's INVALID_UPDATE with the given error name. */
  /** The highest stored version of `role`, read only when `version` is above MAX_VERSION (see checkVersionCap). */
  private async latestVersionAboveCap(role: string, version: number): Promise<number | undefined> {
    if (version <= MAX_VERSION) return undefined;
    return (await this.tx.meta.getLatest(this.gun, role))?.version;
  }

  private guard<T>(name: ValidationErrorName, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (isCountersignError(err) && err.code === 'INVALID_UPDATE') throw err;
      throw invalidUpdate(name, err instanceof Error ? err.message : String(err), { cause: err });
    }
  }
}

/**
 * No version may wedge a repository (issue 20). A version jump may reach MAX_VERSION (2^30) and
 * no further; above it, only the next version of the role (the highest stored + 1) is accepted,
 * up to MAX_STEPPED_VERSION. So from every version this server accepts, the next one is accepted
 * too — for another ~1.07 billion publishes of that role — and no upload can jump a role to a
 * version from which no further upload is possible. Snapshot and timestamp versions the server
 * signs are the previous + 1 and stay below int32 for the same reason.
 */
function checkVersionCap(version: number, role: string, latest: number | undefined): void {
  if (version <= MAX_VERSION) return;
  if (latest !== undefined && version === latest + 1 && version <= MAX_STEPPED_VERSION) return;
  fail(
    'META_VERSION',
    `${role} version ${version} is above ${MAX_VERSION}; above it only the next version (${latest === undefined ? 'none stored' : latest + 1}) is accepted`
  );
}
