/**
 * Parsed copies of stored root, snapshot and timestamp files, by their sha256.
 *
 * Every read, publish and timestamp refill parses the current timestamp, snapshot and root
 * again (a root's certificates included) although they rarely change. A stored row's bytes are
 * named by its sha256, so the parse of those bytes can be reused; parsed metadata is read-only,
 * so one copy can be shared. Targets files are not kept: they can be megabytes, and each is
 * parsed once per upload anyway. One per app (src/notary/caches.ts), bounded per kind: a hit is
 * one Map lookup with the row's own sha256 as the key, nothing allocated.
 */
import type { StoredMeta } from '../storage/types.js';
import { BoundedCache } from '../util/bounded-cache.js';
import {
  parseRoot,
  parseSnapshot,
  parseTimestamp,
  type Root,
  type SignedFile,
  type Snapshot,
  type Timestamp,
} from '../tuf/metadata.js';

/** Files held in all, by default: the current files of about 1,365 repositories. */
export const MAX_PARSED_FILES = 4096;
const DEFAULT_PER_KIND = Math.floor(MAX_PARSED_FILES / 3);
/** Larger files are parsed every time rather than held (a snapshot of thousands of delegations). */
const MAX_BYTES = 64 * 1024;

export class ParsedMetadata {
  private readonly roots: BoundedCache<string, SignedFile<Root>>;
  private readonly snapshots: BoundedCache<string, SignedFile<Snapshot>>;
  private readonly timestamps: BoundedCache<string, SignedFile<Timestamp>>;

  constructor(maxPerKind = DEFAULT_PER_KIND) {
    this.roots = new BoundedCache(maxPerKind);
    this.snapshots = new BoundedCache(maxPerKind);
    this.timestamps = new BoundedCache(maxPerKind);
  }

  /** Entries held, all kinds together. */
  get size(): number {
    return this.roots.size + this.snapshots.size + this.timestamps.size;
  }

  root(row: StoredMeta): SignedFile<Root> {
    return memo(this.roots, row, parseRoot);
  }

  snapshot(row: StoredMeta): SignedFile<Snapshot> {
    return memo(this.snapshots, row, parseSnapshot);
  }

  timestamp(row: StoredMeta): SignedFile<Timestamp> {
    return memo(this.timestamps, row, parseTimestamp);
  }
}

function memo<T>(cache: BoundedCache<string, T>, row: StoredMeta, parse: (data: Buffer) => T): T {
  if (row.data.length > MAX_BYTES) return parse(row.data);
  const hit = cache.get(row.sha256);
  if (hit !== undefined) return hit;
  const file = parse(row.data); // a failure is thrown, never remembered
  cache.set(row.sha256, file);
  return file;
}
