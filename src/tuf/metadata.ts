/**
 * Notary's TUF dialect (docs/protocol.md §4): parsing the four role files, keeping the original bytes
 * next to the parsed value. Parsing names the offending field; the JSON object of `signed` is
 * kept whole (unknown fields included) because signatures are verified over its canonical
 * re-encoding, and stored files are served from `raw`, never re-serialized.
 */
import { isUtf8 } from 'node:buffer';
import { canonicalBytes } from '../canonical/encode.js';
import { MAX_JSON_DEPTH, nestsDeeperThan, parseJsonBytes } from '../canonical/parse.js';
import { fail, isCountersignError } from '../errors.js';
import { PublicKey } from '../crypto/keys.js';
import { isBase64 } from '../util/bytes.js';
import { parseExpires } from './time.js';
import { nonIntegerNumberPaths } from './json-numbers.js';
import { BASE_ROLES, type BaseRole } from './names.js';
import { checkFieldNames, FIELDS } from './field-names.js';

export type JsonObject = Record<string, unknown>;

export interface Signature {
  readonly keyid: string;
  readonly method: string;
  readonly sig: string;
}

export type RoleType = 'Root' | 'Targets' | 'Snapshot' | 'Timestamp';

/** Fields every `signed` object has. */
export interface SignedCommon {
  readonly type: RoleType;
  readonly version: number;
  readonly expires: Date;
}

export interface RoleKeys {
  readonly keyids: readonly string[];
  readonly threshold: number;
}

export interface Root extends SignedCommon {
  readonly type: 'Root';
  readonly consistentSnapshot: boolean;
  /** Keys by the ID the metadata declares (which may differ from the key's computed ID). */
  readonly keys: ReadonlyMap<string, PublicKey>;
  readonly roles: Readonly<Record<BaseRole, RoleKeys>>;
}

export interface FileMeta {
  readonly length: number;
  /** Algorithm → standard base64 digest, as in the metadata. */
  readonly hashes: Readonly<Record<string, string>>;
  /** Raw JSON of `custom`, when present. */
  readonly custom?: unknown;
}

export interface DelegatedRole extends RoleKeys {
  readonly name: string;
  /** `undefined` when absent: such a role can sign nothing. */
  readonly paths: readonly string[] | undefined;
}

export interface Targets extends SignedCommon {
  readonly type: 'Targets';
  readonly targets: ReadonlyMap<string, FileMeta>;
  readonly delegations: {
    readonly keys: ReadonlyMap<string, PublicKey>;
    readonly roles: readonly DelegatedRole[];
  };
}

export interface Snapshot extends SignedCommon {
  readonly type: 'Snapshot';
  readonly meta: ReadonlyMap<string, FileMeta>;
}

export interface Timestamp extends SignedCommon {
  readonly type: 'Timestamp';
  readonly meta: ReadonlyMap<string, FileMeta>;
}

export type AnySigned = Root | Targets | Snapshot | Timestamp;

/** A parsed role file: the exact bytes, the typed view, and the raw `signed` object. */
export class SignedFile<T extends AnySigned = AnySigned> {
  private canonicalCache: Buffer | undefined;
  private json: JsonObject | (() => JsonObject);
  /**
   * `signedJSON` may be a function producing it on first use, and `canonical` may be given: a
   * file parsed in a worker thread (src/notary/validate-worker.ts) arrives with its canonical
   * bytes and without its large JSON tree, which is rebuilt from `raw` only if someone asks.
   */
  constructor(
    readonly raw: Buffer,
    readonly signed: T,
    signedJSON: JsonObject | (() => JsonObject),
    readonly signatures: readonly Signature[],
    canonical?: Buffer
  ) {
    this.json = signedJSON;
    this.canonicalCache = canonical;
  }

  /** The raw JSON object of `signed`, unknown fields included. */
  get signedJSON(): JsonObject {
    if (typeof this.json === 'function') this.json = this.json();
    return this.json;
  }

  /** The bytes signatures are over: canonical JSON of `signed`, re-encoded as notary's verifier does. */
  canonical(): Buffer {
    return (this.canonicalCache ??= canonicalBytes(this.signedJSON));
  }
}

/**
 * The largest version an upload may jump to: far from int32 overflow (where notary's clients and
 * SQL schemas break). Above it a role only steps by one, up to MAX_STEPPED_VERSION, so no upload
 * can leave a repository at a version from which the next one is refused (src/notary/update.ts).
 */
export const MAX_VERSION = 2 ** 30;

