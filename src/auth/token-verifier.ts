/**
 * Verifies a Bearer token the way notary-server's `auth.type: token` does (docker/distribution
 * `registry/auth/token/token.go` `Verify`, v2.7.1–v2.8.2), for tokens from an external token
 * service or from our own (token-issuer.ts):
 *   1. the compact JWS parses (jws.ts) and names a trusted key (trust-roots.ts);
 *   2. the signature verifies with that key under an algorithm that fits it;
 *   3. `iss` equals the configured issuer;
 *   4. `aud` equals the configured service (distribution ≤2.8 accepts a string only; we also
 *      accept an array containing it, as distribution 3 and RFC 7519 do);
 *   5. `exp` (required) and `nbf` (optional) hold, each with 60 s leeway;
 *   6. `access` is absent/null or `[{type, name, actions:[…]}]`.
 * Every failure is UNAUTHORIZED with `error="invalid_token"`.
 */
import type { Clock } from '../util/clock.js';
import { parseCompactJws, verifyJwsSignature } from './jws.js';
import { satisfies, type Access, type RequiredAccess } from './scope.js';
import { BearerChallengeError, invalidToken } from './token-error.js';
import { resolveSigningKey, type TrustRoots } from './trust-roots.js';

/** distribution's `Leeway`: clock skew allowed on `exp` and `nbf`. */
export const LEEWAY_SECONDS = 60;

export interface VerifyTokenOptions {
  readonly issuer: string;
  /** The `service` of the challenge; the token's audience must name it. */
  readonly service: string;
  readonly roots: TrustRoots;
  readonly clock: Clock;
  readonly leewaySeconds?: number;
}

export interface VerifiedToken {
  /** `sub`: the account name; empty for anonymous tokens. */
  readonly subject: string;
  readonly access: Access[];
  readonly issuer: string;
  readonly expiresAt: Date;
  readonly jwtId?: string;
}

function isNumericDate(value: unknown): value is number {
  // Go unmarshals these into int64: fractions and strings are malformed tokens there.
  return typeof value === 'number' && Number.isSafeInteger(value);
}

function checkAudience(aud: unknown, service: string): void {
  const ok =
    typeof aud === 'string' ? aud === service : Array.isArray(aud) && aud.includes(service);
  if (!ok) invalidToken('token intended for another audience');
}

function checkTimes(claims: Readonly<Record<string, unknown>>, now: Date, leeway: number): Date {
  const { exp, nbf } = claims;
  if (!isNumericDate(exp)) invalidToken('token has no valid exp');
  if (nbf !== undefined && !isNumericDate(nbf)) invalidToken('token nbf is not a number');
  const t = now.getTime();
  if (t > (exp + leeway) * 1000) invalidToken('token has expired');
  if (nbf !== undefined && t < (nbf - leeway) * 1000) invalidToken('token is not valid yet');
  return new Date(exp * 1000);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** The `access` claim, checked entry by entry. */
export function parseAccessClaim(value: unknown): Access[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) invalidToken('token access claim is not a list');
  return value.map((entry: unknown) => {
    if (typeof entry !== 'object' || entry === null)
      return invalidToken('token access entry is not an object');
    const { type, class: cls, name, actions } = entry as Record<string, unknown>;
    if (typeof type !== 'string' || typeof name !== 'string') {
      return invalidToken('token access entry needs string type and name');
    }
    if (cls !== undefined && typeof cls !== 'string')
      return invalidToken('token access class is not a string');
    const list = actions === undefined || actions === null ? [] : actions;
    if (!isStringArray(list)) return invalidToken('token access actions must be a list of strings');
    return cls === undefined || cls === ''
      ? { type, name, actions: list }
      : { type, class: cls, name, actions: list };
  });
}

export async function verifyToken(
  token: string,
  options: VerifyTokenOptions
): Promise<VerifiedToken> {
  const now = options.clock.now();
  const jws = parseCompactJws(token);
  const key = resolveSigningKey(jws.header, options.roots, now);
  if (!(await verifyJwsSignature(jws, key))) invalidToken('token signature does not verify');

  const claims = jws.payload;
  if (claims.iss !== options.issuer) invalidToken('token from untrusted issuer');
  checkAudience(claims.aud, options.service);
  const expiresAt = checkTimes(claims, now, options.leewaySeconds ?? LEEWAY_SECONDS);
  if (claims.sub !== undefined && typeof claims.sub !== 'string')
    invalidToken('token sub is not a string');
  if (claims.jti !== undefined && typeof claims.jti !== 'string')
    invalidToken('token jti is not a string');
  const access = parseAccessClaim(claims.access);

  return {
    subject: claims.sub ?? '',
    access,
    issuer: options.issuer,
    expiresAt,
    ...(claims.jti === undefined ? {} : { jwtId: claims.jti }),
  };
}

/**
 * Throws 401 `insufficient_scope` unless the verified token grants every required access
 * (docs/protocol.md §7.2: still 401, never 403, so clients fetch a better token).
 */
export function requireAccess(token: VerifiedToken, required: readonly RequiredAccess[]): void {
  if (!satisfies(token.access, required)) {
    throw new BearerChallengeError('token lacks the required scope', 'insufficient_scope');
  }
}

/**
 * The token of an `Authorization` header, as distribution reads it: exactly two space-separated
 * parts, the scheme `bearer` in any case. Throws 401 without an `error` parameter otherwise.
 */
export function bearerTokenFromHeader(header: string | undefined): string {
  const parts = (header ?? '').split(' ');
  if (parts.length !== 2 || parts[0]!.toLowerCase() !== 'bearer' || parts[1] === '') {
    throw new BearerChallengeError('authorization token required', undefined);
  }
  return parts[1]!;
}
