/** `countersign` command dispatch. Each subcommand lives in its own module. */
import { isCountersignError } from '../errors.js';
import { check } from './check.js';
import { serve } from './serve.js';
import { verify } from './verify.js';
import { user } from './user.js';
import { STORE_USAGE, storeCommand } from './store.js';

export async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  try {
    return await run(command, rest);
  } catch (err) {
    if (isCountersignError(err)) {
      process.stderr.write(`countersign: ${err.message}\n`);
      return err.code === 'USAGE' ? 2 : 1;
    }
    throw err;
  }
}

async function run(command: string | undefined, rest: string[]): Promise<number | undefined> {
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'check':
      return check(rest);
    case 'verify':
      return verify(rest);
    case 'user':
      return user(rest);
    case 'submit':
    case 'submission':
    case 'approve':
    case 'reject':
    case 'publish':
    case 'revoke':
    case 'report':
    case 'waive':
    case 'audit':
      return storeCommand(command, rest);
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`countersign: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

const USAGE = `countersign — a Notary-compatible TUF metadata server with a certification trust chain

Usage:
  countersign serve [--config FILE] [--listen HOST:PORT] [--data-dir DIR] [--plain-http]
        [--db-url postgres://USER@HOST:PORT/DB | SQLITE_FILE]
  countersign check  --server URL --gun GUN [--ca FILE] [--min-valid DURATION] [--json]
  countersign verify --server URL [--ca FILE] [--pin-ca FILE | --pin-root FILE] GUN:TAG [--json]
  echo -n PASSWORD | countersign user add NAME --role publisher|reviewer|admin
        [--namespace GUN_PREFIX ...] --password-stdin [--config FILE | --data-dir DIR]
  countersign user list|remove|unlock [NAME] [--config FILE | --data-dir DIR]
  countersign --help

${STORE_USAGE}`;
