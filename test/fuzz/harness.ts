/**
 * Property-based fuzzing of everything a client can send (fast-check), against the real
 * composition root (`createApp`) listening on 127.0.0.1 over a temporary SQLite database.
 *
 * Properties, for every generated request:
 * - the answer is never a 5xx and the connection is never dropped without an answer;
 * - a refused request leaves the database exactly as it was (every table's rows, hashed);
 * - an accepted upload leaves a repository that a fresh, real notary CLI lists (when
 *   `notaryCheck` is on: each check costs a process, so the bounded run in `npm test` samples);
 * - the server keeps answering (a health GET after every case).
 *
 * Targets: `upload` (mutated, correctly signed metadata for a repository made like the notary
 * client makes one), `read` (GUNs and role names with traversal, encodings, NUL, very long
 * names), `store` (every store API route with hostile bodies and ids), `token` (`/auth/token`
 * parameters, Basic headers, scopes). `test/fuzz/fuzz.test.ts` runs each briefly with a fixed
 * seed; `npm run fuzz -- --runs 10000` gives the figures in README "Reliability".
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { rawRequest } from '../helpers/raw-http.js';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { inProcessApp, multipart, type InProcessApp } from '../helpers/app.js';
import { serverUnderTest, type ServerUnderTest } from '../helpers/server-under-test.js';
import { ManualClock } from '../../src/util/clock.js';
import { PublicKey } from '../../src/crypto/keys.js';
import { canonicalBytes } from '../../src/canonical/encode.js';
import type { JsonObject } from '../../src/tuf/metadata.js';

/** Any JSON value (the metadata module types objects only). */
export type JsonValue = unknown;
import {
  plainKey,
  rootSigned,
  sign,
  targetsSigned,
  x509Key,
  type TestKey,
} from '../helpers/tuf-builder.js';

export type FuzzTarget = 'upload' | 'read' | 'store' | 'token';

export interface FuzzOptions {
  readonly runs: number;
  readonly seed: number;
  /** Run the real notary CLI over the repository after this share of accepted uploads (0 … 1). */
  readonly notaryCheckShare: number;
}

export interface FuzzReport {
  readonly target: FuzzTarget;
  readonly cases: number;
  readonly accepted: number;
  readonly refused: number;
  readonly notaryChecks: number;
  /** fast-check's report of the first counterexample (shrunk), or null. */
  readonly failure: string | null;
  readonly durationMs: number;
}

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** The server under fuzz: the app, a listening socket and the database file. */
export class FuzzServer {
  private constructor(
    readonly app: InProcessApp,
    private readonly server: Server,
    readonly sut: ServerUnderTest,
    readonly dbPath: string
  ) {}

  static async start(
    config: Record<string, unknown> = {},
    o: { dataDir?: string } = {}
  ): Promise<FuzzServer> {
    const app = await inProcessApp({
      config,
      clock: new ManualClock(),
      prefix: 'countersign-fuzz-',
      logLevel: 'silent',
      ...(o.dataDir ? { dataDir: o.dataDir } : {}),
    });
    const server = createServer(app.app.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const sut = serverUnderTest(`http://127.0.0.1:${port}`, undefined);
    return new FuzzServer(app, server, sut, join(app.dataDir, 'countersign.db'));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.app.close();
  }

  /** One request; `path` is sent as given (it must be a valid request-target). */
  send(
    method: string,
    path: string,
    o: { headers?: Record<string, string>; body?: Buffer } = {}
  ): Promise<Answer> {
    return rawRequest(this.sut, { method, path, timeoutMs: 30_000, ...o }).then((out) => {
      if (out.kind === 'dropped') throw new Error(`connection dropped: ${out.error}`);
      return { status: out.status, headers: out.headers, body: out.body.toString('utf8') };
    });
  }

  /** Every table's rows, in rowid order, hashed: equal digests mean nothing was written. */
  databaseDigest(): string {
    const db = new Database(this.dbPath, { readonly: true, fileMustExist: true });
    try {
      const hash = createHash('sha256');
      const tables = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .all() as { name: string }[];
      for (const { name } of tables) {
        hash.update(`\0${name}\0`);
        for (const row of db.prepare(`SELECT * FROM "${name}"`).iterate()) {
          hash.update(
            JSON.stringify(row, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : v))
          );
        }
      }
      return hash.digest('hex');
    } finally {
      db.close();
    }
  }

