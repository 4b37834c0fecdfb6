/**
 * CSRF tokens (docs/ui.md "Security model"): a random token bound to the session, written into
 * every form as a hidden field and compared on every POST. Another origin cannot read it (the
 * same-origin policy), and the session cookie is SameSite=Strict besides, so a forged form
 * fails twice. The comparison takes the same time wherever the first difference is.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The hidden form field's name. */
export const CSRF_FIELD = 'csrf';

/** 32 random bytes, base64url (43 characters). */
export function newCsrfToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * True when `presented` equals `expected`. Both are hashed first so the comparison has a fixed
 * length and does not reveal the expected token's length either.
 */
export function csrfMatches(expected: string, presented: unknown): boolean {
  if (typeof presented !== 'string' || expected === '') return false;
  const a = createHash('sha256').update(expected, 'utf8').digest();
  const b = createHash('sha256').update(presented, 'utf8').digest();
  return timingSafeEqual(a, b);
}
