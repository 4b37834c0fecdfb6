/**
 * `countersign keys reseal` (docs/operations.md): re-encrypts every server key under a new
 * passphrase or key file. The current secret comes from the configuration, as for `serve`; the
 * new passphrase from COUNTERSIGN_NEW_KEY_PASSPHRASE (never a flag: flags show in `ps`).
 *
 *   COUNTERSIGN_NEW_KEY_PASSPHRASE=… countersign keys reseal --data-dir DIR --to-passphrase
 *   countersign keys reseal --config FILE --to-key-file /etc/countersign/keyring.key
 */
import { loadConfig } from '../config/load.js';
import { fail } from '../errors.js';
import { resealKeys } from '../signer/reseal.js';
import { openStorage } from '../storage/index.js';
import { systemClock } from '../util/clock.js';
import { bool, parseArgs, str, wantsHelp } from './args.js';

export const KEYS_USAGE = `Usage (stop every server on the database first):
  COUNTERSIGN_NEW_KEY_PASSPHRASE=… countersign keys reseal (--config FILE | --data-dir DIR) --to-passphrase
  countersign keys reseal (--config FILE | --data-dir DIR) --to-key-file PATH
`;

const FLAGS = {
  config: 'string',
  'data-dir': 'string',
  'to-passphrase': 'boolean',
  'to-key-file': 'string',
} as const;

export async function keys(
  argv: readonly string[],
  io: { stdout: NodeJS.WritableStream; env: NodeJS.ProcessEnv } = {
    stdout: process.stdout,
    env: process.env,
  }
): Promise<number> {
  if (wantsHelp(argv)) {
    io.stdout.write(KEYS_USAGE);
    return 0;
  }
  const [sub, ...rest] = argv;
  if (sub !== 'reseal') fail('USAGE', KEYS_USAGE);
  const p = parseArgs(rest, FLAGS);
  const toFile = str(p, 'to-key-file');
  const toPassphrase = bool(p, 'to-passphrase');
  if (toPassphrase === (toFile !== undefined))
    fail('USAGE', `give exactly one of --to-passphrase and --to-key-file\n\n${KEYS_USAGE}`);
  const newPassphrase = io.env.COUNTERSIGN_NEW_KEY_PASSPHRASE;
  if (toPassphrase && (newPassphrase === undefined || newPassphrase === ''))
    fail('USAGE', '--to-passphrase reads the new passphrase from COUNTERSIGN_NEW_KEY_PASSPHRASE');
  const config = loadConfig({ config: str(p, 'config'), dataDir: str(p, 'data-dir') }, io.env);
  const storage = await openStorage(config.storage);
  try {
    const count = await resealKeys({
      storage,
      current: {
        ...(config.keys.passphrase !== undefined ? { passphrase: config.keys.passphrase } : {}),
        ...(config.keys.keyFile !== undefined ? { keyFile: config.keys.keyFile } : {}),
        dataDir: config.dataDir,
      },
      next: toFile !== undefined ? { keyFile: toFile } : { passphrase: newPassphrase as string },
      clock: systemClock,
    });
    io.stdout.write(
      `resealed ${count} key${count === 1 ? '' : 's'} under the new ${toFile !== undefined ? `key file ${toFile}` : 'passphrase'}; ` +
        (toFile !== undefined
          ? 'set countersign.keys.keyFile to it and unset COUNTERSIGN_KEY_PASSPHRASE before starting the server\n'
          : 'set COUNTERSIGN_KEY_PASSPHRASE to it (and drop countersign.keys.keyFile) before starting the server\n')
    );
    return 0;
  } finally {
    await storage.close();
  }
}
