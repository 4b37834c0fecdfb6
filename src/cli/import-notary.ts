/**
 * `countersign import-notary` (docs/migrate.md): moves a notary-server deployment's repositories
 * — every version of every role byte for byte, the changefeed history and, with --signer-db,
 * notary-signer's server-held keys — into the storage named by --config / --data-dir.
 *
 *   NOTARY_SIGNER_ALIAS1=… countersign import-notary --from-db postgres://…/notaryserver \
 *       --signer-db postgres://…/notarysigner [--gun GUN …] [--dry-run] --data-dir data
 */
import { fail } from '../errors.js';
import {
  applyImport,
  changedNothing,
  previewImport,
  type ImportOutcome,
} from '../migrate/apply.js';
import { planImport, wipePlan, type ImportPlan } from '../migrate/plan.js';
import { planFromUrl } from '../migrate/from-url.js';
import { serverKeyGaps } from '../migrate/read-only.js';
import {
  notaryServerSource,
  notarySignerSource,
  type NotaryServerSource,
  type NotarySignerSource,
} from '../migrate/source.js';
import { systemClock, type Clock } from '../util/clock.js';
import { bool, list, parseArgs, str } from './args.js';
import { withLocalStorage, type LocalStorage } from './local-storage.js';

const FLAGS = {
  'from-db': 'string',
  'from-url': 'string',
  ca: 'string',
  'signer-db': 'string',
  gun: 'list',
  'dry-run': 'boolean',
  config: 'string',
  'data-dir': 'string',
} as const;

export const IMPORT_NOTARY_USAGE = `Usage:
  countersign import-notary --from-db postgres://…|mysql://… [--signer-db postgres://…|mysql://…]
        [--gun GUN …] [--dry-run] [--config FILE | --data-dir DIR]
  countersign import-notary --from-url https://notary.example.com --gun GUN … [--ca FILE]
        [--dry-run] [--config FILE | --data-dir DIR]
  notary-signer's key passphrases come from NOTARY_SIGNER_<ALIAS>, as notary-signer reads them;
  credentials for --from-url come from NOTARY_AUTH (base64 of user:password), as for the notary CLI.
`;

export interface CommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
  readonly clock: Clock;
}

const processIo: CommandIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  clock: systemClock,
};

export async function importNotary(
  argv: readonly string[],
  io: CommandIo = processIo
): Promise<number> {
  if (argv.length === 1 && ['--help', '-h', 'help'].includes(argv[0]!)) {
    io.stdout.write(IMPORT_NOTARY_USAGE);
    return 0;
  }
  const p = parseArgs(argv, FLAGS);
  if (p.positionals.length > 0)
    fail(
      'USAGE',
      `unexpected argument ${JSON.stringify(p.positionals[0])}\n\n${IMPORT_NOTARY_USAGE}`
    );
  const plan = await readSource(p, io);
  try {
    return await withLocalStorage(
      { config: str(p, 'config'), dataDir: str(p, 'data-dir') },
      io.clock,
      (local) => (bool(p, 'dry-run') ? dryRun(plan, local, io) : importPlan(plan, local, io))
    );
  } finally {
    wipePlan(plan);
  }
}

async function readSource(p: ReturnType<typeof parseArgs>, io: CommandIo): Promise<ImportPlan> {
  const fromDb = str(p, 'from-db');
  const fromUrl = str(p, 'from-url');
  if ((fromDb === undefined) === (fromUrl === undefined))
    fail('USAGE', `give one of --from-db and --from-url\n\n${IMPORT_NOTARY_USAGE}`);
  if (fromUrl !== undefined) {
    if (str(p, 'signer-db') !== undefined)
      fail('USAGE', '--signer-db goes with --from-db: a live server never hands out its keys');
    const guns = list(p, 'gun');
    if (guns.length === 0) fail('USAGE', '--from-url needs the repositories to copy: --gun GUN …');
    return planFromUrl({
      server: fromUrl,
      guns,
      caFile: str(p, 'ca'),
      env: io.env,
      clock: io.clock,
    });
  }
  if (str(p, 'ca') !== undefined) fail('USAGE', '--ca goes with --from-url');
  return readPlan(fromDb!, str(p, 'signer-db'), list(p, 'gun'), io);
}

async function readPlan(
  fromDb: string,
  signerDb: string | undefined,
  guns: readonly string[],
  io: CommandIo
): Promise<ImportPlan> {
  let server: NotaryServerSource | undefined;
  let signer: NotarySignerSource | undefined;
  try {
    server = await notaryServerSource(fromDb);
    if (signerDb !== undefined) signer = await notarySignerSource(signerDb);
    return await planImport({ server, signer, guns, env: io.env, now: io.clock.now() });
  } finally {
    await server?.close();
    await signer?.close();
  }
}

function problemsOf(plan: ImportPlan): string[] {
  return plan.repositories.flatMap((r) => r.problems.map((m) => `${r.gun}: ${m}`));
}

async function dryRun(plan: ImportPlan, local: LocalStorage, io: CommandIo): Promise<number> {
  const { outcome, conflicts } = await previewImport(plan, local.storage);
  io.stdout.write('dry run: nothing is written\n');
  printOutcome(outcome, io, 'would import');
  const problems = [...problemsOf(plan), ...conflicts];
  for (const m of problems) io.stdout.write(`would refuse: ${m}\n`);
  return problems.length > 0 ? 1 : 0;
}

async function importPlan(plan: ImportPlan, local: LocalStorage, io: CommandIo): Promise<number> {
  const problems = problemsOf(plan);
  if (problems.length > 0) {
    return fail(
      'MIGRATE_UNVERIFIED',
      `nothing imported: the history does not verify:\n  ${problems.join('\n  ')}`
    );
  }
  const hasKeys = plan.repositories.some((r) => r.keys.length > 0);
  let sealer = undefined;
  if (hasKeys) {
    const { keyring, warning } = await local.keyring();
    if (warning) io.stderr.write(`warning: ${warning}\n`);
    sealer = keyring;
  }
  const outcome = await applyImport(plan, local.storage, sealer ?? noKeys);
  printOutcome(outcome, io, 'imported');
  if (changedNothing(outcome))
    io.stdout.write('nothing changed: every version, key and change was already imported\n');
  for (const gap of await serverKeyGaps(plan, local.storage)) io.stdout.write(`note: ${gap}\n`);
  return 0;
}

/** Never called: a plan without keys seals nothing. */
const noKeys = {
  seal: (): Buffer => fail('SIGNER_NO_KEY', 'no key ring is open'),
  open: (): Buffer => fail('SIGNER_NO_KEY', 'no key ring is open'),
};

function printOutcome(outcome: ImportOutcome, io: CommandIo, verb: string): void {
  for (const r of outcome.repositories) {
    io.stdout.write(
      `${verb} ${r.gun}: ${r.files.stored} new versions (${r.files.present} already there), ` +
        `${r.keys.stored} new server keys (${r.keys.present} already there)\n`
    );
  }
  io.stdout.write(
    `${verb} changefeed: ${outcome.changes.stored} new records (${outcome.changes.present} already there)\n`
  );
}