/** The int32 limit: the highest version reached by stepping one at a time from MAX_VERSION. */
export const MAX_STEPPED_VERSION = 2 ** 31 - 1;

/**
 * notary's parse phase (docs/protocol.md §2.2 step 3): Go's encoding/json decoding a part into
 * `{signed:{_type, expires, version}, signatures:[{keyid, method, sig}]}`. Only a syntax error or
 * a value of the wrong JSON type fails it (MALFORMED_JSON); absent or null fields and unknown
 * fields pass, names match case-insensitively, invalid UTF-8 becomes U+FFFD and a BOM is a syntax
 * error. What passes here and is still not a valid role file is the role's validation's to reject
 * (INVALID_UPDATE), as in notary.
 */
export function goDecodesAsSignedMeta(raw: Buffer): boolean {
  let doc: unknown;
  let text: string;
  // notary-server refuses over 10,000 levels; Countersign over MAX_JSON_DEPTH (src/canonical/parse.ts), before parsing.
  if (nestsDeeperThan(raw, MAX_JSON_DEPTH)) return false;
  try {
    text = goText.decode(raw);
    doc = JSON.parse(text);
  } catch {
    return false;
  }
  // Go decodes `version` into an int: `2.0` or `2e0` is a decode error there (Go matches keys case-insensitively).
  const inexact = nonIntegerNumberPaths(text);
  if (inexact.some((p) => p.toLowerCase() === 'signed.version')) return false;
  if (!goDecodesFields(doc)) return false;
  // Valid UTF-8 (so `text` is what the strict decoder reads) and no BOM (JSON.parse refused one
  // above): the role's parse of these bytes would decode and parse exactly this again.
  if (isUtf8(raw)) decodedUploads.set(raw, { doc, inexact });
  return true;
}

/** The shape check of the parse phase over the decoded document (see goDecodesAsSignedMeta). */
function goDecodesFields(doc: unknown): boolean {
  const fields = (v: unknown, each: (name: string, value: unknown) => boolean): boolean => {
    if (v === null) return true;
    if (typeof v !== 'object' || Array.isArray(v)) return false;
    return Object.entries(v as Record<string, unknown>).every(
      ([k, x]) => x === null || each(k.toLowerCase(), x)
    );
  };
  const signed = (name: string, v: unknown): boolean => {
    if (name === '_type') return typeof v === 'string';
    if (name === 'version')
      return typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2 ** 63;
    if (name !== 'expires') return true;
    try {
      parseExpires(v, 'expires');
      return true;
    } catch {
      return false;
    }
  };
  const signature = (name: string, v: unknown): boolean => {
    if (name === 'keyid' || name === 'method') return typeof v === 'string';
    return name !== 'sig' || (typeof v === 'string' && isBase64(v));
  };
  return fields(doc, (name, v) => {
    if (name === 'signed') return fields(v, signed);
    if (name === 'signatures') return Array.isArray(v) && v.every((s) => fields(s, signature));
    return true;
  });
}

/**
 * Uploads that passed the parse phase, with what it decoded: the document and where it writes
 * non-integer numbers. Every upload is decoded twice otherwise, once as Go's parse phase reads it
 * and once by its role's parse (parseEnvelope); for bytes on which both decodes are the same
 * (valid UTF-8, no BOM), the role's parse takes this one instead, once (it is deleted when taken,
 * and never outlives the bytes). That halves the JSON work of an ordinary publish
 * (docs/performance.md "Publishing").
 */
const decodedUploads = new WeakMap<Buffer, { doc: unknown; inexact: string[] }>();

/** The parse phase's decode of `raw`, if it left one; taken once. */
function takeDecoded(raw: Buffer): { doc: unknown; inexact: string[] } | undefined {
  const decoded = decodedUploads.get(raw);
  if (decoded) decodedUploads.delete(raw);
  return decoded;
}

const goText = new TextDecoder('utf-8', { ignoreBOM: true });

