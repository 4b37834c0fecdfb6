/**
 * The freshness-aware read of a server-held role (docs/protocol.md §3.3): a GET of timestamp.json
 * or snapshot.json never hands out a file that expires while still in flight to the client. A
 * timestamp is re-signed a little before it expires; a snapshot the server holds gets the same
 * head start, a client-held one can only be used to its end. The answer says until when the file
 * may be served from a cache.
 */
import type { NewMeta, StoredMeta } from '../storage/types.js';
import { loadCurrent, loadCurrentRole, type CurrentState } from './current.js';
import { refreshServerMetadata, type RefreshDeps } from './refresh.js';

export interface FreshRead {
  readonly row: StoredMeta;
  /** Epoch ms after which the file must be read (and perhaps re-signed) again. */
  readonly validUntil: number;
}

/** How long before its expiry the read path re-signs a timestamp: 1 s, or a tenth of a short lifetime. */
export function readMargin(lifetimeMs: number): number {
  return Math.min(1000, lifetimeMs / 10);
}

/**
 * The current timestamp or snapshot of `gun`, re-signed first when it is near its expiry, or
 * null when the repository has none. `refreshed` runs after a re-sign was attempted (with what it
 * wrote, perhaps nothing) and before the state is read again: the read cache drops the GUN there
 * and notes its generation.
 */
export async function readServerRole(
  deps: RefreshDeps,
  gun: string,
  role: 'timestamp' | 'snapshot',
  now: Date,
  refreshed: (written: readonly NewMeta[]) => void
): Promise<FreshRead | null> {
  let state = await loadCurrent(deps.storage.meta, gun, deps.caches.parsed);
  if (!state) return null;
  const lifetimes = deps.expiry.lifetimes(gun);
  const tsMargin = readMargin(lifetimes.timestamp);
  // Whether the server holds the snapshot key is asked only near expiry; until then the cache
  // assumes so.
  const nearSnapshotExpiry = expiresBefore(state, 'snapshot', now, readMargin(lifetimes.snapshot));
  const snapshotHeld = nearSnapshotExpiry ? await serverHoldsSnapshotKey(deps, gun) : undefined;
  const snapMargin = snapshotHeld === false ? 0 : readMargin(lifetimes.snapshot);
  if (
    expiresBefore(state, 'timestamp', now, tsMargin) ||
    (nearSnapshotExpiry && expiresBefore(state, 'snapshot', now, snapMargin))
  ) {
    const result = await refreshServerMetadata(deps, gun, now, {
      timestamp: tsMargin,
      snapshot: snapMargin,
    });
    refreshed(result.resigned);
    state = await loadCurrent(deps.storage.meta, gun, deps.caches.parsed);
    if (!state) return null;
  }
  const validUntil = Math.min(
    state.timestampFile.signed.expires.getTime() - tsMargin,
    state.snapshotFile.signed.expires.getTime() - snapMargin
  );
  return { row: role === 'timestamp' ? state.timestamp : state.snapshot, validUntil };
}

function expiresBefore(
  state: CurrentState,
  role: 'timestamp' | 'snapshot',
  now: Date,
  marginMs: number
): boolean {
  const file = role === 'timestamp' ? state.timestampFile : state.snapshotFile;
  return file.signed.expires.getTime() < now.getTime() + marginMs;
}

/** Whether the server holds a key the current root lists for the snapshot role. */
async function serverHoldsSnapshotKey(deps: RefreshDeps, gun: string): Promise<boolean> {
  const { parsed } = deps.caches;
  const rootRow = await loadCurrentRole(deps.storage.meta, gun, 'root', parsed);
  if (!rootRow) return false;
  const ids = parsed.root(rootRow).signed.roles.snapshot.keyids;
  return (await deps.signer.held(ids)).size > 0;
}
