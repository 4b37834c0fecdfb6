/**
 * The webhook signature (docs/webhooks.md "Signature"): `X-Countersign-Signature: sha256=HEX`,
 * the HMAC-SHA256 of the exact body bytes under the receiver's secret. Receivers recompute it
 * over the bytes they received, before parsing them, and compare in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Countersign-Signature';
export const DELIVERY_HEADER = 'X-Countersign-Delivery';
export const EVENT_HEADER = 'X-Countersign-Event';

export function signBody(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** True when `header` is the signature of `body` under `secret` (constant time in the HMAC). */
export function signatureMatches(secret: string, body: Buffer | string, header: string): boolean {
  const expected = Buffer.from(signBody(secret, body));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
