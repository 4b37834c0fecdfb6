/**
 * "Current" metadata the way notary's SQL backends define it (docs/protocol.md §1.4, §6): the newest
 * timestamp, the snapshot its sha256 names, and every other role by the sha256 that snapshot
 * names — so a reader never sees a mix of old and new files, even while a publish commits.
 */
import type { MetaStore, StoredMeta } from '../storage/types.js';
import type { Snapshot, SignedFile, Timestamp } from '../tuf/metadata.js';
import { hexOf } from '../tuf/checksum.js';
import type { ParsedMetadata } from './parsed.js';

export interface CurrentState {
  readonly timestamp: StoredMeta;
  readonly timestampFile: SignedFile<Timestamp>;
  readonly snapshot: StoredMeta;
  readonly snapshotFile: SignedFile<Snapshot>;
}

/**
 * The current timestamp and snapshot of a GUN, or null if it has no timestamp or its snapshot is
 * missing. `parsed` is the app's cache of parsed files (src/notary/caches.ts).
 */
export async function loadCurrent(
  meta: MetaStore,
  gun: string,
  parsed: ParsedMetadata
): Promise<CurrentState | null> {
  const timestamp = await meta.getLatest(gun, 'timestamp');
  if (!timestamp) return null;
  const timestampFile = parsed.timestamp(timestamp);
  const snapHash = hexOf(timestampFile.signed.meta.get('snapshot')?.hashes.sha256);
  if (!snapHash) return null;
  const snapshot = await meta.getByChecksum(gun, 'snapshot', snapHash);
  if (!snapshot) return null;
  return { timestamp, timestampFile, snapshot, snapshotFile: parsed.snapshot(snapshot) };
}

/** The current file of `role` (root, targets, a delegation) reached through the snapshot, or null. */
export async function loadCurrentRole(
  meta: MetaStore,
  gun: string,
  role: string,
  parsed: ParsedMetadata,
  state?: CurrentState | null
): Promise<StoredMeta | null> {
  const s = state === undefined ? await loadCurrent(meta, gun, parsed) : state;
  if (!s) return null;
  if (role === 'timestamp') return s.timestamp;
  if (role === 'snapshot') return s.snapshot;
  const hex = hexOf(s.snapshotFile.signed.meta.get(role)?.hashes.sha256);
  return hex ? meta.getByChecksum(gun, role, hex) : null;
}
