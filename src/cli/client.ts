/**
 * The client-only command set — `check`, `verify` and `pull` — for the single-file bundle
 * (`dist/countersign-client.mjs`, scripts/bundle-client.mjs; docs/client.md "Installing the
 * client alone"): it reaches none of the server's modules, so the bundle carries no native
 * dependency and needs no node_modules.
 */
import { isCountersignError } from '../errors.js';
import { check } from './check.js';
import { pull } from './pull.js';
import { verify } from './verify.js';

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
    switch (command) {
      case 'check':
        return await check(rest);
      case 'verify':
        return await verify(rest);
      case 'pull':
        return await pull(rest);
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
