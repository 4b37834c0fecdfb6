/**
 * Building the metadata the server signs (docs/protocol.md §2.8, §2.9, §4.1): snapshot and timestamp
 * `signed` objects with notary's exact field set, and envelopes written byte for byte as Go
 * writes them (canonical `signed` with HTML escaping, then `signatures` as keyid, method, sig).
 */
import { canonicalBytes, canonicalString, htmlEscapeJson } from '../canonical/encode.js';
import type { SignatureEntry } from '../signer/types.js';
import type { JsonObject } from './metadata.js';
import { fileMetaOf } from './verify.js';
import { formatExpires } from './time.js';

/**
 * A snapshot `signed` object: the previous snapshot's `meta` kept verbatim (entries for roles no
 * longer present included, as notary does), with `updated` roles replaced by hashes and length
 * of their exact bytes.
 */
export function snapshotSigned(opts: {
  previousMeta?: JsonObject;
  updated: ReadonlyMap<string, Uint8Array>;
  version: number;
  expires: Date;
}): JsonObject {
  const meta: JsonObject = { ...(opts.previousMeta ?? {}) };
  for (const [role, bytes] of opts.updated) meta[role] = fileMetaOf(bytes);
  return { _type: 'Snapshot', expires: formatExpires(opts.expires), meta, version: opts.version };
}

export function timestampSigned(opts: {
  snapshot: Uint8Array;
  version: number;
  expires: Date;
}): JsonObject {
  return {
    _type: 'Timestamp',
    expires: formatExpires(opts.expires),
    meta: { snapshot: fileMetaOf(opts.snapshot) },
    version: opts.version,
  };
}

/** The canonical bytes a signer signs for `signed`. */
export function signingBytes(signed: JsonObject): Buffer {
  return canonicalBytes(signed);
}

/** The stored file: `{"signed":<canonical, HTML-escaped>,"signatures":[…]}`, no whitespace, no newline. */
export function envelopeBytes(signed: JsonObject, signatures: readonly SignatureEntry[]): Buffer {
  const sigs = signatures.map(
    (s) =>
      `{"keyid":${JSON.stringify(s.keyid)},"method":${JSON.stringify(s.method)},"sig":${JSON.stringify(s.sig)}}`
  );
  return Buffer.from(
    `{"signed":${htmlEscapeJson(canonicalString(signed))},"signatures":[${sigs.join(',')}]}`,
    'utf8'
  );
}
