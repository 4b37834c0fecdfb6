/**
 * The notary client's update (docs/clients.md §1.5, docs/protocol.md §9), as one verification with a
 * verdict per check: the trusted root chain, then timestamp → snapshot (by sha256) → targets →
 * delegations (pre-order, only roles the snapshot lists and a valid parent delegates to), each
 * signed by its threshold, hashed and sized as its parent promises, unexpired, and not older than
 * versions seen before; then, if asked, the tag resolved as docker resolves it.
 *
 * Where the Go client gives up at the first problem, this goes on where it safely can (expiry,
 * rollback, a delegation whose signatures fail) so a report shows everything at once; the
 * verdict is never more lenient than the Go client's.
 */
import { CountersignError, fail, isCountersignError } from '../errors.js';
import type { PublicKey } from '../crypto/keys.js';
import { hexOf } from '../tuf/checksum.js';
import { checkTargetsStructure } from '../tuf/delegations.js';
import {
  parseSnapshot,
  parseTargets,
  parseTimestamp,
  type FileMeta,
  type Root,
  type Snapshot,
  type Targets,
} from '../tuf/metadata.js';
import { baseRoleVerifier } from '../tuf/root.js';
import {
  checkFileMeta,
  checkHashSizes,
  verifySignatures,
  type RoleVerifier,
} from '../tuf/verify.js';
import type { Clock } from '../util/clock.js';
import { RunContext, StopWalk } from './context.js';
import { type ResolvedTarget, type VerificationResult } from './report.js';
import { resolveDockerTarget, tagsForDigest, type WalkRole } from './resolve.js';
import { establishRoot, type TrustAnchor } from './root-chain.js';
import { MAX_TIMESTAMP_BYTES, type MetadataSource } from './source.js';

export interface VerifyOptions {
  readonly source: MetadataSource;
  readonly gun: string;
  readonly clock: Clock;
  /** Default: trust on first use. */
  readonly trust?: TrustAnchor;
  /** A tag to resolve as docker does (`targets/releases`, then `targets`). */
  readonly target?: string;
  /**
   * `sha256:<hex>`: the digest must be what docker resolves some tag to (with `target`, that
   * tag); the result lists every such tag.
   */
  readonly digest?: string;
  /** Role → the highest version seen before; a lower version now fails `rollback`. */
  readonly previousVersions?: Readonly<Record<string, number>>;
  /** A role (or root certificate) expiring within this many ms fails `expiry`. Default 0. */
  readonly minValidityMs?: number;
  /** How messages name that span (`24h`); default: the shortest whole unit. */
  readonly minValidityText?: string;
}

export async function verifyRepository(opts: VerifyOptions): Promise<VerificationResult> {
  const now = opts.clock.now();
  const ctx = new RunContext({ ...opts, now });
  const verdicts = ctx.verdicts;
  let target: ResolvedTarget | undefined;
  let tags: string[] | undefined;
  try {
    const { file: root } = await establishRoot(ctx, opts.trust ?? { kind: 'tofu' });
    const snapshot = await loadTimestampAndSnapshot(ctx, root.signed, root.raw);
    const loaded = await loadTargetsTree(ctx, root.signed, snapshot);
    verdicts.finish('signatures', 'consistency', 'expiry', 'rollback');
    if (opts.target !== undefined || opts.digest !== undefined)
      ({ target, tags } = resolveTarget(ctx, opts, loaded));
  } catch (err) {
    if (!(err instanceof StopWalk)) throw err;
  }
  passDetails(ctx, opts);
  const base = {
    ok: verdicts.failures.length === 0 && !verdicts.stopped,
    gun: opts.gun,
    found: ctx.repositoryFound,
    checkedAt: now,
    checks: verdicts.checks(opts.target !== undefined || opts.digest !== undefined),
    roles: ctx.roles,
    failures: verdicts.failures,
  };
  return { ...base, ...(target ? { target } : {}), ...(tags ? { tags } : {}) };
}

async function loadTimestampAndSnapshot(
  ctx: RunContext,
  root: Root,
  rootBytes: Buffer
): Promise<Snapshot> {
  const tsBytes = await ctx.fetch(
    'timestamp',
    { current: true },
    MAX_TIMESTAMP_BYTES,
    'consistency'
  );
  const ts = ctx.guard('consistency', 'timestamp', () => parseTimestamp(tsBytes));
  ctx.guard('signatures', 'timestamp', () =>
    verifySignatures(ts, baseRoleVerifier(root, 'timestamp'))
  );
  const snapMeta = ctx.guard('consistency', 'timestamp', () =>
    requiredMeta(ts.signed.meta, 'snapshot', 'timestamp')
  );
  ctx.loaded('timestamp', ts);

  const snapBytes = await ctx.fetch(
    'snapshot',
    { checksum: hexOf(snapMeta.hashes.sha256) as string },
    snapMeta.length,
    'consistency'
  );
  ctx.guard('consistency', 'snapshot', () => checkFileMeta(snapBytes, snapMeta, 'snapshot'));
  const snap = ctx.guard('consistency', 'snapshot', () => parseSnapshot(snapBytes));
  ctx.guard('signatures', 'snapshot', () =>
    verifySignatures(snap, baseRoleVerifier(root, 'snapshot'))
  );
  const rootMeta = ctx.guard('consistency', 'snapshot', () => {
    requiredMeta(snap.signed.meta, 'targets', 'snapshot');
    return requiredMeta(snap.signed.meta, 'root', 'snapshot');
  });
  ctx.loaded('snapshot', snap);
  // The Go client checks the root it trusts against the snapshot's entry (builder "loadedNotChecksummed").
  ctx.record('consistency', 'root', () => checkFileMeta(rootBytes, rootMeta, 'root'));
  return snap.signed;
}

