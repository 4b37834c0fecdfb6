/**
 * `countersign config check`: reads a configuration as `serve` would (file, environment
 * overrides, every check that needs no database) and prints the effective configuration as JSON,
 * defaults filled in and secrets masked. Exit 0 when it is valid; otherwise the error, exit 1.
 */
import { readConfig } from '../config/load.js';
import { CONFIG_SCHEMA } from '../config/schema.js';
import { jsonSchema } from '../config/schema-doc.js';
import { masked, maskUrlPassword, withDefaults } from '../config/schema-kit.js';
import { fail } from '../errors.js';
import { bool, parseArgs, str } from './args.js';
import { preflight } from './preflight.js';

export const CONFIG_USAGE = `Usage: countersign config check [--config FILE | -config FILE] [--data-dir DIR] [--db-url URL]
       countersign config schema      print a JSON Schema of the file, for editors

Checks a configuration file with the environment overrides applied (NOTARY_SERVER_<SECTION>_<KEY>,
COUNTERSIGN__<SECTION>__<KEY>) exactly as \`countersign serve\` reads it, and prints the effective
configuration as JSON (defaults filled in, passwords and passphrases masked). Exit status 0 when
it is valid, 1 with the error when it is not. Keys of reference: docs/config.md.
`;

export function configCommand(
  argv: readonly string[],
  out: NodeJS.WritableStream = process.stdout
): number {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    out.write(CONFIG_USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub === 'schema') {
    out.write(JSON.stringify(jsonSchema(), null, 2) + '\n');
    return 0;
  }
  if (sub !== 'check')
    fail(
      'USAGE',
      `unknown config command ${JSON.stringify(sub)} (check or schema)\n\n${CONFIG_USAGE}`
    );
  const p = parseArgs(
    rest,
    { config: 'string', 'data-dir': 'string', 'db-url': 'string', help: 'boolean' },
    { singleDash: ['config'] }
  );
  if (bool(p, 'help')) {
    out.write(CONFIG_USAGE);
    return 0;
  }
  if (p.positionals.length > 0)
    fail(
      'USAGE',
      `config check takes no arguments, but got ${JSON.stringify(p.positionals[0])}: use --config FILE`
    );
  const { config, document, warnings } = readConfig({
    config: str(p, 'config'),
    dataDir: str(p, 'data-dir'),
    dbUrl: str(p, 'db-url'),
  });
  preflight(config);
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  const effective = withDefaults(document.doc, CONFIG_SCHEMA);
  // What the environment decides in the end (the key passphrase is not a configuration key).
  const countersign = (effective.countersign ?? {}) as Record<string, unknown>;
  const keys = (countersign.keys ?? {}) as Record<string, unknown>;
  if (config.keys.passphrase !== undefined) keys.passphrase = config.keys.passphrase;
  countersign.keys = keys;
  effective.countersign = countersign;
  const storage =
    config.storage.backend === 'sqlite'
      ? { backend: 'sqlite', path: config.storage.path }
      : { backend: 'postgres', url: maskUrlPassword(config.storage.url) };
  const report = {
    valid: true,
    file: document.file ?? null,
    environment: document.overrides,
    warnings,
    // After flags and path resolution: what `serve` would use.
    resolved: {
      listen: `${config.listen.host}:${config.listen.port}`,
      dataDir: config.dataDir,
      tls: config.tls.mode,
      storage,
    },
    config: masked(effective, CONFIG_SCHEMA),
  };
  out.write(JSON.stringify(report, null, 2) + '\n');
  return 0;
}
