/**
 * What `check` and `verify` share (docs/client.md): the server (`--server`, else
 * DOCKER_CONTENT_TRUST_SERVER), TLS CA, credentials (`--user` with COUNTERSIGN_PASSWORD, else
 * NOTARY_AUTH), pins, the state file and docker's trust dir; running one GUN against them; keeping
 * what verified; and the exit status of a run.
 */
import { readFileSync } from 'node:fs';
import { CountersignError, fail, isCountersignError } from '../errors.js';
import { parseDockerReference, type ImageReference } from '../client/reference.js';
import {
  HttpMetadataSource,
  type TokenCredentials,
  type VerificationResult,
} from '../client/index.js';
import { normalizeServer, type TrustState } from '../client/state.js';
import { readStateFile, updateStateFile } from '../client/state-file.js';
import { verifyTracked, type TrackedResult } from '../client/tracked.js';
import { readTrustDir, writeTrustDir } from '../client/trust-dir.js';
import { systemClock } from '../util/clock.js';
import { str, type Parsed } from './args.js';
import { withDefaults } from './profile.js';

/** Exit statuses of `check` and `verify`. */
export const EXIT = {
  OK: 0,
  /** Everything verifies, but a role (or root certificate) has expired or expires within --min-valid. */
  EXPIRY: 1,
  /** A bad flag, an unreadable file, a state file that is not ours, a reference docker refuses. */
  USAGE: 2,
  /** Root chain, signatures, hashes/lengths do not verify. */
  VERIFICATION: 3,
  /** The server cannot be reached, answers badly, or has no trust data for the GUN. */
  NETWORK: 4,
  /** A role below the version seen before, or a root that does not chain from the kept one. */
  ROLLBACK: 5,
  /** verify only: the tag (or digest) is not validly signed in targets/releases or targets. */
  TARGET: 6,
} as const;

export interface TrustSetup {
  /** As given (messages, JSON). */
  readonly server: string;
  readonly source: HttpMetadataSource;
  readonly serverKey: string;
  readonly pinRoot?: Buffer;
  readonly pinCaPem?: string;
  readonly stateFile?: string;
  readonly state?: TrustState;
  readonly trustDir?: string;
}

export function trustSetup(
  given: Parsed,
  env: NodeJS.ProcessEnv,
  help: string,
  readFile: (file: string, flag: string) => Buffer
): TrustSetup {
  // NOTARY_AUTH names its own user: a default user must not take its place.
  const p = withDefaults(given, env, {
    moreEnv: { server: ['DOCKER_CONTENT_TRUST_SERVER'] },
    skipWhenSet: { user: 'NOTARY_AUTH' },
  });
  const server = str(p, 'server');
  if (server === undefined || server === '')
    fail(
      'USAGE',
      `--server is required (or set DOCKER_CONTENT_TRUST_SERVER); COUNTERSIGN_SERVER or a --profile work too\n\n${help}`
    );
  const pinCa = str(p, 'pin-ca');
  const pinRoot = str(p, 'pin-root');
  if (pinCa !== undefined && pinRoot !== undefined)
    fail('USAGE', '--pin-ca and --pin-root exclude each other');
  const credentials = credentialsFrom(str(p, 'user'), env);
  const caFile = str(p, 'ca');
  const source = new HttpMetadataSource({
    server,
    ...(caFile !== undefined ? { caFile } : {}),
    ...(credentials ? { credentials } : {}),
  });
  const stateFile = str(p, 'state');
  const trustDir = str(p, 'trust-dir');
  return {
    server,
    source,
    serverKey: normalizeServer(server),
    ...(pinRoot !== undefined ? { pinRoot: readFile(pinRoot, '--pin-root') } : {}),
    ...(pinCa !== undefined ? { pinCaPem: readFile(pinCa, '--pin-ca').toString('latin1') } : {}),
    ...(stateFile !== undefined ? { stateFile, state: readStateFile(stateFile) } : {}),
    ...(trustDir !== undefined ? { trustDir } : {}),
  };
}

