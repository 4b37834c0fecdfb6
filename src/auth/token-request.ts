/**
 * What a client asks the token endpoint for, in the two forms docker/distribution's client sends
 * (registry/client/auth/session.go; docs/protocol.md §7.4, docs/clients.md §1.4):
 *
 *   GET  realm?service=S&scope=A&scope=B[&account=U][&offline_token=true&client_id=C]
 *        with `Authorization: Basic` when the client has credentials, none when anonymous;
 *   POST realm, form grant_type=refresh_token&refresh_token=T&service=S&scope=A B&client_id=C
 *        or grant_type=password&username=U&password=P&access_type=offline&…
 *
 * Only parsing lives here: checking the password or refresh token and deciding the grants is
 * the caller's job.
 */
import { fail } from '../errors.js';
import { parseScopes, type Access } from './scope.js';
import { BearerChallengeError } from './token-error.js';

export interface BasicCredentials {
  readonly username: string;
  readonly password: string;
}

export type TokenGrant =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'password'; readonly credentials: BasicCredentials }
  | { readonly kind: 'refresh_token'; readonly refreshToken: string };

export interface TokenRequest {
  readonly grant: TokenGrant;
  /** `service`: becomes the token's audience; the caller checks it is ours. */
  readonly service: string | undefined;
  readonly scopes: Access[];
  /** Scopes that did not parse and were skipped. */
  readonly rejectedScopes: string[];
  /** The client wants a refresh token in the response (`offline_token=true`, `access_type=offline`). */
  readonly offline: boolean;
  readonly clientId: string | undefined;
}

/** docker/distribution's client default when it sends none. */
export const DEFAULT_CLIENT_ID = 'registry-client';

/**
 * The credentials of an `Authorization: Basic` header; null when there is no header or another
 * scheme. A Basic header that cannot be decoded is a failed login (401), not an anonymous one.
 */
export function parseBasicCredentials(authorization: string | undefined): BasicCredentials | null {
  if (authorization === undefined || authorization === '') return null;
  const match = /^basic +(\S+) *$/i.exec(authorization);
  if (match === null) return null;
  const encoded = match[1]!;
  const text =
    /^[A-Za-z0-9+/]*={0,2}$/.test(encoded) && encoded.length % 4 === 0
      ? Buffer.from(encoded, 'base64').toString('utf8')
      : undefined;
  const colon = text?.indexOf(':') ?? -1;
  if (text === undefined || colon <= 0) {
    throw new BearerChallengeError('malformed Basic credentials', undefined);
  }
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

function single(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name);
  if (values.length > 1) fail('INVALID_PARAMETERS', `${name} given more than once`);
  return values[0];
}

export function parseGetTokenRequest(
  query: URLSearchParams,
  authorization: string | undefined
): TokenRequest {
  const credentials = parseBasicCredentials(authorization);
  const account = single(query, 'account');
  // docker sends account=<user> beside the Basic header; a different name is not the same login.
  if (credentials !== null && account !== undefined && account !== credentials.username) {
    fail('INVALID_PARAMETERS', 'account does not match the credentials');
  }
  const { scopes, rejected } = parseScopes(query.getAll('scope'));
  return {
    grant: credentials === null ? { kind: 'anonymous' } : { kind: 'password', credentials },
    service: single(query, 'service'),
    scopes,
    rejectedScopes: rejected,
    offline: single(query, 'offline_token') === 'true',
    clientId: single(query, 'client_id'),
  };
}

export function parsePostTokenRequest(form: URLSearchParams): TokenRequest {
  const grantType = single(form, 'grant_type');
  let grant: TokenGrant;
  switch (grantType) {
    case 'refresh_token': {
      const refreshToken = single(form, 'refresh_token');
      if (refreshToken === undefined || refreshToken === '')
        fail('INVALID_PARAMETERS', 'refresh_token is missing');
      grant = { kind: 'refresh_token', refreshToken };
      break;
    }
    case 'password': {
      const username = single(form, 'username');
      const password = single(form, 'password');
      if (username === undefined || username === '' || password === undefined) {
        fail('INVALID_PARAMETERS', 'username and password are required');
      }
      grant = { kind: 'password', credentials: { username, password } };
      break;
    }
    case undefined:
    default:
      return fail('INVALID_PARAMETERS', 'grant_type must be refresh_token or password');
  }
  const { scopes, rejected } = parseScopes(form.getAll('scope'));
  return {
    grant,
    service: single(form, 'service'),
    scopes,
    rejectedScopes: rejected,
    offline: single(form, 'access_type') === 'offline',
    clientId: single(form, 'client_id') ?? DEFAULT_CLIENT_ID,
  };
}