  async assertAlive(): Promise<void> {
    const r = await this.send('GET', '/_notary_server/health');
    if (r.status !== 200) throw new Error(`the server stopped answering: health ${r.status}`);
  }
}

/** A repository made as the notary client makes one: x509 root, server-held snapshot and timestamp. */
export interface FuzzRepo {
  readonly gun: string;
  readonly rootKey: TestKey;
  readonly targetsKey: TestKey;
  readonly rootSigned: JsonObject;
}

export async function makeRepo(s: FuzzServer, gun: string): Promise<FuzzRepo> {
  const serverKey = async (role: 'snapshot' | 'timestamp') => {
    const r = await s.send('GET', `/v2/${gun}/_trust/tuf/${role}.key`);
    if (r.status !== 200) throw new Error(`${role}.key: ${r.status} ${r.body}`);
    const key = PublicKey.fromJSON(JSON.parse(r.body) as JsonObject, `${role}.key`);
    return { keyid: key.id, key };
  };
  const rootKey = await x509Key(gun);
  const targetsKey = plainKey('ecdsa');
  const root = rootSigned({
    root: [rootKey],
    targets: [targetsKey],
    snapshot: [await serverKey('snapshot')],
    timestamp: [await serverKey('timestamp')],
  });
  const targets = sign(targetsSigned({ targets: [{ name: 'v1' }] }), [targetsKey]);
  const r = await upload(s, gun, { root: sign(root, [rootKey]), targets });
  if (r.status !== 200) throw new Error(`initial publish failed: ${r.status} ${r.body}`);
  return { gun, rootKey, targetsKey, rootSigned: root };
}

export function upload(s: FuzzServer, gun: string, parts: Record<string, Buffer>): Promise<Answer> {
  const { body, contentType } = multipart(parts);
  return s.send('POST', `/v2/${gun}/_trust/tuf/`, {
    headers: { 'content-type': contentType },
    body,
  });
}

// ---------------------------------------------------------------------------------------------
// Mutations of metadata: the shapes a hostile or broken client can produce with valid signatures.

export type Mutation =
  | { kind: 'set'; path: number[]; value: JsonValue }
  | { kind: 'delete'; path: number[] }
  | { kind: 'case-twin'; path: number[]; value: JsonValue /* or 'same' */ }
  | { kind: 'add-key'; path: number[]; key: string; value: JsonValue }
  | { kind: 'nest'; path: number[]; depth: number };

/** Edge values that parsers and validators mishandle most. */
const edgeValue: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.constantFrom<JsonValue>(
    null,
    true,
    0,
    -1,
    1,
    2 ** 30 - 1,
    2 ** 30,
    2 ** 31,
    2 ** 53,
    1e308,
    -0.5,
    '',
    'targets',
    'root',
    '2000-01-01T00:00:00Z',
    '9999-12-31T23:59:59Z',
    '2030-01-01T00:00:00.123456789+05:30',
    'not a date',
    '\u0000',
    '\u202e',
    '../../etc/passwd',
    'AAAA',
    [],
    {}
  ),
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<JsonValue>
);

/** Case variants Go's decoder folds onto a field: `Signed`, `SIGNED`, `_Type`, … */
function twinOf(key: string): string {
  const flipped = [...key]
    .map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c.toLowerCase()))
    .join('');
  return flipped === key ? key.toUpperCase() : flipped;
}

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('set' as const), path: pathArb(), value: edgeValue }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), path: pathArb() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('case-twin' as const),
      path: pathArb(),
      value: fc.oneof(fc.constant('same' as const), edgeValue),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('add-key' as const),
      path: pathArb(),
      key: fc.string({ maxLength: 12 }),
      value: edgeValue,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('nest' as const),
      path: pathArb(),
      depth: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.constantFrom(5_000, 20_000, 200_000)),
    }),
  }
);

/** A path is a list of choices, each taken modulo the number of children where it is applied. */
function pathArb(): fc.Arbitrary<number[]> {
  return fc.array(fc.nat(64), { minLength: 0, maxLength: 5 });
}

