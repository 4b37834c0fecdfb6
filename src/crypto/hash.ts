/**
 * Digests over exact bytes. node:crypto's native SHA-2 rather than @noble/hashes: these run on
 * every upload and every generated snapshot/timestamp, over files up to many megabytes, where
 * the native implementation is an order of magnitude faster.
 *
 * A large upload's digests are computed by the upload worker, off the event loop, and handed
 * in with `rememberDigests` (docs/performance.md "Reads during large uploads"): the update then
 * hashes the same 1 MB three times (its row's SHA-256, the snapshot's SHA-256 and SHA-512) at
 * the cost of a WeakMap lookup instead of ~4 ms of the event loop.
 */
import { createHash } from 'node:crypto';

/** Digests already known for these exact bytes, by the bytes' object: see rememberDigests. */
const known = new WeakMap<Uint8Array, { readonly sha256: Buffer; readonly sha512: Buffer }>();

/**
 * Records `digests` as the SHA-256 and SHA-512 of `bytes`, for the life of that object. Only
 * for bytes nobody writes any more (an uploaded part once its body has been read): the memo is
 * keyed by the object, not its content. Digests of the wrong size are ignored.
 */
export function rememberDigests(
  bytes: Uint8Array,
  digests: { readonly sha256: Uint8Array; readonly sha512: Uint8Array }
): void {
  if (digests.sha256.length !== 32 || digests.sha512.length !== 64) return;
  known.set(bytes, {
    sha256: Buffer.from(digests.sha256),
    sha512: Buffer.from(digests.sha512),
  });
}

export function sha256(data: Uint8Array): Buffer {
  const k = known.get(data);
  return k ? Buffer.from(k.sha256) : createHash('sha256').update(data).digest();
}

export function sha512(data: Uint8Array): Buffer {
  const k = known.get(data);
  return k ? Buffer.from(k.sha512) : createHash('sha512').update(data).digest();
}

export function sha256Hex(data: Uint8Array): string {
  const k = known.get(data);
  return k ? k.sha256.toString('hex') : createHash('sha256').update(data).digest('hex');
}
