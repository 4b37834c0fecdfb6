/**
 * docker's and notary's own trust directory (`~/.docker/trust`, `~/.notary`): the metadata they
 * cached for a GUN under `tuf/<gun>/metadata/<role>.json`, as `docker trust inspect` and the
 * notary CLI leave it. The cached root is the trust anchor and the cached versions the floor, so
 * a machine keeps the trust it already built; after a run that verifies, the files are replaced
 * with what was verified, as the notary client does, so docker sees the same.
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { CountersignError } from '../errors.js';
import { writeFileAtomically } from './atomic-write.js';

/** What a trust dir holds for one GUN. */
export interface CachedTrust {
  /** The cached root.json, exactly as stored; absent when the GUN was never seen. */
  readonly root?: Buffer;
  readonly rootVersion?: number;
  /** Role → the version of its cached file. */
  readonly versions: Readonly<Record<string, number>>;
}

/** notary's MaxDownloadSize bounds any cached file we read back. */
const MAX_CACHED_BYTES = 100 << 20;
/** More cached roles than this is not a notary cache. */
const MAX_CACHED_FILES = 10_000;

export function metadataDir(trustDir: string, gun: string): string {
  return join(trustDir, 'tuf', ...gun.split('/'), 'metadata');
}

export function readTrustDir(trustDir: string, gun: string): CachedTrust {
  const dir = metadataDir(trustDir, gun);
  const files = listJson(dir);
  const versions: Record<string, number> = {};
  let root: Buffer | undefined;
  for (const file of files) {
    const role = relative(dir, file).slice(0, -'.json'.length).split(sep).join('/');
    const bytes = readCapped(file);
    versions[role] = versionOf(bytes, file);
    if (role === 'root') root = bytes;
  }
  if (root === undefined) return { versions };
  return { root, rootVersion: versions.root, versions };
}

/** Replaces the cached files of `gun` with `files` (role → exact bytes), each atomically. */
export function writeTrustDir(
  trustDir: string,
  gun: string,
  files: ReadonlyMap<string, Buffer>
): void {
  const dir = metadataDir(trustDir, gun);
  for (const [role, bytes] of files) {
    const target = join(dir, ...role.split('/')) + '.json';
    try {
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      writeFileAtomically(target, bytes, 0o644);
    } catch (err) {
      throw new CountersignError('STATE_INVALID', `--trust-dir: cannot write ${target}`, {
        cause: err,
      });
    }
  }
}

function listJson(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new CountersignError('STATE_INVALID', `--trust-dir: cannot read ${d}`, { cause: err });
    }
    for (const name of names) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.json')) out.push(p);
      if (out.length > MAX_CACHED_FILES)
        throw new CountersignError(
          'STATE_INVALID',
          `--trust-dir: more than ${MAX_CACHED_FILES} files in ${dir}`
        );
    }
  };
  walk(dir);
  return out;
}

function readCapped(file: string): Buffer {
  const size = statSync(file).size;
  if (size > MAX_CACHED_BYTES)
    throw new CountersignError(
      'STATE_INVALID',
      `--trust-dir: ${file} is ${size} bytes, larger than any metadata`
    );
  return readFileSync(file);
}

function versionOf(bytes: Buffer, file: string): number {
  let version: unknown;
  try {
    version = (JSON.parse(bytes.toString('utf8')) as { signed?: { version?: unknown } }).signed
      ?.version;
  } catch (cause) {
    throw new CountersignError('STATE_INVALID', `--trust-dir: ${file} is not JSON`, { cause });
  }
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0)
    throw new CountersignError('STATE_INVALID', `--trust-dir: ${file} has no signed.version`);
  return version;
}
