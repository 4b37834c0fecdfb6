/**
 * Parsed copies of stored root, snapshot and timestamp files, by their sha256.
 *
 * Every publish and every timestamp refill parses the current timestamp, snapshot and root
 * again (a root's certificates included) although they rarely change. A stored row's bytes are
 * named by its sha256, so the parse of those bytes can be reused as long as the process lives;
 * parsed metadata is read-only, so one copy can be shared. Targets files are not kept: they can
 * be megabytes, and each is parsed once per upload anyway.
 */
import type { StoredMeta } from '../storage/types.js';
import {
  parseRoot,
  parseSnapshot,
  parseTimestamp,
  type Root,
  type SignedFile,
  type Snapshot,
  type Timestamp,
} from '../tuf/metadata.js';

const MAX_ENTRIES = 4096;
/** Larger files are parsed every time rather than held (a snapshot of thousands of delegations). */
const MAX_BYTES = 64 * 1024;

const parsed = new Map<string, SignedFile<Root> | SignedFile<Snapshot> | SignedFile<Timestamp>>();

function memo<T extends SignedFile<Root> | SignedFile<Snapshot> | SignedFile<Timestamp>>(
  kind: string,
  row: StoredMeta,
  parse: (data: Buffer) => T
): T {
  if (row.data.length > MAX_BYTES) return parse(row.data);
  const key = `${kind}\u0000${row.sha256}`;
  const hit = parsed.get(key);
  if (hit) return hit as T;
  const file = parse(row.data); // a failure is thrown, never remembered
  if (parsed.size >= MAX_ENTRIES) parsed.clear();
  parsed.set(key, file);
  return file;
}

export const storedRoot = (row: StoredMeta): SignedFile<Root> => memo('root', row, parseRoot);
export const storedSnapshot = (row: StoredMeta): SignedFile<Snapshot> =>
  memo('snapshot', row, parseSnapshot);
export const storedTimestamp = (row: StoredMeta): SignedFile<Timestamp> =>
  memo('timestamp', row, parseTimestamp);
