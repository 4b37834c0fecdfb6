/**
 * The configuration document: the file (if any) plus environment overrides, checked against the
 * schema before anything else happens. Every mistake found is reported at once in one
 * CONFIG_INVALID error; unknown keys in notary-server's sections become one warning.
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { CountersignError, fail } from '../errors.js';
import { editDistance } from '../util/suggest.js';
import { applyOverrides, environmentOverrides } from './env.js';
import { parseJsonText } from './json-text.js';
import { CONFIG_SCHEMA } from './schema.js';
import { validate, type Findings } from './schema-kit.js';

/** A configuration file is a few kilobytes; anything this large is a mistake (a wrong path). */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

export interface ConfigDocument {
  /** File and environment merged, checked against the schema. */
  readonly doc: Readonly<Record<string, unknown>>;
  /** The file's absolute path, when one was given. */
  readonly file?: string;
  /** The environment variables that set keys. */
  readonly overrides: readonly string[];
  /** At most one: the notary-server keys Countersign ignores. */
  readonly warnings: readonly string[];
}

export function readConfigDocument(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string
): ConfigDocument {
  const path = file === undefined ? undefined : resolve(cwd, file);
  const raw = path === undefined ? {} : readFileDocument(path);
  const findings: Findings = { errors: [], ignored: [] };
  const overrides = environmentOverrides(env, CONFIG_SCHEMA, findings);
  const doc = applyOverrides(raw, overrides, findings);
  for (const k of Object.keys(doc)) {
    // A misspelt countersign section would otherwise be a mere warning and its settings lost.
    if (!(k in CONFIG_SCHEMA.fields) && looksLikeCountersign(k))
      findings.errors.push(`unknown section ${k} (did you mean "countersign"?)`);
  }
  validate(doc, CONFIG_SCHEMA, '', findings);
  if (findings.errors.length > 0) {
    const where = path === undefined ? 'the environment' : `${path} and the environment`;
    fail(
      'CONFIG_INVALID',
      findings.errors.length === 1
        ? findings.errors[0]
        : `${findings.errors.length} problems in ${where}:\n  ${findings.errors.join('\n  ')}`
    );
  }
  const warnings =
    findings.ignored.length === 0
      ? []
      : [
          `ignoring configuration keys Countersign does not use (notary-server sections): ${findings.ignored.join(', ')}`,
        ];
  return {
    doc,
    ...(path !== undefined ? { file: path } : {}),
    overrides: overrides.map((o) => o.variable),
    warnings,
  };
}

function looksLikeCountersign(key: string): boolean {
  return /counter|sign/i.test(key) || editDistance(key, 'countersign') <= 3;
}

function readFileDocument(path: string): Record<string, unknown> {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_CONFIG_BYTES)
      fail(
        'CONFIG_INVALID',
        `config ${path} is ${size} bytes; a configuration file is at most ${MAX_CONFIG_BYTES}`
      );
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof CountersignError) throw err;
    return fail(
      'CONFIG_INVALID',
      `cannot read config ${path}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err }
    );
  }
  const value = parseJsonText(text, path);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail('CONFIG_INVALID', `config ${path} must hold a JSON object`);
  return value as Record<string, unknown>;
}
