/**
 * The access control of the Notary API when auth is on, for both token modes (docs/protocol.md §7):
 * the request's Bearer token, verified as notary-server verifies it, must grant every access the
 * route needs; otherwise 401 with the Bearer challenge — never 403, the clients only retry
 * after a 401. On top of notary-server's rules:
 *   - zones: a route that would write a public GUN (push or *) is refused whatever the token
 *     says, so even a valid `*` from an external token service cannot write there;
 *   - anonymous pull: reads of public GUNs need no token at all when the policy allows them
 *     (a CI job can curl timestamp.json), and a token that lacks them does not take them away.
 * Tokens that fail verification are refused (invalid_token) even where anonymous access would
 * do: a client that presents a bad token has a bug or an attacker, not a reader's rights.
 *
 * A token seen before is decided synchronously (a cache hit, so the hot read path stays
 * synchronous); a new token's signature check is asynchronous (jose over WebCrypto, jws.ts).
 */
import type { IncomingMessage } from 'node:http';
import type { AccessControl, AccessDecision, RequiredAccess as RouteAccess } from './access.js';
import type { Clock } from '../util/clock.js';
import type { ChallengeEndpoint } from './endpoint.js';
import type { AccessPolicy } from './policy.js';
import { formatChallenge, satisfies, unauthorizedDetail, type RequiredAccess } from './scope.js';
import { isBearerChallengeError, type BearerErrorCode } from './token-error.js';
import { LEEWAY_SECONDS, verifyToken, type VerifiedToken } from './token-verifier.js';
import type { TrustRoots } from './trust-roots.js';
import { BoundedCache } from '../util/bounded-cache.js';

export interface BearerVerifierOptions {
  readonly issuer: string;
  /** The audience tokens must name; read on every verification (it may be known only after listen). */
  readonly service: () => string;
  readonly roots: TrustRoots;
  readonly clock: Clock;
  /** Verified tokens remembered (by their exact text) so a client's next request costs a lookup. */
  readonly cacheSize?: number;
}

/** What verifies Bearer tokens: a known token at once, a new one through a promise. */
export interface TokenVerifier {
  verify(token: string): VerifiedToken | Promise<VerifiedToken>;
}

/** verifyToken with a small cache of tokens that verified; every hit re-checks expiry. */
export class BearerVerifier implements TokenVerifier {
  private readonly o: BearerVerifierOptions;
  private readonly cache: BoundedCache<string, VerifiedToken>;

  constructor(options: BearerVerifierOptions) {
    this.o = options;
    this.cache = new BoundedCache(options.cacheSize ?? 1024);
  }

  /** The verified claims; throws (or rejects with) BearerChallengeError (invalid_token) otherwise. */
  verify(token: string): VerifiedToken | Promise<VerifiedToken> {
    const service = this.o.service();
    const key = `${service}\n${token}`;
    const hit = this.cache.get(key);
    const now = this.o.clock.now().getTime();
    if (hit !== undefined && now <= hit.expiresAt.getTime() + LEEWAY_SECONDS * 1000) return hit;
    this.cache.delete(key);
    return this.verifyNew(key, token, service);
  }

  private async verifyNew(key: string, token: string, service: string): Promise<VerifiedToken> {
    const verified = await verifyToken(token, {
      issuer: this.o.issuer,
      service,
      roots: this.o.roots,
      clock: this.o.clock,
    });
    // A token that is valid now stays valid until exp (nbf is behind us), so caching it is safe.
    this.cache.set(key, verified);
    return verified;
  }
}

/** `Authorization: Bearer <token>` as distribution reads it; null for anything else. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const parts = header.split(' ');
  if (parts.length !== 2 || parts[0]!.toLowerCase() !== 'bearer' || parts[1] === '') return null;
  return parts[1]!;
}

/** The route's needs, one action per entry, in the route's order (scope and detail follow it). */
export function flattenRequired(required: readonly RouteAccess[]): RequiredAccess[] {
  return required.flatMap((r) =>
    r.actions.map((action) => ({ type: r.type, name: r.name, action }))
  );
}

export interface TokenAccessControlOptions {
  readonly endpoint: ChallengeEndpoint;
  readonly verifier: TokenVerifier;
  readonly policy: AccessPolicy;
}

const ALLOWED: AccessDecision = { ok: true };

export class TokenAccessControl implements AccessControl {
  private readonly o: TokenAccessControlOptions;

  constructor(options: TokenAccessControlOptions) {
    this.o = options;
  }

  authorize(
    req: IncomingMessage,
    required: readonly RouteAccess[]
  ): AccessDecision | Promise<AccessDecision> {
    if (required.length === 0) return ALLOWED;
    const needs = flattenRequired(required);
    const raw = bearerToken(req.headers.authorization);
    if (raw === null) return this.decide(req, needs, null);
    let verified: VerifiedToken | Promise<VerifiedToken>;
    try {
      verified = this.o.verifier.verify(raw);
    } catch (err) {
      return this.refuseInvalid(req, needs, err);
    }
    if (verified instanceof Promise) {
      return verified.then(
        (token) => this.decide(req, needs, token),
        (err: unknown) => this.refuseInvalid(req, needs, err)
      );
    }
    return this.decide(req, needs, verified);
  }

  private refuseInvalid(
    req: IncomingMessage,
    needs: readonly RequiredAccess[],
    err: unknown
  ): AccessDecision {
    if (isBearerChallengeError(err)) return this.deny(req, needs, 'invalid_token');
    throw err;
  }

  /** The decision for a verified token (or none), by the policy's zones and anonymous rules. */
  private decide(
    req: IncomingMessage,
    needs: readonly RequiredAccess[],
    token: VerifiedToken | null
  ): AccessDecision {
    const { policy } = this.o;
    const writesPublic = needs.some(
      (n) => n.type === 'repository' && n.action !== 'pull' && policy.zones.isPublic(n.name)
    );
    const allowed =
      !writesPublic &&
      needs.every(
        (n) =>
          (token !== null && satisfies(token.access, [n])) ||
          policy.anonymousAllows(n.type, n.name, n.action)
      );
    if (allowed)
      return token !== null && token.subject !== ''
        ? { ok: true, subject: token.subject }
        : ALLOWED;
    return this.deny(req, needs, token === null ? undefined : 'insufficient_scope');
  }

  private deny(
    req: IncomingMessage,
    needs: readonly RequiredAccess[],
    error: BearerErrorCode | undefined
  ): AccessDecision {
    const challenge = formatChallenge({
      realm: this.o.endpoint.realm(req),
      service: this.o.endpoint.service(),
      required: needs,
      ...(error === undefined ? {} : { error }),
    });
    return {
      ok: false,
      status: 401,
      headers: { 'WWW-Authenticate': challenge },
      detail: unauthorizedDetail(needs),
    };
  }
}
