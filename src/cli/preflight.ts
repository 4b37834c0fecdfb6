/**
 * Configuration mistakes that the app itself would find only after the database or the data
 * dir were touched. `serve` and `config check` run these right after reading the
 * configuration, so a refused start writes nothing (docs/config.md "Nothing is written").
 */
import { accessSync, constants } from 'node:fs';
import type { Config } from '../config/types.js';
import { fail } from '../errors.js';
import { schedulerSettings } from '../freshness/config.js';
import { uiSettings } from '../ui/settings.js';

export function preflight(config: Config): void {
  // The scheduler's settings are read again by the app; here only to fail before storage opens.
  schedulerSettings({ expiry: config.expiry, countersign: config.countersign });
  uiSettings(config.countersign);
  if (config.storage.backend === 'postgres' && !config.keys.passphrase && !config.keys.keyFile)
    fail(
      'CONFIG_INVALID',
      'set COUNTERSIGN_KEY_PASSPHRASE or a key file (countersign.keys.keyFile): with PostgreSQL every instance must decrypt every key'
    );
  for (const [what, path] of filesRead(config)) {
    try {
      accessSync(path, constants.R_OK);
    } catch (err) {
      fail('CONFIG_INVALID', `${what} ${path} cannot be read`, { cause: err });
    }
  }
}

/** The files the server reads after it has opened storage, each with the setting that names it. */
function filesRead(config: Config): [string, string][] {
  const files: [string, string][] = [];
  if (config.tls.mode === 'files') {
    files.push(['the TLS certificate (--tls-cert, server.tls_cert_file)', config.tls.certFile]);
    files.push(['the TLS key (--tls-key, server.tls_key_file)', config.tls.keyFile]);
    if (config.tls.clientCaFile) files.push(['server.client_ca_file', config.tls.clientCaFile]);
  }
  if (config.externalAuth)
    files.push(['auth.options.rootcertbundle', config.externalAuth.rootCertBundle]);
  return files;
}
