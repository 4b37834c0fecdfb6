/**
 * Digests over exact bytes. node:crypto's native SHA-2 rather than @noble/hashes: these run on
 * every upload and every generated snapshot/timestamp, over files up to many megabytes, where
 * the native implementation is an order of magnitude faster.
 */
import { createHash } from 'node:crypto';

export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

export function sha512(data: Uint8Array): Buffer {
  return createHash('sha512').update(data).digest();
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
