/**
 * The UI's cookies. The session cookie is `HttpOnly` (scripts never see it), `SameSite=Strict`
 * (a request started by another site carries no session) and, over TLS, `Secure` with the
 * `__Host-` prefix (the browser then refuses it from plain HTTP and from any other path or domain).
 */

export interface CookieNames {
  readonly session: string;
  /** The pre-session token that guards the login form against login CSRF. */
  readonly login: string;
}

export function cookieNames(secure: boolean): CookieNames {
  return secure
    ? { session: '__Host-countersign-ui', login: '__Host-countersign-login' }
    : { session: 'countersign-ui', login: 'countersign-login' };
}

/** A cookie header's value for `name`, or undefined; at most 4 KiB of header is looked at. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.slice(0, 4096).split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A Set-Cookie value; `maxAgeSeconds: 0` deletes the cookie. Values are base64url only. */
export function cookieHeader(
  name: string,
  value: string,
  o: { secure: boolean; maxAgeSeconds?: number }
): string {
  const parts = [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  if (o.secure) parts.push('Secure');
  if (o.maxAgeSeconds !== undefined) parts.push(`Max-Age=${o.maxAgeSeconds}`);
  return parts.join('; ');
}
