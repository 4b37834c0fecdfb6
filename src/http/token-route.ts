/**
 * The built-in token service, mounted at `/auth` so the realm is `<base>/auth/token`
 * (docs/protocol.md §7.4, docs/clients.md §1.4):
 *
 *   GET  /auth/token?service=S&scope=…[&account=U][&offline_token=true&client_id=C]
 *        no Authorization → 200 with the anonymous grants (possibly an empty `access`);
 *        Basic credentials → 200 with the account's grants, 401 when they are wrong,
 *        429 while the account or address is rate-limited;
 *   POST /auth/token  grant_type=refresh_token|password (form), docker's OAuth form.
 *
 * The grants are what the account asked for and holds (src/auth/policy.ts). Errors use
 * distribution's `{"errors":[{"code","message"}]}`: the docker and notary CLIs print them
 * (`unauthorized: invalid credentials`). Nothing secret is logged: the account name, the scopes
 * asked for and the status only.
 */
import express, { type Request, type Response, type Router } from 'express';
import { isCountersignError } from '../errors.js';
import { retryAfterSeconds, type PasswordLogin } from '../auth/login.js';
import type { AccessPolicy } from '../auth/policy.js';
import { principalOf, type Principal } from '../auth/principal.js';
import type { RefreshTokens } from '../auth/refresh-tokens.js';
import { formatScope } from '../auth/scope.js';
import { isBearerChallengeError } from '../auth/token-error.js';
import {
  tokenResponseBody,
  type IssuedToken,
  type IssueTokenRequest,
} from '../auth/token-issuer.js';
import {
  DEFAULT_CLIENT_ID,
  parseGetTokenRequest,
  parsePostTokenRequest,
  type TokenRequest,
} from '../auth/token-request.js';
import type { AccountStore } from '../storage/types.js';
import type { Logger } from '../util/log.js';
import { userAgentOf, type ClientAddress } from './client-address.js';

export interface TokenRouteOptions {
  readonly issuer: { issue(request: IssueTokenRequest): Promise<IssuedToken> };
  /** The service tokens are for; a request naming another is refused. */
  readonly service: () => string;
  readonly policy: AccessPolicy;
  readonly login: PasswordLogin;
  readonly accounts: AccountStore;
  readonly refreshTokens: RefreshTokens;
  readonly log: Logger;
  /** The client address the login limits key on (src/http/client-address.ts). */
  readonly clientAddress: ClientAddress;
}

/** A refused token request: status, distribution error code, message, extra headers. */
class TokenRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {}
  ) {
    super(message);
  }
}

const INVALID_CREDENTIALS = new TokenRefusal(401, 'UNAUTHORIZED', 'invalid credentials', {
  'WWW-Authenticate': 'Basic realm="countersign", charset="UTF-8"',
});

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

export function tokenRoute(o: TokenRouteOptions): Router {
  const router = express.Router();
  const form = express.text({ type: 'application/x-www-form-urlencoded', limit: '8kb' });

  router.get('/token', (req, res) => {
    const query = new URL(req.originalUrl, 'http://localhost').searchParams;
    return handle(o, req, res, () => parseGetTokenRequest(query, req.headers.authorization));
  });
  router.post('/token', form, (req, res) => {
    const body = typeof req.body === 'string' ? req.body : '';
    return handle(o, req, res, () => parsePostTokenRequest(new URLSearchParams(body)));
  });
  return router;
}

async function handle(
  o: TokenRouteOptions,
  req: Request,
  res: Response,
  parse: () => TokenRequest
): Promise<void> {
  const started = process.hrtime.bigint();
  let request: TokenRequest | undefined;
  let principal: Principal | null = null;
  let status = 200;
  try {
    request = parse();
    const service = o.service();
    if (request.service !== undefined && request.service !== service) {
      throw new TokenRefusal(
        400,
        'INVALID_REQUEST',
        `this token service issues tokens for service ${JSON.stringify(service)}`
      );
    }
    principal = await authenticate(o, request, o.clientAddress(req), service);
    const access = o.policy.grant(principal, request.scopes);
    const issued = await o.issuer.issue({
      subject: principal?.name ?? '',
      audience: service,
      access,
    });
    let refreshToken: string | undefined;
    if (request.offline && principal !== null && request.grant.kind === 'password') {
      refreshToken = await o.refreshTokens.issue(principal.name, {
        service,
        clientId: request.clientId ?? DEFAULT_CLIENT_ID,
      });
    }
    res.status(200).set(NO_STORE).json(tokenResponseBody(issued, refreshToken));
  } catch (err) {
    const refusal = toRefusal(err, o.log);
    status = refusal.status;
    res
      .status(refusal.status)
      .set({ ...NO_STORE, ...refusal.headers })
      .json({ errors: [{ code: refusal.code, message: refusal.message }] });
  } finally {
    o.log.info(
      {
        method: req.method,
        path: '/auth/token',
        status,
        account: principal?.name ?? accountAsked(request),
        grant: request?.grant.kind,
        scopes: request?.scopes.map(formatScope),
        client: o.clientAddress(req),
        ua: userAgentOf(req),
        ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
      },
      'token request'
    );
  }
}

/** Who the request proves to be: null for anonymous; throws a TokenRefusal for bad credentials. */
async function authenticate(
  o: TokenRouteOptions,
  request: TokenRequest,
  address: string,
  service: string
): Promise<Principal | null> {
  const grant = request.grant;
  switch (grant.kind) {
    case 'anonymous':
      return null;
    case 'password': {
      const result = await o.login.login(grant.credentials, address);
      if (result.ok) return result.principal;
      if (result.reason === 'rate_limited') {
        throw new TokenRefusal(429, 'TOOMANYREQUESTS', 'too many failed logins; try again later', {
          'Retry-After': retryAfterSeconds(result.retryAfterMs),
        });
      }
      if (result.reason === 'busy') {
        throw new TokenRefusal(503, 'UNAVAILABLE', 'too many logins at once; try again shortly', {
          'Retry-After': retryAfterSeconds(result.retryAfterMs),
        });
      }
      throw INVALID_CREDENTIALS;
    }
    case 'refresh_token': {
      const record = await o.refreshTokens.redeem(grant.refreshToken, {
        service,
        clientId: request.clientId ?? DEFAULT_CLIENT_ID,
      });
      const account = await o.accounts.get(record.account);
      if (account === null) throw INVALID_CREDENTIALS;
      return principalOf(account);
    }
  }
}

function toRefusal(err: unknown, log: Logger): TokenRefusal {
  if (err instanceof TokenRefusal) return err;
  if (isBearerChallengeError(err)) return INVALID_CREDENTIALS;
  if (isCountersignError(err, 'INVALID_PARAMETERS'))
    return new TokenRefusal(400, 'INVALID_REQUEST', err.message);
  log.error(
    { path: '/auth/token', err: err instanceof Error ? err.message : String(err) },
    'token request failed'
  );
  return new TokenRefusal(500, 'UNKNOWN', 'internal error');
}

function accountAsked(request: TokenRequest | undefined): string | undefined {
  return request?.grant.kind === 'password' ? request.grant.credentials.username : undefined;
}
