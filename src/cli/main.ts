/**
 * `countersign` command dispatch. Each command's module is imported only when that command runs,
 * so `countersign check …`, `--help` and `--version` never load the server stack (express, pg,
 * better-sqlite3, prom-client, pino): test/cli/lazy-load.test.ts holds that.
 */
import { wantsHelp } from './help-flag.js';

// Everything else (the error catalogue, "did you mean", the store usage, the version) is
// imported where it is needed, so `check --help` reads four files (docs/client.md "Start-up time").
const printVersion = async () => (await import('./version.js')).printVersion();

type Run = (args: string[]) => Promise<number | undefined> | number | undefined;
/** A command's help text, loaded without its module (so `check --help` starts like `node -e ''`). */
type Help = () => Promise<string>;

const clientHelp = () => import('./client-usage.js');

const store =
  (command: string): Run =>
  async (args) =>
    (await import('./store.js')).storeCommand(command, args);

/** Every command, its one-line summary, and how it runs (loading its module then). */
const COMMANDS: Record<string, { summary: string; run: Run; help?: Help }> = {
  serve: {
    summary: 'run the server (flags as notary-server: -config FILE, -logf, -debug, -version)',
    run: async (a) => (await import('./serve.js')).serve(a),
  },
  config: {
    summary: 'check a configuration file and print the effective configuration',
    run: async (a) => (await import('./config.js')).configCommand(a),
  },
  check: {
    summary: 'check a repository on any Notary server: signatures, hashes, expiry (for CI)',
    run: async (a) => (await import('./check.js')).check(a),
    help: async () => (await clientHelp()).CHECK_HELP,
  },
  verify: {
    summary: 'verify a signed tag and print its digest (for consumers, Docker 29+)',
    run: async (a) => (await import('./verify.js')).verify(a),
    help: async () => (await clientHelp()).VERIFY_HELP,
  },
  pull: {
    summary:
      'verify a signed tag, then docker pull NAME@DIGEST and docker tag (DCT for Docker 29+)',
    run: async (a) => (await import('./pull.js')).pull(a),
    help: async () => (await clientHelp()).PULL_HELP,
  },
  user: {
    summary: 'add, list, remove or unlock accounts of the built-in token service',
    run: async (a) => (await import('./user.js')).user(a),
  },
  'import-notary': {
    summary: 'import a notary-server deployment (database, signer keys) or a live Notary server',
    run: async (a) => (await import('./import-notary.js')).importNotary(a),
  },
  adopt: {
    summary: "give an imported repository new server-held keys, signed with the owner's root key",
    run: async (a) => (await import('./adopt.js')).adopt(a),
  },
  backup: {
    summary: 'take a consistent online backup of a SQLite data dir (docs/operations.md)',
    run: async (a) => (await import('./backup.js')).backup(a),
  },
  restore: {
    summary: 'restore a backup into a data dir, checking it and its keys first',
    run: async (a) => (await import('./backup.js')).restore(a),
  },
  keys: {
    summary: 'keys reseal: re-encrypt every server-held key under a new passphrase or key file',
    run: async (a) => (await import('./keys.js')).keys(a),
  },
  ca: {
    summary: 'ca rotate: replace the store CA, cross-certified by the old one for the overlap',
    run: async (a) => (await import('./ca.js')).ca(a),
  },
  submit: { summary: 'submit a staging tag for certification', run: store('submit') },
  submission: { summary: 'show submissions (get ID, list)', run: store('submission') },
  approve: { summary: 'approve a submission (reviewers)', run: store('approve') },
  reject: { summary: 'reject a submission (reviewers)', run: store('reject') },
  publish: { summary: 'publish an approved submission', run: store('publish') },
  revoke: { summary: 'revoke a published tag', run: store('revoke') },
  report: { summary: 'attach a vulnerability report to a submission', run: store('report') },
  waive: { summary: 'waive a failed policy check', run: store('waive') },
  audit: { summary: 'verify the hash-chained audit log', run: store('audit') },
  completion: {
    summary: 'print a shell completion script: countersign completion bash|zsh',
    run: async (a) => (await import('./completion.js')).completion(a, Object.keys(COMMANDS)),
  },
  version: { summary: 'print the version', run: () => printVersion() },
  help: { summary: 'help on a command: countersign help COMMAND', run: (a) => help(a) },
};

export async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  try {
    return await run(command, rest);
  } catch (err) {
    const { isCountersignError } = await import('../errors.js');
    if (isCountersignError(err)) {
      process.stderr.write(`countersign: ${err.message}\n`);
      return err.code === 'USAGE' ? 2 : 1;
    }
    throw err;
  }
}

async function run(command: string | undefined, rest: string[]): Promise<number | undefined> {
  if (command === undefined || command === '--help' || command === '-h') {
    process.stdout.write(await usage());
    return 0;
  }
  if (command === '--version' || command === '-v') return printVersion();
  const entry = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!entry) {
    const { nearest } = await import('../util/suggest.js');
    const guess = nearest(command, Object.keys(COMMANDS));
    process.stderr.write(
      `countersign: unknown command ${JSON.stringify(command)}${guess ? ` (did you mean "${guess}"?)` : ''}\n` +
        'Run countersign --help for the list of commands.\n'
    );
    return 2;
  }
  // `COMMAND -h|--help` anywhere (`user add --help` too) is that command's help, always exit 0.
  if (command !== 'help' && command !== 'version' && wantsHelp(rest)) return help([command]);
  return entry.run(rest);
}

async function help(args: string[]): Promise<number> {
  const [command] = args;
  if (command === undefined || command === 'help' || command === 'version') {
    process.stdout.write(await usage());
    return 0;
  }
  if (!Object.hasOwn(COMMANDS, command)) return (await run(command, [])) ?? 2;
  const entry = COMMANDS[command] as { run: Run; help?: Help };
  if (entry.help) {
    process.stdout.write(await entry.help());
    return 0;
  }
  // Every other command prints its own usage for --help (the store commands share one text).
  const code = await entry.run(['--help']);
  return code ?? 0;
}

async function usage(): Promise<string> {
  const { STORE_USAGE } = await import('./store-usage.js');
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(
    ([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`
  );
  return `countersign — a Notary-compatible TUF metadata server with a certification trust chain

Usage: countersign COMMAND [options]

Commands:
${lines.join('\n')}

  countersign COMMAND --help   that command's flags
  countersign --version        the version

Configuration reference: docs/config.md.

${STORE_USAGE}`;
}
