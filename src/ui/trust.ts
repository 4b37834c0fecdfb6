/**
 * The trust browser's data, for the store's public repositories only: their metadata is what any
 * client may fetch anonymously, so every signed-in account may browse it. Current tags come from
 * the current targets file (reached through the snapshot, as clients do), the history from every
 * stored targets version, expiries from the freshness index (the same figures as
 * `GET /api/v1/repositories/{gun}/status`).
 */
import { loadCurrentRole } from '../notary/current.js';
import type { ParsedMetadata } from '../notary/parsed.js';
import type { GunStatus } from '../freshness/status.js';
import type { MetaStore } from '../storage/types.js';
import { parseTargets, type FileMeta } from '../tuf/metadata.js';

export interface TagRow {
  readonly tag: string;
  readonly digest: string;
  readonly length: number;
  /** The role whose file lists it: the store signs public repositories in `targets`. */
  readonly role: string;
  readonly custom?: unknown;
}

export interface TargetsVersion {
  readonly version: number;
  readonly createdAt: string;
  readonly expires: string;
  readonly tags: number;
}

export interface TargetsDiff {
  readonly from: number;
  readonly to: number;
  readonly added: readonly TagRow[];
  readonly removed: readonly TagRow[];
  readonly changed: readonly { readonly before: TagRow; readonly after: TagRow }[];
}

/** The history lists the newest this many targets versions. */
export const MAX_HISTORY = 100;

function hexDigest(meta: FileMeta): string {
  const b64 = meta.hashes.sha256;
  return b64 ? `sha256:${Buffer.from(b64, 'base64').toString('hex')}` : '(no sha256)';
}

function rows(data: Buffer, role: string): TagRow[] {
  const file = parseTargets(data);
  return [...file.signed.targets].map(([tag, meta]) => ({
    tag,
    digest: hexDigest(meta),
    length: meta.length,
    role,
    ...(meta.custom !== undefined ? { custom: meta.custom } : {}),
  }));
}

export async function currentTags(
  meta: MetaStore,
  gun: string,
  parsed: ParsedMetadata
): Promise<TagRow[]> {
  const stored = await loadCurrentRole(meta, gun, 'targets', parsed);
  return stored ? rows(stored.data, 'targets').sort((a, b) => a.tag.localeCompare(b.tag)) : [];
}

export async function targetsHistory(meta: MetaStore, gun: string): Promise<TargetsVersion[]> {
  const latest = await meta.getLatest(gun, 'targets');
  if (!latest) return [];
  const out: TargetsVersion[] = [];
  for (let v = latest.version; v >= 1 && out.length < MAX_HISTORY; v--) {
    const stored = v === latest.version ? latest : await meta.getByVersion(gun, 'targets', v);
    if (!stored) continue;
    const file = parseTargets(stored.data);
    out.push({
      version: v,
      createdAt: stored.createdAt.toISOString(),
      expires: file.signed.expires.toISOString(),
      tags: file.signed.targets.size,
    });
  }
  return out;
}

/** Tags added, removed and re-pointed between two stored targets versions (0: none); null if one is missing. */
export async function targetsDiff(
  meta: MetaStore,
  gun: string,
  from: number,
  to: number
): Promise<TargetsDiff | null> {
  // Version 0 is "before the first version": nothing signed.
  const [a, b] = await Promise.all([
    from === 0 ? null : meta.getByVersion(gun, 'targets', from),
    meta.getByVersion(gun, 'targets', to),
  ]);
  if ((!a && from !== 0) || !b) return null;
  const before = new Map((a ? rows(a.data, 'targets') : []).map((r) => [r.tag, r]));
  const after = new Map(rows(b.data, 'targets').map((r) => [r.tag, r]));
  const byTag = (x: TagRow, y: TagRow) => x.tag.localeCompare(y.tag);
  return {
    from,
    to,
    added: [...after.values()].filter((r) => !before.has(r.tag)).sort(byTag),
    removed: [...before.values()].filter((r) => !after.has(r.tag)).sort(byTag),
    changed: [...after.values()]
      .filter((r) => {
        const old = before.get(r.tag);
        return old !== undefined && (old.digest !== r.digest || old.length !== r.length);
      })
      .sort(byTag)
      .map((r) => ({ before: before.get(r.tag)!, after: r })),
  };
}

/** One role on the expiry timeline: its share of the longest remaining lifetime shown. */
export interface TimelineRow {
  readonly role: string;
  readonly version: number;
  readonly expires: string;
  readonly secondsLeft: number;
  readonly keyHolder: string;
  /**
   * Expired, or within the warning window as the status API decides it (a role nobody re-signs
   * expiring within `warnWithin`, or a server-kept role whose re-sign is late): shown red.
   */
  readonly soon: boolean;
  /** 0–100. */
  readonly percent: number;
}

export function expiryTimeline(status: GunStatus): TimelineRow[] {
  const longest = Math.max(1, ...status.roles.map((r) => r.secondsLeft));
  return status.roles.map((r) => ({
    role: r.role,
    version: r.version,
    expires: r.expires,
    secondsLeft: r.secondsLeft,
    keyHolder: r.keyHolder,
    soon: r.state !== 'valid',
    percent: Math.max(0, Math.min(100, Math.round((r.secondsLeft / longest) * 100))),
  }));
}
