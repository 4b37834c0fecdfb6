/**
 * The storage and key ring `serve` would use, opened by an operator command (`import-notary`,
 * `adopt`) from the same `--config FILE` / `--data-dir DIR`: what such a command commits is
 * served at once by a running server, as after any commit.
 */
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { Keyring } from '../signer/keyring.js';
import { openStorage } from '../storage/index.js';
import type { Storage } from '../storage/types.js';
import type { Clock } from '../util/clock.js';

export interface LocalStorage {
  readonly config: Config;
  readonly storage: Storage;
  /** Opens the key ring as `serve` does (creating the key file on a first start, with a warning). */
  keyring(): Promise<{ keyring: Keyring; warning?: string }>;
}

export async function withLocalStorage<T>(
  where: { config?: string; dataDir?: string },
  clock: Clock,
  work: (local: LocalStorage) => Promise<T>
): Promise<T> {
  const config = loadConfig({ config: where.config, dataDir: where.dataDir });
  const storage = await openStorage(config.storage);
  try {
    return await work({
      config,
      storage,
      keyring: () =>
        Keyring.open({
          storage,
          passphrase: config.keys.passphrase,
          keyFile: config.keys.keyFile,
          dataDir: config.dataDir,
          clock,
          requireSecret: config.storage.backend === 'postgres',
        }),
    });
  } finally {
    await storage.close();
  }
}
