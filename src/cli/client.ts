/**
 * The client-only command set — `check`, `verify` and `pull` — for the single-file bundle
 * (`dist/countersign-client.mjs`, scripts/bundle-client.mjs; docs/client.md "Installing the
 * client alone"): it reaches none of the server's modules, so the bundle carries no native
 * dependency and needs no node_modules.
 */
import { isCountersignError } from '../errors.js';
import { CHECK_HELP, PULL_HELP, VERIFY_HELP } from './client-usage.js';
import { wantsHelp } from './help-flag.js';

const USAGE = `countersign-client — check and verify Notary trust data (the client half of Countersign)

Usage:
  countersign-client check  [--server URL] (--gun GUN ... | --gun-file FILE) [options]
  countersign-client verify [--server URL] [options] IMAGE
  countersign-client pull   [--server URL] [options] IMAGE
  countersign-client COMMAND --help
`;

export async function clientMain(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    // Each command's module (the TUF client, X.509, the argument parser) loads only when it
    // runs; its --help needs none of that (docs/client.md "Start-up time").
    switch (command) {
      case 'check':
        return helped(rest, CHECK_HELP) ?? (await (await import('./check.js')).check(rest));
      case 'verify':
        return helped(rest, VERIFY_HELP) ?? (await (await import('./verify.js')).verify(rest));
      case 'pull':
        return helped(rest, PULL_HELP) ?? (await (await import('./pull.js')).pull(rest));
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return 0;
      default:
        process.stderr.write(
          `countersign-client: unknown command ${JSON.stringify(command)}\n\n${USAGE}`
        );
        return 2;
    }
  } catch (err) {
    if (!isCountersignError(err)) throw err;
    process.stderr.write(`countersign: ${err.message}\n`);
    return err.code === 'USAGE' ? 2 : 1;
  }
}

/** 0 after printing `help` when `args` ask for it (`-h`/`--help` before any `--`), else undefined. */
function helped(args: readonly string[], help: string): number | undefined {
  if (!wantsHelp(args)) return undefined;
  process.stdout.write(help);
  return 0;
}
