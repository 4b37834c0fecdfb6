/**
 * The client's trust state (docs/client.md "The state file"): per server URL and GUN, the root it
 * trusts (its exact bytes) and the highest version it has seen of every role. Pure: parsing with
 * a precise error for anything that is not our format, merging two states without ever lowering
 * a version, and the canonical text written to disk. I/O lives in state-file.ts.
 */
import { createHash } from 'node:crypto';
import { CountersignError } from '../errors.js';

export const STATE_FORMAT = 'countersign-trust-state';
export const STATE_FORMAT_VERSION = 1;
/** A state file larger than this is not ours (a root is a few KiB; thousands of GUNs fit). */
export const MAX_STATE_BYTES = 64 << 20;

export interface KeptRoot {
  readonly version: number;
  /** Lower-case hex sha256 of `bytes`. */
  readonly sha256: string;
  /** The root.json exactly as served. */
  readonly bytes: Buffer;
}

export interface RepositoryState {
  /** The server URL as `normalizeServer` writes it. */
  readonly server: string;
  readonly gun: string;
  readonly root: KeptRoot;
  /** Role → the highest version seen (root, timestamp, snapshot, targets, delegations). */
  readonly versions: Readonly<Record<string, number>>;
  /** RFC 3339: when this entry last changed. */
  readonly updated: string;
}

export interface TrustState {
  readonly repositories: readonly RepositoryState[];
}

export const EMPTY_STATE: TrustState = { repositories: [] };

/** One spelling per server: scheme, host and port lower-cased by URL, no trailing slash. */
export function normalizeServer(server: string): string {
  const u = new URL(server);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
}

export function findRepository(
  state: TrustState,
  server: string,
  gun: string
): RepositoryState | undefined {
  return state.repositories.find((r) => r.server === server && r.gun === gun);
}

export function keptRoot(bytes: Buffer, version: number): KeptRoot {
  return { version, sha256: createHash('sha256').update(bytes).digest('hex'), bytes };
}

/**
 * `update` folded into `state`: versions only go up; the root with the higher version wins, and
 * of two different roots with the same version the one already kept stays (the caller is told).
 */
export function mergeRepository(
  state: TrustState,
  update: RepositoryState
): { state: TrustState; conflict?: string } {
  const existing = findRepository(state, update.server, update.gun);
  const others = state.repositories.filter((r) => r !== existing);
  if (!existing) return { state: { repositories: sorted([...others, update]) } };
  const versions: Record<string, number> = { ...existing.versions };
  for (const [role, v] of Object.entries(update.versions))
    versions[role] = Math.max(v, versions[role] ?? 0);
  let root = existing.root;
  let conflict: string | undefined;
  if (update.root.version > existing.root.version) root = update.root;
  else if (update.root.version === existing.root.version && update.root.sha256 !== root.sha256)
    conflict = `${update.gun}: another run kept a different root version ${root.version}; keeping it`;
  const merged: RepositoryState = { ...existing, root, versions, updated: update.updated };
  const out = { state: { repositories: sorted([...others, merged]) } };
  return conflict === undefined ? out : { ...out, conflict };
}

function sorted(list: RepositoryState[]): RepositoryState[] {
  return list.sort((a, b) =>
    a.server === b.server ? (a.gun < b.gun ? -1 : 1) : a.server < b.server ? -1 : 1
  );
}

export function serializeState(state: TrustState): string {
  const doc = {
    format: STATE_FORMAT,
    formatVersion: STATE_FORMAT_VERSION,
    repositories: state.repositories.map((r) => ({
      server: r.server,
      gun: r.gun,
      root: {
        version: r.root.version,
        sha256: r.root.sha256,
        bytes: r.root.bytes.toString('base64'),
      },
      versions: r.versions,
      updated: r.updated,
    })),
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

/** Parses a state file; anything that is not exactly our format is STATE_INVALID, never "empty". */
export function parseState(text: string, file: string): TrustState {
  const bad = (why: string): never => {
    throw new CountersignError('STATE_INVALID', `state file ${file}: ${why}`);
  };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    bad(`not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!isObject(doc)) return bad('not a JSON object');
  if (doc.format !== STATE_FORMAT)
    bad(
      `"format" is ${JSON.stringify(doc.format)}, not "${STATE_FORMAT}": not a Countersign state file`
    );
  if (doc.formatVersion !== STATE_FORMAT_VERSION)
    bad(
      `formatVersion ${JSON.stringify(doc.formatVersion)} is not supported (this client reads ${STATE_FORMAT_VERSION})`
    );
  if (!Array.isArray(doc.repositories)) return bad('"repositories" is not a list');
  const repositories = doc.repositories.map((r: unknown, i: number) =>
    parseRepository(r, (why) => bad(`repositories[${i}]: ${why}`))
  );
  const keys = new Set<string>();
  for (const r of repositories) {
    const key = `${r.server} ${r.gun}`;
    if (keys.has(key)) bad(`${r.gun} on ${r.server} is listed twice`);
    keys.add(key);
  }
  return { repositories };
}

function parseRepository(r: unknown, bad: (why: string) => never): RepositoryState {
  if (!isObject(r)) return bad('not an object');
  if (typeof r.server !== 'string' || typeof r.gun !== 'string' || r.gun === '')
    bad('"server" and "gun" must be strings');
  if (typeof r.updated !== 'string') bad('"updated" must be a string');
  const root = r.root;
  if (!isObject(root) || typeof root.bytes !== 'string' || typeof root.sha256 !== 'string')
    return bad('"root" must hold "version", "sha256" and "bytes"');
  if (!isVersion(root.version)) bad('"root.version" must be a positive integer');
  const bytes = Buffer.from(root.bytes, 'base64');
  const kept = keptRoot(bytes, root.version as number);
  if (kept.sha256 !== root.sha256)
    bad(`the kept root of ${String(r.gun)} does not match its sha256`);
  if (!isObject(r.versions)) return bad('"versions" must be an object');
  const versions: Record<string, number> = {};
  for (const [role, v] of Object.entries(r.versions)) {
    if (!isVersion(v)) bad(`version of ${role} must be a positive integer`);
    versions[role] = v as number;
  }
  return {
    server: r.server,
    gun: r.gun,
    root: kept,
    versions,
    updated: r.updated,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isVersion(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
}
