/**
 * Configuration mistakes that the app itself would find only after the database or the data
 * dir were touched. `serve` and `config check` run these right after reading the
 * configuration, so a refused start writes nothing (docs/config.md "Nothing is written").
 */
import type { Config } from '../config/types.js';
import { fail } from '../errors.js';
import { schedulerSettings } from '../freshness/config.js';

export function preflight(config: Config): void {
  // The scheduler's settings are read again by the app; here only to fail before storage opens.
  schedulerSettings({ expiry: config.expiry, countersign: config.countersign });
  if (config.storage.backend === 'postgres' && !config.keys.passphrase && !config.keys.keyFile)
    fail(
      'CONFIG_INVALID',
      'set COUNTERSIGN_KEY_PASSPHRASE or countersign.keys.keyFile: with PostgreSQL every instance must decrypt every key'
    );
}
