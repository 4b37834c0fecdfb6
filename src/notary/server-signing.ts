/**
 * Snapshot and timestamp signed by the server (docs/protocol.md §2.8, §2.9, §3.3): built from the
 * previous file, signed with every key of the role (in the current root) that the server holds,
 * refused when those keys cannot reach the threshold.
 */
import type { Signer } from '../signer/types.js';
import type { StoredMeta } from '../storage/types.js';
import { sha256Hex } from '../crypto/hash.js';
import { envelopeBytes, signingBytes, snapshotSigned, timestampSigned } from '../tuf/build.js';
import type { JsonObject, Root } from '../tuf/metadata.js';

export interface ServerSigned {
  readonly version: number;
  readonly data: Buffer;
  readonly sha256: string;
}

/** Signs `signed` with the held keys of `role`; null when they cannot meet the root's threshold. */
export async function signAsRole(
  signer: Signer,
  root: Root,
  role: 'snapshot' | 'timestamp',
  signed: JsonObject
): Promise<Buffer | null> {
  const spec = root.roles[role];
  const held = await signer.held(spec.keyids);
  if (held.size < spec.threshold) return null;
  const signatures = await signer.sign([...held], signingBytes(signed));
  if (signatures.length < spec.threshold) return null;
  return envelopeBytes(signed, signatures);
}

export async function buildServerSnapshot(opts: {
  signer: Signer;
  root: Root;
  previous: { version: number; meta: JsonObject } | undefined;
  updated: ReadonlyMap<string, Uint8Array>;
  now: Date;
  lifetimeMs: number;
}): Promise<ServerSigned | null> {
  const version = (opts.previous?.version ?? 0) + 1;
  const signed = snapshotSigned({
    previousMeta: opts.previous?.meta,
    updated: opts.updated,
    version,
    expires: new Date(opts.now.getTime() + opts.lifetimeMs),
  });
  const data = await signAsRole(opts.signer, opts.root, 'snapshot', signed);
  return data && { version, data, sha256: sha256Hex(data) };
}

export async function buildServerTimestamp(opts: {
  signer: Signer;
  root: Root;
  previousVersion: number;
  snapshot: Uint8Array;
  now: Date;
  lifetimeMs: number;
}): Promise<ServerSigned | null> {
  const version = opts.previousVersion + 1;
  const signed = timestampSigned({
    snapshot: opts.snapshot,
    version,
    expires: new Date(opts.now.getTime() + opts.lifetimeMs),
  });
  const data = await signAsRole(opts.signer, opts.root, 'timestamp', signed);
  return data && { version, data, sha256: sha256Hex(data) };
}

/** The `meta` object of a stored snapshot, verbatim, for building its successor. */
export function snapshotMetaJSON(snapshot: { signedJSON: JsonObject }): JsonObject {
  const meta = snapshot.signedJSON.meta;
  return typeof meta === 'object' && meta !== null && !Array.isArray(meta)
    ? (meta as JsonObject)
    : {};
}

export type { StoredMeta };
