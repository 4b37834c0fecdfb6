/**
 * `countersign check` (docs/client.md): reads repositories from any Notary server as the notary
 * client does, verifies each from the root (or the root kept by earlier runs), and fails when
 * anything is expired or expires within --min-valid, or went back in version. Exit statuses are
 * distinct so CI can branch on them (trust-run.ts); `verify` uses the same table.
 */
import { fail } from '../errors.js';
import type { TrackedResult } from '../client/tracked.js';
import { parseDuration } from '../util/duration.js';
import { bool, list, parseArgs, str } from './args.js';
import {
  EXIT,
  exitCodeOf,
  keepVerified,
  readArgFile,
  reasons,
  resultJSON,
  runOne,
  trustSetup,
  usage,
  withInputErrors,
} from './trust-run.js';
import { CHECK_FLAGS, CHECK_HELP } from './client-usage.js';

/** More GUNs than this in one run is a mistake (a binary file given as --gun-file). */
const MAX_GUNS = 10_000;

export function check(argv: readonly string[]): Promise<number> {
  return withInputErrors(() => checkCommand(argv));
}

async function checkCommand(argv: readonly string[]): Promise<number> {
  const p = parseArgs(argv, CHECK_FLAGS);
  if (bool(p, 'help')) {
    process.stdout.write(CHECK_HELP);
    return EXIT.OK;
  }
  if (p.positionals.length > 0)
    fail('USAGE', `unexpected argument ${JSON.stringify(p.positionals[0])}\n\n${CHECK_HELP}`);
  const guns = gunsOf(list(p, 'gun'), str(p, 'gun-file'));
  const minValidText = str(p, 'min-valid') ?? '24h';
  let minValidityMs: number;
  try {
    minValidityMs = parseDuration(minValidText, '--min-valid');
  } catch (err) {
    throw usage(err);
  }
  const setup = trustSetup(p, process.env, CHECK_HELP, readArgFile);
  const runs: { gun: string; run: TrackedResult; code: number }[] = [];
  for (const gun of guns) {
    const run = await runOne(setup, gun, { minValidityMs, minValidityText: minValidText });
    runs.push({ gun, run, code: exitCodeOf(run) });
  }
  await keepVerified(setup, runs);
  const many = guns.length > 1 || str(p, 'gun-file') !== undefined;
  const code = worst(runs.map((r) => r.code));
  if (bool(p, 'json')) {
    const objects = runs.map((r) => ({
      server: setup.server,
      minValid: minValidText,
      exitCode: r.code,
      ...resultJSON(r.run.result),
    }));
    process.stdout.write(JSON.stringify(many ? objects : objects[0], null, 2) + '\n');
    return code;
  }
  for (const r of runs) printRun(r.gun, r.run, r.code, minValidText, many);
  if (many) process.stdout.write(summary(runs.map((r) => r.code)) + '\n');
  return code;
}

function printRun(
  gun: string,
  run: TrackedResult,
  code: number,
  minValidText: string,
  many: boolean
): void {
  for (const r of run.result.roles) {
    const cert = r.certificatesExpire ? ` (root certificates until ${r.certificatesExpire})` : '';
    const mark = r.state === 'valid' ? '' : ` ${r.state.toUpperCase()}`;
    const prefix = many ? `${gun} ` : '';
    process.stdout.write(
      `${prefix}${r.role} version ${r.version} expires ${r.expires}${cert}${mark}\n`
    );
  }
  if (code === EXIT.OK)
    process.stdout.write(`ok: ${gun} verifies and nothing expires within ${minValidText}\n`);
  else for (const line of reasons('check', run)) process.stderr.write(`${line}\n`);
}

/** The GUNs of --gun (in order) and --gun-file; none, or one twice, is a usage error. */
function gunsOf(flags: readonly string[], file: string | undefined): string[] {
  const guns = [...flags];
  if (file !== undefined) {
    const text = readArgFile(file, '--gun-file').toString('utf8');
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line !== '' && !line.startsWith('#')) guns.push(line);
    }
  }
  if (guns.length === 0) fail('USAGE', `--gun or --gun-file is required\n\n${CHECK_HELP}`);
  if (guns.length > MAX_GUNS) fail('USAGE', `more than ${MAX_GUNS} GUNs in one run`);
  const seen = new Set<string>();
  for (const g of guns) {
    if (g === '') fail('USAGE', '--gun needs a non-empty GUN');
    if (seen.has(g)) fail('USAGE', `the GUN ${g} is given twice`);
    seen.add(g);
  }
  return guns;
}

/** Worst first: 4, 5, 3, 6, 1 (as exitCodeOf ranks them for one GUN), then 0. */
const SEVERITY = [EXIT.NETWORK, EXIT.ROLLBACK, EXIT.VERIFICATION, EXIT.TARGET, EXIT.EXPIRY];

function worst(codes: readonly number[]): number {
  return SEVERITY.find((c) => codes.includes(c)) ?? EXIT.OK;
}

function summary(codes: readonly number[]): string {
  const count = (c: number) => codes.filter((x) => x === c).length;
  return (
    `checked ${codes.length} repositories: ${count(EXIT.OK)} ok, ${count(EXIT.EXPIRY)} expiring or expired, ` +
    `${count(EXIT.ROLLBACK)} rolled back, ${count(EXIT.VERIFICATION)} failed verification, ` +
    `${count(EXIT.NETWORK)} unreachable or absent`
  );
}
