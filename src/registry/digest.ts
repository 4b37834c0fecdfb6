/**
 * OCI content digests (`algorithm:hex`): parsing, hashing bytes, and hashing a stream as it
 * passes so a multi-gigabyte blob is checked without being held in memory.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';

/** The algorithms OCI registers; anything else is refused rather than trusted unchecked. */
const HEX_LENGTH = { sha256: 64, sha512: 128 } as const;
export type DigestAlgorithm = keyof typeof HEX_LENGTH;

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

export function parseDigest(digest: string): ParsedDigest | null {
  const m = /^(sha256|sha512):([a-f0-9]+)$/.exec(digest);
  if (!m) return null;
  const algorithm = m[1] as DigestAlgorithm;
  const hex = m[2]!;
  return hex.length === HEX_LENGTH[algorithm] ? { algorithm, hex } : null;
}

export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && parseDigest(value) !== null;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The digest of `bytes` with the algorithm `like` names (sha256 when `like` is absent). */
export function digestOf(bytes: Uint8Array, like?: string): string {
  const algorithm = (like && parseDigest(like)?.algorithm) || 'sha256';
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

export interface StreamDigest {
  digest: string;
  size: number;
  /** True when reading stopped early because more than `limit` bytes arrived. */
  truncated: boolean;
}

/**
 * Reads a stream to its end (or to just past `limit` bytes), hashing with `algorithm`.
 * Stopping past the limit bounds the work an oversized blob can cost.
 */
export async function digestStream(
  stream: Readable,
  algorithm: DigestAlgorithm,
  limit = Number.POSITIVE_INFINITY
): Promise<StreamDigest> {
  const hash: Hash = createHash(algorithm);
  let size = 0;
  for await (const chunk of stream) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) {
      stream.destroy();
      return { digest: `${algorithm}:${hash.digest('hex')}`, size, truncated: true };
    }
    hash.update(buf);
  }
  return { digest: `${algorithm}:${hash.digest('hex')}`, size, truncated: false };
}