/** notary's snapshot/timestamp structure rule: the entry exists with a well-formed sha256. */
function requiredMeta(meta: ReadonlyMap<string, FileMeta>, role: string, parent: string): FileMeta {
  const m = meta.get(role);
  if (!m || hexOf(m.hashes.sha256) === undefined)
    throw new CountersignError(
      'META_SHAPE',
      `${parent} is missing ${role} sha256 checksum information`
    );
  checkHashSizes(m, role);
  return m;
}

interface Pending extends WalkRole {
  readonly verifier: RoleVerifier;
}

/**
 * `targets` and every delegation reachable through valid parents, parents before children and
 * each parent's children in listed order (notary's downloadTargets). Returns the roles that
 * verified and are unexpired: the set docker's tag lookup walks.
 */
async function loadTargetsTree(
  ctx: RunContext,
  root: Root,
  snapshot: Snapshot
): Promise<Map<string, Targets>> {
  const loaded = new Map<string, Targets>();
  const queue: Pending[] = [
    { name: 'targets', paths: [''], verifier: baseRoleVerifier(root, 'targets') },
  ];
  const seen = new Set<string>();
  for (let role = queue.shift(); role; role = queue.shift()) {
    const name = role.name;
    if (seen.has(name)) continue; // a parent listing a role twice gets it read once
    seen.add(name);
    const meta = snapshot.meta.get(name);
    const hex = hexOf(meta?.hashes.sha256);
    if (!meta || !hex) continue; // notary skips roles the snapshot has no checksum for
    const bytes = await ctx.fetch(name, { checksum: hex }, meta.length, 'consistency');
    ctx.guard('consistency', name, () => checkFileMeta(bytes, meta, name));
    const file = ctx.guard('consistency', name, () => parseTargets(bytes));
    ctx.guard('consistency', name, () => checkTargetsStructure(file.signed, name));
    const signed =
      name === 'targets'
        ? ctx.guard('signatures', name, () => verifySignatures(file, role.verifier))
        : ctx.record('signatures', name, () => verifySignatures(file, role.verifier));
    if (!signed) continue; // the Go client skips a delegation below its threshold, and its subtree
    const state = ctx.loaded(name, file);
    if (state === 'expired' && name !== 'targets') continue; // …and an expired one
    loaded.set(name, file.signed);
    queue.unshift(...children(file.signed, role));
  }
  return loaded;
}

function children(t: Targets, parent: WalkRole): Pending[] {
  const out: Pending[] = [];
  for (const r of t.delegations.roles) {
    const keys = new Map<string, PublicKey>();
    for (const id of r.keyids) {
      const k = t.delegations.keys.get(id);
      if (k) keys.set(id, k);
    }
    const paths = (r.paths ?? []).filter((p) => parent.paths.some((pp) => p.startsWith(pp)));
    out.push({ name: r.name, paths, verifier: { name: r.name, keys, threshold: r.threshold } });
  }
  return out;
}

function resolveTarget(
  ctx: RunContext,
  opts: VerifyOptions,
  loaded: ReadonlyMap<string, Targets>
): { target?: ResolvedTarget; tags?: string[] } {
  ctx.verdicts.finish('target');
  try {
    const { target: tag, digest } = opts;
    if (tag === undefined) {
      const found = tagsForDigest(digest as string, loaded);
      ctx.verdicts.pass('target', `${digest} is signed as ${found.tags.join(', ')}`);
      return found;
    }
    const t = resolveDockerTarget(tag, loaded);
    if (digest !== undefined && t.digest !== digest)
      fail('TARGET_NOT_FOUND', `${tag} is signed as ${t.digest}, not ${digest}`);
    ctx.verdicts.pass('target', `${tag} → ${t.digest} (${t.length} bytes) from ${t.role}`);
    return digest !== undefined ? { target: t, tags: [tag] } : { target: t };
  } catch (err) {
    if (!isCountersignError(err)) throw err;
    ctx.verdicts.fail('target', err.code, err.message);
    return {};
  }
}

function passDetails(ctx: RunContext, opts: VerifyOptions): void {
  const names = ctx.roles.map((r) => r.role);
  const v = ctx.verdicts;
  v.pass('signatures', `${names.join(', ')} meet their signature thresholds`);
  const delegations = names.filter((n) => n.startsWith('targets/')).length;
  v.pass(
    'consistency',
    `timestamp → snapshot → targets${delegations ? ` → ${delegations} delegation(s)` : ''} match the sha256 and length their parent names, and the snapshot names this root`
  );
  const first = [...ctx.roles].sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime())[0];
  const within = ctx.minValidityMs > 0 ? ` or expires within ${ctx.minValidityText}` : '';
  v.pass(
    'expiry',
    `nothing has expired${within}${first ? `; the first to expire is ${first.role} at ${first.expires}` : ''}`
  );
  const seen = Object.entries(opts.previousVersions ?? {});
  v.pass(
    'rollback',
    seen.length > 0
      ? `no role is below the version seen before (${seen.map(([r, n]) => `${r} ${n}`).join(', ')})`
      : 'no versions seen before were given; root versions increase by one from the trust anchor'
  );
}
