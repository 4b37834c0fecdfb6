/**
 * One verification that remembers (docs/client.md "The state file"): the trust anchor is the root
 * kept from earlier runs — in the state file or docker's trust dir, whichever is newer — else
 * the pins given, else trust on first use; the versions kept are the floor every role must reach.
 * When the run verifies, it returns what to keep next: the newest root and every role's version.
 */
import type { Clock } from '../util/clock.js';
import { RecordingSource } from './recording-source.js';
import type { VerificationResult } from './report.js';
import type { TrustAnchor } from './root-chain.js';
import type { MetadataSource } from './source.js';
import { findRepository, keptRoot, type RepositoryState, type TrustState } from './state.js';
import type { CachedTrust } from './trust-dir.js';
import { verifyRepository } from './update.js';

export interface TrackedOptions {
  readonly source: MetadataSource;
  /** The server as `normalizeServer` writes it: the state's key with the GUN. */
  readonly server: string;
  readonly gun: string;
  readonly clock: Clock;
  readonly target?: string;
  readonly digest?: string;
  readonly minValidityMs?: number;
  readonly minValidityText?: string;
  /** `--pin-root` / `--pin-ca`: the first run's anchor; a CA pin is also checked on every run. */
  readonly pinRoot?: Buffer;
  readonly pinCaPem?: string;
  /** The state read at the start of the run (absent: no `--state`). */
  readonly state?: TrustState;
  /** What docker's or notary's trust dir holds for the GUN (absent: no `--trust-dir`). */
  readonly cached?: CachedTrust;
}

export interface TrackedResult {
  readonly result: VerificationResult;
  /** The version of the root kept from earlier runs the chain started from, if any. */
  readonly keptRootVersion?: number;
  /** The version of the server's current root.json as served (also when it did not verify). */
  readonly serverRootVersion?: number;
  /** What to keep, when the trust data verified (only expiry or the tag lookup may have failed). */
  readonly keep?: RepositoryState;
  /** Role → the exact bytes verified: what a trust dir is updated with. */
  readonly files: ReadonlyMap<string, Buffer>;
}

export async function verifyTracked(opts: TrackedOptions): Promise<TrackedResult> {
  const kept = opts.state ? findRepository(opts.state, opts.server, opts.gun) : undefined;
  const keptBytes = newerRoot(
    kept ? { bytes: kept.root.bytes, version: kept.root.version } : undefined,
    opts.cached?.root
      ? { bytes: opts.cached.root, version: opts.cached.rootVersion ?? 0 }
      : undefined
  );
  const floors = maxVersions(kept?.versions ?? {}, opts.cached?.versions ?? {});
  const trust: TrustAnchor = keptBytes
    ? { kind: 'root', root: keptBytes.bytes, ...(opts.pinCaPem ? { caPem: opts.pinCaPem } : {}) }
    : opts.pinRoot
      ? { kind: 'root', root: opts.pinRoot, ...(opts.pinCaPem ? { caPem: opts.pinCaPem } : {}) }
      : opts.pinCaPem
        ? { kind: 'ca', pem: opts.pinCaPem }
        : { kind: 'tofu' };
  const recording = new RecordingSource(opts.source);
  const result = await verifyRepository({
    source: recording,
    gun: opts.gun,
    clock: opts.clock,
    trust,
    previousVersions: floors,
    ...(opts.target !== undefined ? { target: opts.target } : {}),
    ...(opts.digest !== undefined ? { digest: opts.digest } : {}),
    ...(opts.minValidityMs !== undefined ? { minValidityMs: opts.minValidityMs } : {}),
    ...(opts.minValidityText !== undefined ? { minValidityText: opts.minValidityText } : {}),
  });
  const files = new Map<string, Buffer>();
  for (const r of result.roles) {
    const bytes = r.role === 'root' ? recording.currentRoot : recording.bySha256.get(r.sha256);
    if (bytes) files.set(r.role, bytes);
  }
  const serverRootVersion = versionIn(recording.currentRoot);
  const base = {
    result,
    files,
    ...(keptBytes ? { keptRootVersion: keptBytes.version } : {}),
    ...(serverRootVersion !== undefined ? { serverRootVersion } : {}),
  };
  // The trust data are authentic when only expiry (old, not forged) or the tag lookup failed.
  const verified =
    result.found && result.failures.every((f) => f.check === 'expiry' || f.check === 'target');
  const rootBytes = files.get('root');
  const rootReport = result.roles.find((r) => r.role === 'root');
  if (!verified || !rootBytes || !rootReport) return base;
  const seen: Record<string, number> = { ...floors };
  for (const r of result.roles) seen[r.role] = Math.max(r.version, seen[r.role] ?? 0);
  const keep: RepositoryState = {
    server: opts.server,
    gun: opts.gun,
    root: keptRoot(rootBytes, rootReport.version),
    versions: seen,
    updated: result.checkedAt.toISOString(),
  };
  return { ...base, keep };
}

function newerRoot(
  a: { bytes: Buffer; version: number } | undefined,
  b: { bytes: Buffer; version: number } | undefined
): { bytes: Buffer; version: number } | undefined {
  if (!a) return b;
  if (!b) return a;
  return b.version > a.version ? b : a;
}

function maxVersions(
  a: Readonly<Record<string, number>>,
  b: Readonly<Record<string, number>>
): Record<string, number> {
  const out: Record<string, number> = { ...a };
  for (const [role, v] of Object.entries(b)) out[role] = Math.max(v, out[role] ?? 0);
  return out;
}

/** `signed.version` of a root as served, for messages only (it may not verify). */
function versionIn(bytes: Buffer | undefined): number | undefined {
  if (!bytes) return undefined;
  try {
    const v = (JSON.parse(bytes.toString('utf8')) as { signed?: { version?: unknown } }).signed
      ?.version;
    return typeof v === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}