/** Step one for any role file: valid UTF-8 JSON shaped `{signed:{_type, expires, version}, signatures:[…]}`. */
export function parseEnvelope(raw: Buffer): {
  signedJSON: JsonObject;
  signatures: Signature[];
  type: string;
  version: number;
  expires: Date;
} {
  const decoded = takeDecoded(raw);
  let doc: unknown;
  try {
    doc = decoded ? decoded.doc : parseJsonBytes(raw);
  } catch (err) {
    if (isCountersignError(err, 'JSON_TOO_DEEP')) fail('META_SHAPE', err.message, { cause: err });
    fail('META_SHAPE', 'not valid UTF-8 JSON', { cause: err });
  }
  const env = object(doc, 'metadata');
  checkFieldNames(env, FIELDS.envelope, 'metadata');
  const inexact = decoded ? decoded.inexact : nonIntegerNumberPaths(raw.toString('utf8'));
  if (inexact.length > 0)
    fail('META_SHAPE', `${inexact[0]} must be an integer written without a fraction or exponent`);
  const signedJSON = object(env.signed, 'signed');
  checkFieldNames(signedJSON, FIELDS.common, 'signed');
  const sigs = env.signatures;
  if (!Array.isArray(sigs)) fail('META_SHAPE', 'signatures must be an array');
  const signatures = sigs.map((s, i) => {
    const o = object(s, `signatures[${i}]`);
    checkFieldNames(o, FIELDS.signature, `signatures[${i}]`);
    const keyid = string(o.keyid, `signatures[${i}].keyid`);
    const method = string(o.method, `signatures[${i}].method`);
    const sig = string(o.sig, `signatures[${i}].sig`);
    return { keyid, method, sig };
  });
  const type = string(signedJSON._type, 'signed._type');
  const version = integer(signedJSON.version, 'signed.version');
  const expires = parseExpires(signedJSON.expires, 'signed.expires');
  return { signedJSON, signatures, type, version, expires };
}

export function parseRoot(raw: Buffer): SignedFile<Root> {
  const env = parseEnvelope(raw);
  const s = env.signedJSON;
  expectType(env.type, 'Root');
  checkFieldNames(s, FIELDS.root, 'signed');
  const keys = keyMap(s.keys, 'signed.keys');
  const rolesJSON = object(s.roles, 'signed.roles');
  const roles = {} as Record<BaseRole, RoleKeys>;
  for (const name of BASE_ROLES) {
    if (rolesJSON[name] === undefined || rolesJSON[name] === null)
      fail('META_SHAPE', `signed.roles.${name} is missing`);
    roles[name] = roleKeys(rolesJSON[name], `signed.roles.${name}`);
  }
  for (const [name, r] of Object.entries(rolesJSON))
    if (!(name in roles)) roleKeys(r, `signed.roles.${name}`);
  const cs = s.consistent_snapshot;
  if (cs !== undefined && typeof cs !== 'boolean')
    fail('META_SHAPE', 'signed.consistent_snapshot must be a boolean');
  const signed: Root = {
    type: 'Root',
    version: env.version,
    expires: env.expires,
    consistentSnapshot: cs === true,
    keys,
    roles,
  };
  return new SignedFile(raw, signed, s, env.signatures);
}

export function parseTargets(raw: Buffer): SignedFile<Targets> {
  const env = parseEnvelope(raw);
  const s = env.signedJSON;
  expectType(env.type, 'Targets');
  checkFieldNames(s, FIELDS.targets, 'signed');
  const targets = new Map<string, FileMeta>();
  if (s.targets !== undefined && s.targets !== null) {
    for (const [name, m] of Object.entries(object(s.targets, 'signed.targets')))
      targets.set(name, fileMeta(m, `signed.targets[${JSON.stringify(name)}]`));
  }
  let dKeys = new Map<string, PublicKey>();
  const dRoles: DelegatedRole[] = [];
  if (s.delegations !== undefined && s.delegations !== null) {
    const d = object(s.delegations, 'signed.delegations');
    checkFieldNames(d, FIELDS.delegations, 'signed.delegations');
    if (d.keys !== undefined && d.keys !== null) dKeys = keyMap(d.keys, 'signed.delegations.keys');
    if (d.roles !== undefined && d.roles !== null) {
      if (!Array.isArray(d.roles)) fail('META_SHAPE', 'signed.delegations.roles must be an array');
      d.roles.forEach((r, i) => {
        const where = `signed.delegations.roles[${i}]`;
        const o = object(r, where);
        checkFieldNames(o, FIELDS.delegatedRole, where);
        const name = string(o.name, `${where}.name`);
        let paths: string[] | undefined;
        if (o.paths !== undefined && o.paths !== null) {
          if (!Array.isArray(o.paths) || !o.paths.every((p) => typeof p === 'string'))
            fail('META_SHAPE', `${where}.paths must be an array of strings`);
          paths = o.paths;
        }
        dRoles.push({ name, paths, ...roleKeys(o, where, FIELDS.delegatedRole) });
      });
    }
  }
  const signed: Targets = {
    type: 'Targets',
    version: env.version,
    expires: env.expires,
    targets,
    delegations: { keys: dKeys, roles: dRoles },
  };
  return new SignedFile(raw, signed, s, env.signatures);
}

