/**
 * `countersign adopt GUN --trust-dir DIR` (docs/migrate.md "Adopting a repository"): one new
 * root version, signed with the owner's root key from their notary or docker trust dir, that
 * hands the timestamp and snapshot roles to new keys Countersign holds. The root passphrase comes
 * from NOTARY_ROOT_PASSPHRASE, or a prompt on a terminal.
 */
import { fail } from '../errors.js';
import { adoptRepository } from '../migrate/adopt.js';
import { rootKeysFromTrustDir } from '../migrate/trust-dir.js';
import { expiryPolicy } from '../notary/expiry.js';
import { loadCurrent } from '../notary/current.js';
import { ParsedMetadata } from '../notary/parsed.js';
import { bool, parseArgs, str } from './args.js';
import type { CommandIo } from './import-notary.js';
import { withLocalStorage } from './local-storage.js';
import { systemClock } from '../util/clock.js';

const FLAGS = {
  'trust-dir': 'string',
  config: 'string',
  'data-dir': 'string',
  help: 'boolean',
} as const;

export const ADOPT_USAGE = `Usage:
  NOTARY_ROOT_PASSPHRASE=… countersign adopt GUN --trust-dir DIR [--config FILE | --data-dir DIR]
  DIR is the repository owner's notary trust dir (~/.notary) or docker trust dir (~/.docker/trust).
`;

const processIo: CommandIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  clock: systemClock,
};

export async function adopt(argv: readonly string[], io: CommandIo = processIo): Promise<number> {
  const p = parseArgs(argv, FLAGS);
  if (bool(p, 'help')) {
    io.stdout.write(ADOPT_USAGE);
    return 0;
  }
  if (p.positionals.length !== 1) fail('USAGE', `adopt takes exactly one GUN\n\n${ADOPT_USAGE}`);
  const gun = p.positionals[0]!;
  const trustDir =
    str(p, 'trust-dir') ?? fail('USAGE', `--trust-dir is required\n\n${ADOPT_USAGE}`);
  const passphrase = io.env.NOTARY_ROOT_PASSPHRASE || (await promptPassphrase());
  return withLocalStorage(
    { config: str(p, 'config'), dataDir: str(p, 'data-dir') },
    io.clock,
    async (local) => {
      // Before the key ring: a GUN that is not there must not create a key file either.
      if (!(await loadCurrent(local.storage.meta, gun, new ParsedMetadata())))
        fail('MIGRATE_SOURCE', `Countersign has no published repository ${gun} to adopt`);
      const { keyring, warning } = await local.keyring();
      if (warning) io.stderr.write(`warning: ${warning}\n`);
      const e = local.config.expiry;
      const lifetimes = expiryPolicy({
        base: { timestamp: e.timestamp, snapshot: e.snapshot, targets: e.targets },
        gunPrefixes: e.gunPrefixes,
      }).lifetimes(gun);
      const adopted = await adoptRepository({
        storage: local.storage,
        sealer: keyring,
        clock: io.clock,
        gun,
        lifetimes,
        rootKeys: (root) => rootKeysFromTrustDir(trustDir, root, passphrase),
      });
      io.stdout.write(
        `adopted ${gun}: root version ${adopted.rootVersion} lists the server's new timestamp key ` +
          `${adopted.timestamp.keyId} and snapshot key ${adopted.snapshot.keyId}\n` +
          `clients follow the new root on their next update; publish with the notary or docker CLI as before\n`
      );
      return 0;
    }
  );
}

/** Reads the root passphrase from the terminal without echoing it; refuses without a terminal. */
async function promptPassphrase(): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) fail('USAGE', 'set NOTARY_ROOT_PASSPHRASE (there is no terminal to ask on)');
  process.stderr.write('Enter the passphrase of the root key: ');
  stdin.setRawMode(true);
  stdin.resume();
  try {
    let typed = '';
    for await (const chunk of stdin) {
      for (const ch of String(chunk)) {
        if (ch === '\r' || ch === '\n') return typed;
        if (ch === '\u0003') fail('USAGE', 'cancelled');
        typed = ch === '\u007f' ? typed.slice(0, -1) : typed + ch;
      }
    }
    return typed;
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\n');
  }
}
