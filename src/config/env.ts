/**
 * Environment overrides of configuration keys (docs/config.md "Environment overrides").
 *
 * notary-server's sections: `NOTARY_SERVER_` + the key path with `.` → `_`, upper case, as
 * notary-server's viper set-up reads them (`NOTARY_SERVER_STORAGE_DB_URL` → `storage.db_url`).
 * The `countersign` section: `COUNTERSIGN__` + the path segments upper case, joined by `__`
 * (`COUNTERSIGN__STORE__APPROVALS` → `countersign.store.approvals`). The double underscore keeps
 * them apart from every other COUNTERSIGN_ variable (COUNTERSIGN_KEY_PASSPHRASE,
 * COUNTERSIGN_PASSWORD, …), which have one.
 *
 * A variable with either prefix that names no key is an error, never ignored; values are checked
 * by the same schema as the file's, and an empty variable counts as unset (as viper does).
 */
import { didYouMean } from '../util/suggest.js';
import {
  entries,
  overridable,
  validate,
  valueFromText,
  type Findings,
  type ObjectNode,
  type SchemaNode,
} from './schema-kit.js';

export const NOTARY_ENV_PREFIX = 'NOTARY_SERVER_';
export const COUNTERSIGN_ENV_PREFIX = 'COUNTERSIGN__';

export interface Override {
  readonly variable: string;
  readonly path: readonly string[];
  readonly value: unknown;
}

/** The variable that sets the key at `path` (`['storage', 'db_url']`). */
export function variableFor(path: readonly string[]): string {
  return path[0] === 'countersign'
    ? COUNTERSIGN_ENV_PREFIX +
        path
          .slice(1)
          .map((p) => p.toUpperCase())
          .join('__')
    : NOTARY_ENV_PREFIX + path.join('_').toUpperCase();
}

function variableTable(schema: ObjectNode): Map<string, { path: string[]; node: SchemaNode }> {
  const table = new Map<string, { path: string[]; node: SchemaNode }>();
  for (const e of entries(schema))
    table.set(variableFor(e.path), { path: [...e.path], node: e.node });
  return table;
}

/** The overrides `env` sets; problems (unknown variables, bad values) go to `out.errors`. */
export function environmentOverrides(
  env: NodeJS.ProcessEnv,
  schema: ObjectNode,
  out: Findings
): Override[] {
  const table = variableTable(schema);
  const settable = [...table].filter(([, e]) => overridable(e.node)).map(([name]) => name);
  const overrides: Override[] = [];
  for (const [variable, text] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
    if (!variable.startsWith(NOTARY_ENV_PREFIX) && !variable.startsWith(COUNTERSIGN_ENV_PREFIX))
      continue;
    if (text === undefined || text === '') continue;
    const entry = table.get(variable);
    if (!entry) {
      out.errors.push(
        `${variable} names no configuration key${didYouMean(variable, settable, false)}`
      );
      continue;
    }
    const key = entry.path.join('.');
    if (!overridable(entry.node)) {
      out.errors.push(
        `${variable}: ${key} is a ${entry.node.kind}; set it in the configuration file`
      );
      continue;
    }
    const value = valueFromText(text, entry.node);
    const problems: Findings = { errors: [], ignored: [] };
    validate(value, entry.node, key, problems);
    if (problems.errors.length > 0) {
      out.errors.push(...problems.errors.map((e) => `${variable}: ${e}`));
      continue;
    }
    overrides.push({ variable, path: entry.path, value });
  }
  return overrides;
}

/** `doc` with the overrides set (a copy; the file's objects are not changed). */
export function applyOverrides(
  doc: Readonly<Record<string, unknown>>,
  overrides: readonly Override[],
  out: Findings
): Record<string, unknown> {
  const root = structuredClone(doc) as Record<string, unknown>;
  for (const o of overrides) {
    let at = root;
    let ok = true;
    for (const [i, seg] of o.path.slice(0, -1).entries()) {
      const next = at[seg];
      if (next === undefined || next === null) at[seg] = {};
      else if (typeof next !== 'object' || Array.isArray(next)) {
        out.errors.push(
          `${o.variable}: ${o.path.slice(0, i + 1).join('.')} in the configuration file is not an object`
        );
        ok = false;
        break;
      }
      at = at[seg] as Record<string, unknown>;
    }
    if (ok) at[o.path[o.path.length - 1] as string] = o.value;
  }
  return root;
}