export function parseSnapshot(raw: Buffer): SignedFile<Snapshot> {
  const env = parseEnvelope(raw);
  expectType(env.type, 'Snapshot');
  checkFieldNames(env.signedJSON, FIELDS.snapshot, 'signed');
  const signed: Snapshot = {
    type: 'Snapshot',
    version: env.version,
    expires: env.expires,
    meta: metaMap(env.signedJSON.meta),
  };
  return new SignedFile(raw, signed, env.signedJSON, env.signatures);
}

export function parseTimestamp(raw: Buffer): SignedFile<Timestamp> {
  const env = parseEnvelope(raw);
  expectType(env.type, 'Timestamp');
  checkFieldNames(env.signedJSON, FIELDS.timestamp, 'signed');
  const signed: Timestamp = {
    type: 'Timestamp',
    version: env.version,
    expires: env.expires,
    meta: metaMap(env.signedJSON.meta),
  };
  return new SignedFile(raw, signed, env.signedJSON, env.signatures);
}

/** Parses a stored or uploaded file by its role name. */
export function parseRole(role: string, raw: Buffer): SignedFile {
  switch (role) {
    case 'root':
      return parseRoot(raw);
    case 'snapshot':
      return parseSnapshot(raw);
    case 'timestamp':
      return parseTimestamp(raw);
    default:
      return parseTargets(raw);
  }
}

function metaMap(json: unknown): Map<string, FileMeta> {
  const out = new Map<string, FileMeta>();
  for (const [name, m] of Object.entries(object(json, 'signed.meta')))
    out.set(name, fileMeta(m, `signed.meta[${JSON.stringify(name)}]`));
  return out;
}

export function fileMeta(json: unknown, where: string): FileMeta {
  const o = object(json, where);
  checkFieldNames(o, FIELDS.fileMeta, where);
  const length = integer(o.length, `${where}.length`);
  if (length < 0) fail('META_SHAPE', `${where}.length must not be negative`);
  const hashes: Record<string, string> = {};
  for (const [alg, h] of Object.entries(object(o.hashes, `${where}.hashes`))) {
    // Checked, not decoded: every target names two digests, and nothing here needs their bytes.
    if (typeof h !== 'string' || !isBase64(h))
      fail('META_SHAPE', `${where}.hashes.${alg} must be base64`);
    hashes[alg] = h;
  }
  return o.custom === undefined ? { length, hashes } : { length, hashes, custom: o.custom };
}

/** A `keys` map (exact IDs, as Go's map) of key objects (struct fields, as Go's TUFKey). */
function keyMap(json: unknown, where: string): Map<string, PublicKey> {
  const keys = new Map<string, PublicKey>();
  for (const [id, k] of Object.entries(object(json, where))) {
    const o = object(k, `${where}.${id}`);
    checkFieldNames(o, FIELDS.key, `${where}.${id}`);
    if (typeof o.keyval === 'object' && o.keyval !== null && !Array.isArray(o.keyval))
      checkFieldNames(o.keyval as JsonObject, FIELDS.keyval, `${where}.${id}.keyval`);
    keys.set(id, PublicKey.fromJSON(o, `${where}.${id}`));
  }
  return keys;
}

/** `keyids` and `threshold`, of a root role (whose field names are checked here) or of a delegated role (checked by the caller). */
function roleKeys(
  json: unknown,
  where: string,
  fields: readonly string[] = FIELDS.rootRole
): RoleKeys {
  const o = object(json, where);
  checkFieldNames(o, fields, where);
  if (!Array.isArray(o.keyids) || !o.keyids.every((k) => typeof k === 'string'))
    fail('META_SHAPE', `${where}.keyids must be an array of strings`);
  return { keyids: o.keyids, threshold: integer(o.threshold, `${where}.threshold`) };
}

function expectType(actual: string, expected: RoleType): void {
  if (actual !== expected)
    fail('META_TYPE', `expected _type ${expected}, got ${JSON.stringify(actual)}`);
}

function object(v: unknown, where: string): JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    fail('META_SHAPE', `${where} must be an object`);
  return v as JsonObject;
}

function string(v: unknown, where: string): string {
  if (typeof v !== 'string') fail('META_SHAPE', `${where} must be a string`);
  return v;
}

function integer(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v))
    fail('META_SHAPE', `${where} must be an integer`);
  return v;
}
