/**
 * The small schema language the configuration file is described in (src/config/schema.ts).
 *
 * One description serves four readers: validation (unknown keys and types), environment
 * overrides (which keys can be set from a variable, and how its text becomes a value), masking
 * of secrets for `countersign config check`, and the key table of docs/config.md. A schema
 * library would cover the first; the other three need metadata on every key anyway, so the
 * description is plain data and the walks over it live here.
 */
import { parseDuration } from '../util/duration.js';
import { isCountersignError } from '../errors.js';
import { didYouMean } from '../util/suggest.js';

interface Common {
  /** One sentence for docs/config.md. */
  readonly doc: string;
  /** The value used when the key is absent (a JSON value), shown by `config check`. */
  readonly default?: unknown;
  /** How the default reads in the docs when it is computed rather than fixed. */
  readonly defaultText?: string;
  /** `all`: never printed; `url-password`: the password inside a URL is never printed. */
  readonly secret?: 'all' | 'url-password';
}

export type LeafKind =
  'string' | 'integer' | 'number' | 'boolean' | 'duration' | 'strings' | 'scalar';

export interface LeafNode extends Common {
  readonly kind: LeafKind;
  readonly min?: number;
  readonly max?: number;
}

export interface ObjectNode extends Common {
  readonly kind: 'object';
  readonly fields: Readonly<Record<string, SchemaNode>>;
  /** Unknown keys below a strict object are errors; below a lenient one, warnings. */
  readonly strict: boolean;
  /** Its presence means something (an endpoint, an auth section): no defaults are filled in. */
  readonly presence?: boolean;
  /** `true` (or `false`) may stand for the whole object: on with every default, or off. */
  readonly orBoolean?: boolean;
}

/** A list of objects (zones): each item is checked, none is overridable from the environment. */
export interface ListNode extends Common {
  readonly kind: 'list';
  readonly item: ObjectNode;
}

/** An object whose keys are data (GUN prefixes, severities), each value checked by `value`. */
export interface MapNode extends Common {
  readonly kind: 'map';
  readonly value: SchemaNode;
  /** Allowed keys, when they are a fixed set (severities); the values are still data. */
  readonly keys?: readonly string[];
  readonly keyDoc: string;
}

export type SchemaNode = LeafNode | ObjectNode | ListNode | MapNode;

// ---- builders: the schema file reads as a table --------------------------------------------

type LeafOptions = Omit<LeafNode, 'kind' | 'doc'>;
const leaf =
  (kind: LeafKind) =>
  (doc: string, options: LeafOptions = {}): LeafNode => ({ kind, doc, ...options });

export const string = leaf('string');
export const integer = leaf('integer');
export const number = leaf('number');
export const boolean = leaf('boolean');
export const duration = leaf('duration');
export const strings = leaf('strings');
/** A string or a number (notary-server reads some keys either way, e.g. trust_service.port). */
export const scalar = leaf('scalar');

const objectOf =
  (strict: boolean) =>
  (
    doc: string,
    fields: Record<string, SchemaNode>,
    options: { presence?: boolean; orBoolean?: boolean } = {}
  ): ObjectNode => ({ kind: 'object', doc, fields, strict, ...options });

/** A Countersign object: unknown keys below it stop the server. */
export const group = objectOf(true);

/** A notary-server object: unknown keys below it are warned about (notary-server ignores them). */
export const notarySection = objectOf(false);

export function listOf(doc: string, item: ObjectNode): ListNode {
  return { kind: 'list', doc, item };
}

export function mapOf(
  doc: string,
  keyDoc: string,
  value: SchemaNode,
  keys?: readonly string[]
): MapNode {
  return { kind: 'map', doc, keyDoc, value, ...(keys ? { keys } : {}) };
}

// ---- validation ----------------------------------------------------------------------------

