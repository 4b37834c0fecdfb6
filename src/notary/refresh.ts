/**
 * Re-signing what the server holds before clients see it expire (docs/protocol.md §3.3):
 * a snapshot past (or near) its expiry is re-signed with the same `meta`, and the timestamp is
 * re-signed when it is past (or near) its expiry or no longer names the current snapshot.
 *
 * The read path calls this with no margin (notary's lazy regeneration: only once expired); the
 * freshness scheduler calls it with a margin (re-sign before expiry). Both run it inside a
 * transaction locked on the GUN and re-read the state there, so two instances racing to
 * re-sign produce one new version, never a conflict.
 */
import { fail } from '../errors.js';
import type { Signer } from '../signer/types.js';
import type { NewMeta, Storage, StorageTx } from '../storage/types.js';
import type { NotaryCaches } from './caches.js';
import { loadCurrent, loadCurrentRole } from './current.js';
import { buildServerSnapshot, buildServerTimestamp, snapshotMetaJSON } from './server-signing.js';
import type { ExpiryPolicy } from './expiry.js';

export interface RefreshDeps {
  readonly storage: Storage;
  readonly signer: Signer;
  readonly expiry: ExpiryPolicy;
  /** The app's parsed files, checked roots and imported keys (src/notary/caches.ts). */
  readonly caches: NotaryCaches;
  /**
   * Runs inside the re-sign's transaction once the files are written (the audit log appends its
   * entry here), so the record commits together with the re-sign or not at all. Throwing rolls
   * the re-sign back.
   */
  readonly onResigned?: (tx: StorageTx, event: ResignedEvent) => Promise<void>;
}

/** What one re-sign of a repository's snapshot and/or timestamp wrote. */
export interface ResignedEvent {
  readonly gun: string;
  readonly written: readonly NewMeta[];
  readonly now: Date;
}

export interface RefreshResult {
  /** Roles re-signed ('snapshot', 'timestamp'); empty when nothing needed it. */
  readonly resigned: readonly NewMeta[];
}

/**
 * Re-signs the snapshot and/or timestamp of `gun` if they expire before `now + marginMs`
 * (per role: `margins.snapshot`, `margins.timestamp`). A snapshot the server cannot sign
 * fails with UNKNOWN, as in notary.
 */
export async function refreshServerMetadata(
  deps: RefreshDeps,
  gun: string,
  now: Date,
  margins: { timestamp: number; snapshot: number } = { timestamp: 0, snapshot: 0 }
): Promise<RefreshResult> {
  return deps.storage.transaction(
    async (tx) => {
      const { parsed } = deps.caches;
      const state = await loadCurrent(tx.meta, gun, parsed);
      if (!state) return { resigned: [] };
      const lifetimes = deps.expiry.lifetimes(gun);
      const t = now.getTime();
      const writes: NewMeta[] = [];
      let snapshotData = state.snapshot.data;
      const snapshotDue = state.snapshotFile.signed.expires.getTime() < t + margins.snapshot;
      const timestampDue = state.timestampFile.signed.expires.getTime() < t + margins.timestamp;
      if (!snapshotDue && !timestampDue) return { resigned: [] };
      const rootRow = await loadCurrentRole(tx.meta, gun, 'root', parsed, state);
      if (!rootRow) fail('UNKNOWN', `repository ${gun} has no current root`);
      const root = parsed.root(rootRow).signed;
      if (snapshotDue) {
        const built = await buildServerSnapshot({
          signer: deps.signer,
          root,
          previous: {
            version:
              (await tx.meta.getLatest(gun, 'snapshot'))?.version ??
              state.snapshotFile.signed.version,
            meta: snapshotMetaJSON(state.snapshotFile),
          },
          updated: new Map(),
          now,
          lifetimeMs: lifetimes.snapshot,
        });
        if (!built)
          fail('UNKNOWN', `the snapshot of ${gun} expired and the server does not hold its key`);
        writes.push({
          role: 'snapshot',
          version: built.version,
          data: built.data,
          sha256: built.sha256,
        });
        snapshotData = built.data;
      }
      const ts = await buildServerTimestamp({
        signer: deps.signer,
        root,
        previousVersion: state.timestamp.version,
        snapshot: snapshotData,
        now,
        lifetimeMs: lifetimes.timestamp,
      });
      if (!ts) fail('UNKNOWN', `the server does not hold the timestamp key of ${gun}`);
      writes.push({ role: 'timestamp', version: ts.version, data: ts.data, sha256: ts.sha256 });
      await tx.meta.updateMany(gun, writes, now);
      await deps.onResigned?.(tx, { gun, written: writes, now });
      return { resigned: writes };
    },
    { lockGun: gun }
  );
}
