/**
 * The one error the token-auth modules throw toward a client: UNAUTHORIZED (401) plus the RFC 6750
 * `error` parameter that notary-server puts in its Bearer challenge (docker/distribution
 * `registry/auth/token/accesscontroller.go`, `challengeParams`):
 *   - no usable Authorization header      → no `error` parameter
 *   - malformed or unverifiable token     → `error="invalid_token"`
 *   - valid token without the needed scope → `error="insufficient_scope"` (still 401, never 403)
 * The HTTP layer reads `bearerError` to build the challenge; the message is for logs only.
 */
import { CountersignError, isCountersignError } from '../errors.js';

export type BearerErrorCode = 'invalid_token' | 'insufficient_scope';

export class BearerChallengeError extends CountersignError {
  /** The challenge's `error` parameter; undefined when the request simply carried no token. */
  readonly bearerError: BearerErrorCode | undefined;

  constructor(
    message: string,
    bearerError: BearerErrorCode | undefined,
    options?: { cause?: unknown }
  ) {
    super('UNAUTHORIZED', message, options);
    this.name = 'BearerChallengeError';
    this.bearerError = bearerError;
  }
}

/** A token that cannot be parsed, verified or trusted. */
export function invalidToken(message: string, cause?: unknown): never {
  throw new BearerChallengeError(
    message,
    'invalid_token',
    cause === undefined ? undefined : { cause }
  );
}

export function isBearerChallengeError(err: unknown): err is BearerChallengeError {
  return err instanceof BearerChallengeError && isCountersignError(err, 'UNAUTHORIZED');
}