export interface Findings {
  /** Each names the full key path; any one stops the server. */
  readonly errors: string[];
  /** Unknown keys in lenient (notary-server) objects: one warning lists them all. */
  readonly ignored: string[];
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string')
    return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** Checks `value` against `node`; `path` names it (`countersign.store`). null means absent. */
export function validate(value: unknown, node: SchemaNode, path: string, out: Findings): void {
  if (value === undefined || value === null) return;
  if (node.kind === 'object') return validateObject(value, node, path, out);
  if (node.kind === 'list') {
    if (!Array.isArray(value))
      return void out.errors.push(`${path} must be a list (got ${describe(value)})`);
    value.forEach((item: unknown, i) => {
      if (!isObject(item))
        out.errors.push(`${path}[${i}] must be an object (got ${describe(item)})`);
      else validateObject(item, node.item, `${path}[${i}]`, out);
    });
    return;
  }
  if (node.kind === 'map') {
    if (!isObject(value))
      return void out.errors.push(`${path} must be an object (got ${describe(value)})`);
    for (const [k, v] of Object.entries(value)) {
      if (node.keys && !node.keys.includes(k)) {
        out.errors.push(
          `unknown key ${path}.${k}${didYouMean(k, node.keys)}: ${node.keyDoc} must be one of ${node.keys.join(', ')}`
        );
      } else validate(v, node.value, `${path}.${k}`, out);
    }
    return;
  }
  const problem = leafProblem(value, node, path);
  if (problem !== null) out.errors.push(problem);
}

function validateObject(value: unknown, node: ObjectNode, path: string, out: Findings): void {
  if (node.orBoolean && typeof value === 'boolean') return;
  if (!isObject(value)) {
    const want = node.orBoolean ? 'true, false or an object' : 'an object';
    return void out.errors.push(`${path} must be ${want} (got ${describe(value)})`);
  }
  const known = Object.keys(node.fields);
  for (const [k, v] of Object.entries(value)) {
    const child = node.fields[k];
    const where = path === '' ? k : `${path}.${k}`;
    if (child) validate(v, child, where, out);
    else if (node.strict) out.errors.push(`unknown key ${where}${didYouMean(k, known)}`);
    else out.ignored.push(`${where}${didYouMean(k, known)}`);
  }
}

const KIND_TEXT: Record<LeafKind, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  duration: 'a DURATION string such as "14d"',
  strings: 'a list of strings',
  scalar: 'a string or a number',
};

function leafProblem(v: unknown, node: LeafNode, path: string): string | null {
  const wrong =
    node.kind === 'integer' && node.min === 0 && node.max === undefined
      ? `${path} must be a non-negative integer`
      : `${path} must be ${KIND_TEXT[node.kind]}`;
  switch (node.kind) {
    case 'string':
      return typeof v === 'string' ? null : `${wrong} (got ${describe(v)})`;
    case 'scalar':
      return typeof v === 'string' || typeof v === 'number'
        ? null
        : `${wrong} (got ${describe(v)})`;
    case 'boolean':
      return typeof v === 'boolean' ? null : `${wrong} (got ${describe(v)})`;
    case 'strings':
      return Array.isArray(v) && v.every((x) => typeof x === 'string')
        ? null
        : `${wrong} (got ${describe(v)})`;
    case 'duration':
      if (typeof v !== 'string') return `${wrong} (got ${describe(v)})`;
      try {
        parseDuration(v, path);
        return null;
      } catch (err) {
        if (isCountersignError(err)) return err.message;
        throw err;
      }
    case 'integer':
    case 'number': {
      const ok =
        typeof v === 'number' &&
        (node.kind === 'number' ? Number.isFinite(v) : Number.isSafeInteger(v));
      const lo = node.min ?? -Infinity;
      const hi = node.max ?? Infinity;
      if (ok && v >= lo && v <= hi) return null;
      const range =
        node.kind === 'integer' && node.min === 0 && node.max === undefined
          ? ''
          : node.min !== undefined && node.max !== undefined
            ? ` from ${node.min} to ${node.max}`
            : node.min !== undefined
              ? ` of at least ${node.min}`
              : node.max !== undefined
                ? ` of at most ${node.max}`
                : '';
      return `${wrong}${range} (got ${describe(v)})`;
    }
  }
}