/** `--user` with COUNTERSIGN_PASSWORD, else NOTARY_AUTH (base64 of `user:password`, as notary). */
export function credentialsFrom(
  user: string | undefined,
  env: NodeJS.ProcessEnv
): TokenCredentials | undefined {
  if (user !== undefined) {
    const password = env.COUNTERSIGN_PASSWORD;
    if (password === undefined || password === '')
      fail('USAGE', '--user needs the password in COUNTERSIGN_PASSWORD');
    return { username: user, password };
  }
  const auth = env.NOTARY_AUTH;
  if (auth === undefined || auth === '') return undefined;
  const decoded = Buffer.from(auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  // Never echo the value: it is a password.
  if (!/^[A-Za-z0-9+/=\s]+$/.test(auth) || colon <= 0)
    fail('USAGE', 'NOTARY_AUTH must be the base64 of user:password');
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function runOne(
  setup: TrustSetup,
  gun: string,
  extra: {
    target?: string;
    digest?: string;
    minValidityMs?: number;
    minValidityText?: string;
  }
): Promise<TrackedResult> {
  return verifyTracked({
    source: setup.source,
    server: setup.serverKey,
    gun,
    clock: systemClock,
    ...extra,
    ...(setup.pinRoot ? { pinRoot: setup.pinRoot } : {}),
    ...(setup.pinCaPem ? { pinCaPem: setup.pinCaPem } : {}),
    ...(setup.state ? { state: setup.state } : {}),
    ...(setup.trustDir ? { cached: readTrustDir(setup.trustDir, gun) } : {}),
  });
}

/** Writes what verified into the state file (one locked update) and the trust dir. */
export async function keepVerified(
  setup: TrustSetup,
  runs: readonly { gun: string; run: TrackedResult }[]
): Promise<void> {
  const keep = runs.flatMap((r) => (r.run.keep ? [r.run.keep] : []));
  if (setup.stateFile !== undefined && keep.length > 0) {
    for (const note of await updateStateFile(setup.stateFile, keep))
      process.stderr.write(`countersign: warning: ${note}\n`);
  }
  if (setup.trustDir !== undefined)
    for (const r of runs) if (r.run.keep) writeTrustDir(setup.trustDir, r.gun, r.run.files);
}

/** The worst outcome decides: unreachable, then rollback, then broken trust data, then the tag, then expiry. */
export function exitCodeOf(run: TrackedResult): number {
  const result = run.result;
  if (result.ok) return EXIT.OK;
  const checks = new Set(result.failures.map((f) => f.check));
  if (!result.found || result.failures.some((f) => f.code === 'NETWORK')) return EXIT.NETWORK;
  if (checks.has('rollback') || notChained(run)) return EXIT.ROLLBACK;
  if (['root-chain', 'signatures', 'consistency'].some((c) => checks.has(c as never)))
    return EXIT.VERIFICATION;
  if (checks.has('target')) return EXIT.TARGET;
  if (checks.has('expiry')) return EXIT.EXPIRY;
  return EXIT.VERIFICATION;
}

/** The chain from a root kept by an earlier run broke: the repository was replaced. */
function notChained(run: TrackedResult): boolean {
  return (
    run.keptRootVersion !== undefined && run.result.failures.some((f) => f.check === 'root-chain')
  );
}

/** The reasons, one line each; a broken chain from the kept root names both versions first. */
export function reasons(command: string, run: TrackedResult): string[] {
  const lines: string[] = [];
  if (notChained(run)) {
    const served = run.serverRootVersion === undefined ? 'unknown' : run.serverRootVersion;
    lines.push(
      `countersign ${command}: rollback: root: the server's root version ${served} does not chain from the kept root version ${run.keptRootVersion}`
    );
  }
  for (const f of run.result.failures)
    lines.push(`countersign ${command}: ${f.check}: ${f.message}`);
  return lines;
}

/** The result as plain JSON (dates as RFC 3339). */
export function resultJSON(result: VerificationResult): Record<string, unknown> {
  return {
    gun: result.gun,
    ok: result.ok,
    found: result.found,
    checkedAt: result.checkedAt.toISOString(),
    roles: result.roles.map((r) => ({
      role: r.role,
      version: r.version,
      expires: r.expires,
      state: r.state,
      sha256: r.sha256,
      length: r.length,
      ...(r.certificatesExpire ? { certificatesExpire: r.certificatesExpire } : {}),
    })),
    checks: result.checks,
    failures: result.failures,
    ...(result.target ? { target: result.target } : {}),
    ...(result.tags ? { tags: result.tags } : {}),
  };
}

/**
 * Runs a command body; a state file that is not ours, a reference docker refuses or a held lock
 * is exit 2 with its message, like any other bad input.
 */
export async function withInputErrors(body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (
      isCountersignError(err) &&
      (err.code === 'STATE_INVALID' ||
        err.code === 'STATE_LOCKED' ||
        err.code === 'REFERENCE_INVALID')
    ) {
      process.stderr.write(`countersign: ${err.message}\n`);
      return EXIT.USAGE;
    }
    throw err;
  }
}

export function required(value: string | undefined, flag: string, help: string): string {
  if (value === undefined || value === '') fail('USAGE', `${flag} is required\n\n${help}`);
  return value;
}

export function usage(err: unknown): CountersignError {
  return isCountersignError(err)
    ? new CountersignError('USAGE', err.message, { cause: err })
    : new CountersignError('USAGE', String(err));
}

/** Reads a file given on the command line; unreadable is a usage error. */
export function readArgFile(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new CountersignError(
      'USAGE',
      `${flag}: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err }
    );
  }
}

/**
 * `verify` and `pull`: IMAGE read as docker reads it (content trust signs sha256 digests only),
 * verified as the notary client does, and the trust it proved kept (--state, --trust-dir).
 */
export async function verifyImage(
  p: Parsed,
  help: string
): Promise<{ ref: ImageReference; setup: TrustSetup; run: TrackedResult }> {
  if (p.positionals.length !== 1) fail('USAGE', `expected exactly one IMAGE\n\n${help}`);
  const ref = parseDockerReference(p.positionals[0] as string);
  if (ref.digest !== undefined && !ref.digest.startsWith('sha256:'))
    fail('USAGE', `${ref.digest}: docker content trust signs sha256 digests only`);
  const setup = trustSetup(p, process.env, help, readArgFile);
  const run = await runOne(setup, ref.name, {
    ...(ref.tag !== undefined ? { target: ref.tag } : {}),
    ...(ref.digest !== undefined ? { digest: ref.digest } : {}),
  });
  await keepVerified(setup, [{ gun: ref.name, run }]);
  return { ref, setup, run };
}
