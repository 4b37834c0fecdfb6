/**
 * `countersign ca rotate` (docs/store.md "Rotating the store CA"): replaces the store CA with a
 * new key and certificate, the new key cross-certified by the old CA for the overlap. Runs on the
 * same `--config FILE` / `--data-dir DIR` as `serve`, while servers run: they read the CA from the
 * database each time they need it.
 */
import { fail } from '../errors.js';
import { LocalSigner } from '../signer/local.js';
import { CA_SETTING, StoreCa } from '../store/ca.js';
import { parseStoreSettings } from '../store/settings.js';
import type { Clock } from '../util/clock.js';
import { systemClock } from '../util/clock.js';
import { parseArgs, str, wantsHelp } from './args.js';
import { withLocalStorage } from './local-storage.js';

export const CA_USAGE = `Usage:
  countersign ca rotate (--config FILE | --data-dir DIR)

Makes a new store CA (key and self-signed certificate) current. The old CA certifies the new
key until the old CA expires, and stays in GET /api/v1/store/ca.pem until then: consumers pinned
to the old CA keep verifying every public repository; fetch ca.pem again to pin both.
`;

const FLAGS = { config: 'string', 'data-dir': 'string' } as const;

export async function ca(
  argv: readonly string[],
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; clock: Clock } = {
    stdout: process.stdout,
    stderr: process.stderr,
    clock: systemClock,
  }
): Promise<number> {
  if (wantsHelp(argv)) {
    io.stdout.write(CA_USAGE);
    return 0;
  }
  const [sub, ...rest] = argv;
  if (sub !== 'rotate') fail('USAGE', CA_USAGE);
  const p = parseArgs(rest, FLAGS);
  if (p.positionals.length > 0)
    fail('USAGE', `unexpected argument ${p.positionals[0]}\n\n${CA_USAGE}`);
  return withLocalStorage(
    { config: str(p, 'config'), dataDir: str(p, 'data-dir') },
    io.clock,
    async (local) => {
      if ((await local.storage.settings.get(CA_SETTING)) === null)
        fail(
          'USAGE',
          'this data has no store CA to rotate (is countersign.store configured and the server started once?)'
        );
      const { keyring, warning } = await local.keyring();
      if (warning) io.stderr.write(`warning: ${warning}\n`);
      const signer = new LocalSigner({
        keys: local.storage.keys,
        sealer: keyring,
        clock: io.clock,
        defaultAlgorithm: local.config.keyAlgorithm,
      });
      const settings = local.config.store ?? parseStoreSettings({});
      const { old, next } = await new StoreCa({
        storage: local.storage,
        signer,
        clock: io.clock,
        settings,
      }).rotate('operator');
      io.stdout.write(
        `store CA rotated: ${next.keyId} is current until ${next.notAfter}; ` +
          (next.cross
            ? `the old CA ${old.keyId} certifies it and stays in ca.pem until ${next.cross.notAfter}\n`
            : `the old CA ${old.keyId} had expired, so there is no overlap\n`)
      );
      return 0;
    }
  );
}
