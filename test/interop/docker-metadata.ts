/**
 * Reads a repository's current TUF metadata straight from a notary-compatible server (the plain
 * `<role>.json` names) and checks what the server itself is responsible for after a client
 * publishes without a snapshot key: a snapshot and a timestamp signed by the keys root.json
 * lists for those roles, each pointing at the exact bytes the server serves. (Notary's meta
 * maps are keyed by role name: `snapshot`, `targets/releases`, not file names.)
 */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { createRequire } from 'node:module';
import type { ServerUnderTest } from '../helpers/server-under-test.js';

/** RFC 8785 (dev dependency): an encoder independent of the server's own, enough for ASCII. */
const canonicalize = createRequire(import.meta.url)('canonicalize') as (
  input: unknown
) => string | undefined;

interface TufKey {
  keytype: string;
  keyval: { public: string; private: string | null };
}

interface Signed<T> {
  signed: T & { _type: string; version: number; expires: string };
  signatures: Array<{ keyid: string; method: string; sig: string }>;
}

interface FileMeta {
  length: number;
  hashes: Record<string, string>;
}

export type RootDoc = Signed<{
  keys: Record<string, TufKey>;
  roles: Record<string, { keyids: string[]; threshold: number }>;
}>;
export type MetaDoc = Signed<{ meta: Record<string, FileMeta> }>;
export type TargetsDoc = Signed<{
  targets: Record<string, FileMeta>;
  delegations?: { keys: Record<string, TufKey>; roles: Array<{ name: string; keyids: string[] }> };
}>;

export async function fetchBytes(
  sut: ServerUnderTest,
  path: string
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolvePromise, reject) => {
    const req = request(new URL(path, sut.url + '/'), {
      ca: sut.caFile ? readFileSync(sut.caFile) : undefined,
      timeout: 5_000,
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) })
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout on ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

/** GET `/v2/<gun>/_trust/tuf/<file>`, asserting 200; returns the raw bytes. */
export async function fetchTuf(sut: ServerUnderTest, gun: string, file: string): Promise<Buffer> {
  const r = await fetchBytes(sut, `v2/${gun}/_trust/tuf/${file}`);
  assert.equal(r.status, 200, `GET ${gun} ${file}: ${r.status} ${r.body.toString('utf8')}`);
  return r.body;
}

const parse = <T>(b: Buffer): T => JSON.parse(b.toString('utf8')) as T;

function publicKey(key: TufKey): KeyObject {
  const raw = Buffer.from(key.keyval.public, 'base64');
  switch (key.keytype) {
    case 'ed25519':
      return createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
        format: 'jwk',
      });
    case 'ecdsa':
      return createPublicKey({ key: raw, format: 'der', type: 'spki' });
    default:
      throw new Error(`server role key of unexpected type ${key.keytype}`);
  }
}

/** The signature over the canonical `signed` part verifies with `key` (ed25519 or P-256). */
function assertSignedBy(doc: Signed<unknown>, keyId: string, key: TufKey, what: string): void {
  assert.equal(doc.signatures.length, 1, `${what}: one signature`);
  const sig = doc.signatures[0]!;
  assert.equal(sig.keyid, keyId, `${what} is signed by the key root.json lists`);
  const message = Buffer.from(canonicalize(doc.signed) ?? '', 'utf8');
  const ok =
    key.keytype === 'ed25519'
      ? verify(null, message, publicKey(key), Buffer.from(sig.sig, 'base64'))
      : verify(
          'sha256',
          message,
          { key: publicKey(key), dsaEncoding: 'ieee-p1363' },
          Buffer.from(sig.sig, 'base64')
        );
  assert.ok(ok, `${what}: signature by ${keyId} verifies`);
}

function assertDescribes(meta: FileMeta | undefined, bytes: Buffer, what: string): void {
  assert.ok(meta, `${what} is listed`);
  assert.equal(meta.length, bytes.length, `${what}: length`);
  assert.equal(
    meta.hashes.sha256,
    createHash('sha256').update(bytes).digest('base64'),
    `${what}: sha256`
  );
}

export interface ServerSignedState {
  root: RootDoc;
  targets: TargetsDoc;
  snapshot: MetaDoc;
  timestamp: MetaDoc;
  snapshotKeyId: string;
}

/**
 * Fetches root, targets, snapshot and timestamp and checks the server-generated part: snapshot
 * and timestamp are signed by the (single) keys root.json names for them, those keys are the
 * server's (`snapshot.key` / `timestamp.key` answer the same public keys), the timestamp pins
 * the served snapshot and the snapshot pins the served root and targets.
 */
export async function assertServerSigned(
  sut: ServerUnderTest,
  gun: string
): Promise<ServerSignedState> {
  const rootBytes = await fetchTuf(sut, gun, 'root.json');
  const targetsBytes = await fetchTuf(sut, gun, 'targets.json');
  const snapshotBytes = await fetchTuf(sut, gun, 'snapshot.json');
  const timestampBytes = await fetchTuf(sut, gun, 'timestamp.json');
  const root = parse<RootDoc>(rootBytes);
  const targets = parse<TargetsDoc>(targetsBytes);
  const snapshot = parse<MetaDoc>(snapshotBytes);
  const timestamp = parse<MetaDoc>(timestampBytes);

  const roleKey = (role: string): { id: string; key: TufKey } => {
    const ids = root.signed.roles[role]?.keyids ?? [];
    assert.equal(ids.length, 1, `root lists one ${role} key`);
    const key = root.signed.keys[ids[0]!];
    assert.ok(key, `root.json holds the ${role} key`);
    return { id: ids[0]!, key };
  };
  const snap = roleKey('snapshot');
  const ts = roleKey('timestamp');
  assertSignedBy(snapshot, snap.id, snap.key, 'snapshot.json');
  assertSignedBy(timestamp, ts.id, ts.key, 'timestamp.json');

  // The keys are the server's own: its key endpoints return them (and never a private part).
  for (const [role, k] of [
    ['snapshot', snap],
    ['timestamp', ts],
  ] as const) {
    const served = parse<TufKey>(await fetchTuf(sut, gun, `${role}.key`));
    assert.equal(served.keyval.public, k.key.keyval.public, `${role}.key is the key root lists`);
    assert.equal(served.keyval.private, null);
  }

  assertDescribes(timestamp.signed.meta.snapshot, snapshotBytes, 'timestamp → snapshot');
  assertDescribes(snapshot.signed.meta.root, rootBytes, 'snapshot → root');
  assertDescribes(snapshot.signed.meta.targets, targetsBytes, 'snapshot → targets');
  for (const [name, meta] of Object.entries(snapshot.signed.meta)) {
    if (name === 'root' || name === 'targets') continue;
    assertDescribes(meta, await fetchTuf(sut, gun, `${name}.json`), `snapshot → ${name}`);
  }
  return { root, targets, snapshot, timestamp, snapshotKeyId: snap.id };
}
