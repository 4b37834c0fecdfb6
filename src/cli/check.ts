/**
 * `countersign check` (docs/interfaces.md "Checking and verifying"): reads a repository from any Notary
 * server as the notary client does, verifies it from the root, and fails when anything is expired
 * or expires within --min-valid. Exit statuses are distinct so CI can branch on them; `verify`
 * uses the same table.
 */
import { readFileSync } from 'node:fs';
import { CountersignError, fail, isCountersignError } from '../errors.js';
import { HttpMetadataSource, verifyRepository, type VerificationResult } from '../client/index.js';
import { systemClock } from '../util/clock.js';
import { parseDuration } from '../util/duration.js';
import { bool, parseArgs, str } from './args.js';

/** Exit statuses of `check` and `verify`. */
export const EXIT = {
  OK: 0,
  /** Everything verifies, but a role (or root certificate) has expired or expires within --min-valid. */
  EXPIRY: 1,
  USAGE: 2,
  /** Root chain, signatures, hashes/lengths or versions do not verify. */
  VERIFICATION: 3,
  /** The server cannot be reached, answers badly, or has no trust data for the GUN. */
  NETWORK: 4,
  /** verify only: the tag is not validly signed in targets/releases or targets. */
  TARGET: 5,
} as const;

export const EXIT_CODES_HELP = `Exit status:
  0  everything verifies (and, for check, nothing expires within --min-valid)
  1  a role or root certificate has expired or expires within --min-valid (all else verifies)
  2  usage error (bad flag, unreadable file)
  3  verification failure: root chain, bad signature, hash or length mismatch, malformed
     metadata, a version lower than expected
  4  network error, unexpected HTTP status, or no trust data for the GUN on the server
  5  (verify) the tag is not validly signed in targets/releases or targets
`;

const HELP = `Usage: countersign check --server URL --gun GUN [--ca FILE] [--min-valid DURATION] [--json]

Fetches timestamp.json and the chain it needs (root versions from 1, snapshot, targets and
delegations by hash) from any Notary server, verifies every signature from the root, and
prints one line per role with its version and expiry. Fails if anything has expired or
expires within --min-valid.

Options:
  --server URL          the Notary server (https://host:port or http://…)
  --gun GUN             the repository, e.g. docker.io/library/alpine
  --ca FILE             PEM CA certificate(s) for the server's TLS certificate
  --min-valid DURATION  how long everything must stay valid: an integer and s, m, h or d
                        (default 24h)
  --json                print one JSON object instead of text

${EXIT_CODES_HELP}`;

export async function check(argv: readonly string[]): Promise<number> {
  const p = parseArgs(argv, {
    server: 'string',
    gun: 'string',
    ca: 'string',
    'min-valid': 'string',
    json: 'boolean',
    help: 'boolean',
  });
  if (bool(p, 'help')) {
    process.stdout.write(HELP);
    return EXIT.OK;
  }
  if (p.positionals.length > 0)
    fail('USAGE', `unexpected argument ${JSON.stringify(p.positionals[0])}\n\n${HELP}`);
  const server = required(str(p, 'server'), '--server', HELP);
  const gun = required(str(p, 'gun'), '--gun', HELP);
  const minValidText = str(p, 'min-valid') ?? '24h';
  let minValidityMs: number;
  try {
    minValidityMs = parseDuration(minValidText, '--min-valid');
  } catch (err) {
    throw usage(err);
  }
  const source = new HttpMetadataSource({ server, caFile: str(p, 'ca') });
  const result = await verifyRepository({
    source,
    gun,
    clock: systemClock,
    minValidityMs,
    minValidityText: minValidText,
  });
  const code = exitCodeOf(result);
  if (bool(p, 'json')) {
    process.stdout.write(
      JSON.stringify(
        { server, minValid: minValidText, exitCode: code, ...resultJSON(result) },
        null,
        2
      ) + '\n'
    );
    return code;
  }
  for (const r of result.roles) {
    const cert = r.certificatesExpire ? ` (root certificates until ${r.certificatesExpire})` : '';
    const mark = r.state === 'valid' ? '' : ` ${r.state.toUpperCase()}`;
    process.stdout.write(`${r.role} version ${r.version} expires ${r.expires}${cert}${mark}\n`);
  }
  if (code === EXIT.OK)
    process.stdout.write(`ok: ${gun} verifies and nothing expires within ${minValidText}\n`);
  else writeReasons('check', result);
  return code;
}

/** The worst outcome decides: unreachable or absent, then broken trust data, then the tag, then expiry. */
export function exitCodeOf(result: VerificationResult): number {
  if (result.ok) return EXIT.OK;
  const checks = new Set(result.failures.map((f) => f.check));
  if (!result.found || result.failures.some((f) => f.code === 'NETWORK')) return EXIT.NETWORK;
  if (['root-chain', 'signatures', 'consistency', 'rollback'].some((c) => checks.has(c as never)))
    return EXIT.VERIFICATION;
  if (checks.has('target')) return EXIT.TARGET;
  if (checks.has('expiry')) return EXIT.EXPIRY;
  return EXIT.VERIFICATION;
}

export function writeReasons(command: string, result: VerificationResult): void {
  for (const f of result.failures)
    process.stderr.write(`countersign ${command}: ${f.check}: ${f.message}\n`);
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
  };
}

export function required(value: string | undefined, flag: string, help: string): string {
  if (value === undefined || value === '') fail('USAGE', `${flag} is required\n\n${help}`);
  return value;
}

export function usage(err: unknown): CountersignError {
  return isCountersignError(err)
    ? new CountersignError('USAGE', err.message)
    : new CountersignError('USAGE', String(err));
}

/** Reads a file given on the command line; unreadable is a usage error. */
export function readArgFile(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new CountersignError(
      'USAGE',
      `${flag}: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`
    );
  }
}
