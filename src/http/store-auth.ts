/**
 * Who is calling the store API: `Authorization: Bearer <token>` of the server's token mode (the
 * account its `sub` names, as it is now — a removed account's tokens stop working at once) or
 * HTTP Basic credentials of a local account (rate-limited, src/auth/login.ts). Routes then check
 * the Principal's role (`requireRole`) or ownership (AccessPolicy.ownsRepository).
 *
 * 401 `unauthorized` without usable credentials, 429 `rate_limited` while a login is limited,
 * 403 `forbidden` when the account may not do that.
 */
import type { RequestHandler, Response } from 'express';
import { CountersignError } from '../errors.js';
import type { PasswordLogin } from '../auth/login.js';
import { bearerToken, type TokenVerifier } from '../auth/notary-access.js';
import { principalOf, type AccountRole, type Principal } from '../auth/principal.js';
import { isBearerChallengeError } from '../auth/token-error.js';
import { parseBasicCredentials, type BasicCredentials } from '../auth/token-request.js';
import type { VerifiedToken } from '../auth/token-verifier.js';
import type { AccountStore } from '../storage/types.js';
import { retryAfterSeconds } from '../auth/login.js';
import type { ClientAddress } from './client-address.js';

export interface StoreAuthOptions {
  readonly login: PasswordLogin;
  readonly accounts: AccountStore;
  /** Verifies Bearer tokens; absent when auth is off (then only Basic works). */
  readonly verifier?: TokenVerifier;
  /** The client address the login limits key on (src/http/client-address.ts). */
  readonly clientAddress: ClientAddress;
}

/** The WWW-Authenticate of the store API's 401s: curl and browsers understand Basic. */
const CHALLENGE = { 'WWW-Authenticate': 'Basic realm="countersign", charset="UTF-8"' };

function unauthorized(message: string): CountersignError {
  return new CountersignError('unauthorized', message, { headers: CHALLENGE });
}

function refused(result: { reason: 'rate_limited' | 'busy'; retryAfterMs: number }) {
  const headers = { 'Retry-After': retryAfterSeconds(result.retryAfterMs) };
  return result.reason === 'busy'
    ? new CountersignError('unavailable', 'Too many logins at once; try again shortly.', {
        headers,
      })
    : new CountersignError('rate_limited', 'Too many failed logins; try again later.', {
        headers,
      });
}

/** The caller, or null when the request carries no Authorization header at all. */
export async function identify(
  o: StoreAuthOptions,
  authorization: string | undefined,
  address: string
): Promise<Principal | null> {
  if (authorization === undefined || authorization === '') return null;
  const token = bearerToken(authorization);
  if (token !== null) {
    if (o.verifier === undefined)
      throw unauthorized('Bearer tokens are not accepted: token auth is off.');
    let verified: VerifiedToken;
    try {
      verified = await o.verifier.verify(token);
    } catch (err) {
      if (isBearerChallengeError(err)) throw unauthorized('The token is not valid.');
      throw err;
    }
    if (verified.subject === '') throw unauthorized('An anonymous token names no account.');
    const account = await o.accounts.get(verified.subject);
    if (account === null) throw unauthorized('The token names no account.');
    return principalOf(account);
  }
  let credentials: BasicCredentials | null;
  try {
    credentials = parseBasicCredentials(authorization);
  } catch (err) {
    if (isBearerChallengeError(err)) throw unauthorized('The Basic credentials are malformed.');
    throw err;
  }
  if (credentials === null) throw unauthorized('Use Basic credentials or a Bearer token.');
  const result = await o.login.login(credentials, address);
  if (result.ok) return result.principal;
  if (result.reason !== 'invalid') throw refused(result);
  throw unauthorized('Invalid credentials.');
}

/** Requires credentials; the Principal is then available through `principalOf(res)`. */
export function authenticate(o: StoreAuthOptions): RequestHandler {
  return async (req, res, next) => {
    const principal = await identify(o, req.headers.authorization, o.clientAddress(req));
    if (principal === null) throw unauthorized('Authentication is required.');
    res.locals.principal = principal;
    next();
  };
}

/** Like authenticate, but a request without an Authorization header goes on anonymously. */
export function identifyOptional(o: StoreAuthOptions): RequestHandler {
  return async (req, res, next) => {
    const principal = await identify(o, req.headers.authorization, o.clientAddress(req));
    if (principal !== null) res.locals.principal = principal;
    next();
  };
}

/** The authenticated caller of this request (after `authenticate`). */
export function requestPrincipal(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (p === undefined) throw unauthorized('Authentication is required.');
  return p;
}

/** The caller if any (after `identifyOptional`). */
export function optionalPrincipal(res: Response): Principal | undefined {
  return res.locals.principal as Principal | undefined;
}

/** 403 `forbidden` unless the caller has one of these roles. Use after `authenticate`. */
export function requireRole(...roles: AccountRole[]): RequestHandler {
  return (_req, res, next) => {
    const p = requestPrincipal(res);
    if (!roles.includes(p.role)) {
      throw new CountersignError(
        'forbidden',
        `This needs the role ${roles.join(' or ')}; ${p.name} is a ${p.role}.`
      );
    }
    next();
  };
}