type Container = JsonObject | unknown[];
const isContainer = (v: unknown): v is Container => typeof v === 'object' && v !== null;

/** Walks `path` through containers; returns the container reached and the child key chosen there. */
function locate(
  root: Container,
  path: number[]
): { parent: Container; key: string | number } | null {
  let node: Container = root;
  for (let i = 0; ; i++) {
    const keys: (string | number)[] = Array.isArray(node)
      ? node.map((_, j) => j)
      : Object.keys(node);
    if (keys.length === 0) return null;
    const key = keys[(path[i] ?? 0) % keys.length]!;
    const child = (node as Record<string | number, JsonValue>)[key];
    if (i >= path.length - 1 || !isContainer(child)) return { parent: node, key };
    node = child;
  }
}

/** Applies a mutation in place (a clone is the caller's business). */
export function applyMutation(doc: JsonObject, m: Mutation): void {
  const at = locate(doc, m.path);
  if (!at) return;
  const parent = at.parent as Record<string | number, JsonValue>;
  switch (m.kind) {
    case 'set':
      parent[at.key] = m.value;
      return;
    case 'delete':
      if (Array.isArray(at.parent)) at.parent.splice(at.key as number, 1);
      else delete parent[at.key];
      return;
    case 'case-twin':
      if (typeof at.key === 'string')
        parent[twinOf(at.key)] = m.value === 'same' ? parent[at.key]! : m.value;
      return;
    case 'add-key':
      if (!Array.isArray(at.parent)) parent[m.key] = m.value;
      return;
    case 'nest': {
      let v: JsonValue = parent[at.key];
      for (let i = 0; i < m.depth; i++) v = [v];
      parent[at.key] = v;
      return;
    }
  }
}

/**
 * The envelope's bytes for a mutated `signed`, signed by `keys` when the canonical encoder can
 * encode it (a too-deep document is sent with a signature over nothing: it must be refused
 * for its shape before any signature matters). `envelopeTwin` adds a case twin of a top-level
 * field, as a hostile client would.
 */
export function envelope(
  signed: JsonObject,
  keys: readonly TestKey[],
  envelopeTwin: 'none' | 'Signed' | 'SIGNATURES' | 'Signed-null'
): Buffer {
  let bytes: Buffer;
  try {
    bytes = sign(signed, keys);
  } catch {
    bytes = Buffer.from(`{"signed":${deepJson(signed)},"signatures":[]}`);
  }
  if (envelopeTwin === 'none') return bytes;
  const text = bytes.toString('utf8');
  const extra =
    envelopeTwin === 'Signed-null'
      ? '"Signed":null,'
      : envelopeTwin === 'Signed'
        ? `"Signed":${canonicalTextOrNull({ ...signed, version: 1 })},`
        : '"SIGNATURES":[],';
  return Buffer.from(`{${extra}${text.slice(1)}`);
}

function canonicalTextOrNull(v: JsonObject): string {
  try {
    return canonicalBytes(v).toString('utf8');
  } catch {
    return 'null';
  }
}

/** A piece of output text queued between values (never confused with a JSON value). */
class Raw {
  constructor(readonly text: string) {}
}

/** JSON.stringify without recursion, for documents deeper than the call stack. */
export function deepJson(v: JsonValue): string {
  const out: string[] = [];
  const stack: unknown[] = [v]; // JSON values and Raw markers
  while (stack.length) {
    const x = stack.pop()!;
    if (x instanceof Raw) out.push(x.text);
    else if (Array.isArray(x)) {
      out.push('[');
      stack.push(new Raw(']'));
      for (let i = x.length - 1; i >= 0; i--) {
        stack.push(x[i]);
        if (i > 0) stack.push(new Raw(','));
      }
    } else if (x !== null && typeof x === 'object') {
      out.push('{');
      stack.push(new Raw('}'));
      const entries = Object.entries(x);
      for (let i = entries.length - 1; i >= 0; i--) {
        stack.push(entries[i]![1]);
        stack.push(new Raw(`${JSON.stringify(entries[i]![0])}:`));
        if (i > 0) stack.push(new Raw(','));
      }
    } else out.push(JSON.stringify(x));
  }
  return out.join('');
}
