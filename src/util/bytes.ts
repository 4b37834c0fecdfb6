/** Byte helpers: base64 and hex the way notary writes them (standard base64 with padding). */
import { timingSafeEqual } from 'node:crypto';

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Whether `text` is strict standard base64 (with padding): what fromBase64 accepts. */
export function isBase64(text: string): boolean {
  return text.length % 4 === 0 && BASE64.test(text);
}

/** Strict standard base64 (with padding); returns null for anything else. */
export function fromBase64(text: string): Buffer | null {
  return isBase64(text) ? Buffer.from(text, 'base64') : null;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Constant-time comparison of two secrets (different lengths compare unequal, in constant time for the shorter). */
export function secretsEqual(a: Uint8Array | string, b: Uint8Array | string): boolean {
  const x = typeof a === 'string' ? Buffer.from(a) : Buffer.from(a);
  const y = typeof b === 'string' ? Buffer.from(b) : Buffer.from(b);
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}