// ---- walking the leaves (environment overrides, docs) ----------------------------------------

export interface LeafEntry {
  readonly path: readonly string[];
  readonly node: SchemaNode;
}

/**
 * Every key of the schema in document order, depth first: objects and their fields; lists and
 * maps as one entry each (their insides are data).
 */
export function entries(node: ObjectNode, prefix: readonly string[] = []): LeafEntry[] {
  const out: LeafEntry[] = [];
  for (const [k, child] of Object.entries(node.fields)) {
    const path = [...prefix, k];
    out.push({ path, node: child });
    if (child.kind === 'object') out.push(...entries(child, path));
  }
  return out;
}

/** Whether a key can be set from an environment variable: a single value, not a structure. */
export function overridable(node: SchemaNode): node is LeafNode {
  return node.kind !== 'object' && node.kind !== 'list' && node.kind !== 'map';
}

/**
 * The value an environment variable's text stands for, read as viper reads it for notary-server
 * (numbers and booleans from their text, lists split on white space) and also as JSON for a
 * list (`["a/","b/"]`). Text that does not fit is kept as text, so validation names the problem.
 */
export function valueFromText(text: string, node: LeafNode): unknown {
  const t = text.trim();
  if (node.kind === 'integer' || node.kind === 'number')
    return /^-?\d+(\.\d+)?$/.test(t) ? Number(t) : text;
  if (node.kind === 'boolean') {
    if (/^(true|1)$/i.test(t)) return true;
    if (/^(false|0)$/i.test(t)) return false;
    return text;
  }
  if (node.kind === 'strings') {
    if (!t.startsWith('[')) return t.split(/\s+/).filter((s) => s !== '');
    try {
      return JSON.parse(t) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

// ---- defaults and masking --------------------------------------------------------------------

/** A copy of `doc` with every absent key that has a fixed default filled in. */
export function withDefaults(doc: unknown, node: ObjectNode): Json {
  const src = isObject(doc) ? doc : {};
  const out: Json = { ...src };
  for (const [k, child] of Object.entries(node.fields)) {
    const present = src[k] !== undefined && src[k] !== null;
    if (child.kind === 'object' && child.orBoolean && typeof src[k] === 'boolean') {
      out[k] = src[k];
    } else if (child.kind === 'object') {
      if (present || !child.presence) {
        const filled = withDefaults(src[k], child);
        if (present || Object.keys(filled).length > 0) out[k] = filled;
      }
    } else if (!present && child.default !== undefined) out[k] = child.default;
  }
  return out;
}

export const MASK = '********';

/** A copy of `doc` with every secret replaced by ******** (URL passwords inside the URL). */
export function masked(doc: unknown, node: SchemaNode): unknown {
  if (doc === undefined || doc === null) return doc;
  if (node.secret === 'all') return typeof doc === 'string' && doc === '' ? doc : MASK;
  if (node.secret === 'url-password' && typeof doc === 'string') return maskUrlPassword(doc);
  if (node.kind === 'object' && isObject(doc)) {
    const out: Json = {};
    for (const [k, v] of Object.entries(doc)) {
      const child = node.fields[k];
      // Unknown keys are printed as their owner wrote them, except anything that looks secret.
      out[k] = child ? masked(v, child) : /pass|secret|token|key/i.test(k) ? MASK : v;
    }
    return out;
  }
  if (node.kind === 'list' && Array.isArray(doc))
    return doc.map((item: unknown) => masked(item, node.item));
  if (node.kind === 'map' && isObject(doc))
    return Object.fromEntries(Object.entries(doc).map(([k, v]) => [k, masked(v, node.value)]));
  return doc;
}

/**
 * `postgres://user:secret@host/db` → `postgres://user:********@host/db`, and `password=…` in a
 * query or a key=value connection string; other text unchanged.
 */
export function maskUrlPassword(text: string): string {
  return text
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@?#]*):[^@/?#]*@/i, `$1:${MASK}@`)
    .replace(/(\bpassword=)[^\s&]*/gi, `$1${MASK}`);
}
