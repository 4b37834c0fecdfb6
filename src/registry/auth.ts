/**
 * Registry authentication: Basic, and the Docker token flow (a `WWW-Authenticate: Bearer`
 * challenge names a realm, service and scope; the realm answers `GET realm?service=&scope=`
 * with a token, Basic credentials attached when configured). Tokens are cached per scope set
 * until shortly before they expire, so a copy of many blobs fetches one token, not one per blob.
 */
import { CountersignError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import { BoundedCache } from '../util/bounded-cache.js';
import { describe, readBody, type HttpTransport, type RequestContext } from './http.js';
import { parseJson } from '../canonical/parse.js';

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a WWW-Authenticate value (RFC 7235): one or more challenges, each a scheme then
 * comma-separated `name=value` or `name="quoted value"` parameters.
 */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  const tchar = /[A-Za-z0-9!#$%&'*+.^_`|~-]/;
  let i = 0;
  const skip = (chars: RegExp): void => {
    while (i < header.length && chars.test(header[i]!)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < header.length && tchar.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < header.length) {
    skip(/[\s,]/);
    const name = token();
    if (name === '') {
      i++; // a stray character: step over it rather than loop
      continue;
    }
    skip(/\s/);
    if (header[i] !== '=') {
      current = { scheme: name.toLowerCase(), params: {} };
      challenges.push(current);
      continue;
    }
    i++;
    skip(/\s/);
    let value = '';
    if (header[i] === '"') {
      i++;
      while (i < header.length && header[i] !== '"') {
        if (header[i] === '\\') i++;
        value += header[i] ?? '';
        i++;
      }
      i++;
    } else {
      const start = i;
      while (i < header.length && header[i] !== ',' && !/\s/.test(header[i]!)) i++;
      value = header.slice(start, i);
    }
    if (current) current.params[name.toLowerCase()] = value;
  }
  return challenges;
}

export interface Credentials {
  username?: string;
  password?: string;
}

interface CachedToken {
  header: string;
  expiresAt: number;
}

/** Tokens may be reused until this long before they expire, to absorb clock skew and latency. */
const EXPIRY_MARGIN_MS = 10_000;
/** The token spec's default lifetime when the realm does not say. */
const DEFAULT_TOKEN_SECONDS = 60;
const TOKEN_RESPONSE_LIMIT = 1024 * 1024;

/**
 * Tokens kept, by scope set: one per repository the store has looked at recently. A client lives
 * as long as the app and every submission names a repository, so the map is bounded.
 */
const MAX_CACHED_TOKENS = 1024;

export class Authenticator {
  private basic = false;
  private readonly tokens = new BoundedCache<string, CachedToken>(MAX_CACHED_TOKENS);

  constructor(
    private readonly credentials: Credentials,
    private readonly transport: HttpTransport,
    private readonly clock: Clock
  ) {}

  /** The Authorization header to send up front for these scopes, if one is known. */
  authorization(scopes: string[]): string | undefined {
    const cached = this.tokens.get(scopeKey(scopes));
    if (cached && cached.expiresAt > this.clock.now().getTime()) return cached.header;
    if (this.basic) return this.basicHeader();
    return undefined;
  }

  /**
   * Answers a 401: returns the Authorization header to retry with, or throws REGISTRY_AUTH when
   * the header that was just refused is the best there is.
   */
  async respond(
    wwwAuthenticate: string | undefined,
    scopes: string[],
    refused: string | undefined,
    ctx: RequestContext
  ): Promise<string> {
    const challenges = parseWwwAuthenticate(wwwAuthenticate ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) {
      if (refused?.startsWith('Bearer ')) {
        throw authError(
          ctx,
          `the registry refused the token for ${scopes.join(' ')} (insufficient access)`
        );
      }
      return this.fetchToken(bearer, scopes, ctx);
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (this.credentials.username === undefined) {
        throw authError(ctx, 'the registry requires credentials (Basic) and none are configured');
      }
      if (refused?.startsWith('Basic ')) {
        throw authError(
          ctx,
          `the registry refused the credentials of user ${JSON.stringify(this.credentials.username)}`
        );
      }
      this.basic = true;
      return this.basicHeader();
    }
    throw authError(
      ctx,
      `the registry answered 401 with no usable challenge (${wwwAuthenticate ?? 'none'})`
    );
  }

  private basicHeader(): string {
    const { username = '', password = '' } = this.credentials;
    return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }

  private async fetchToken(
    challenge: Challenge,
    scopes: string[],
    ctx: RequestContext
  ): Promise<string> {
    const { realm, service, scope } = challenge.params;
    if (!realm) throw authError(ctx, 'the Bearer challenge names no realm');
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw authError(ctx, `the Bearer challenge realm ${JSON.stringify(realm)} is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw authError(ctx, `the Bearer challenge realm ${realm} is not http(s)`);
    }
    if (service) url.searchParams.set('service', service);
    // The challenge's scope is what the registry will check; ours covers a cache miss with none.
    const wanted = new Set([...(scope ? scope.split(' ').filter(Boolean) : []), ...scopes]);
    for (const s of [...wanted].sort()) url.searchParams.append('scope', s);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.credentials.username !== undefined) headers.authorization = this.basicHeader();
    const tokenCtx = {
      ...ctx,
      operation: `${ctx.operation} (token from ${url.origin}${url.pathname})`,
    };
    const res = await this.transport.send({ method: 'GET', url, headers }, tokenCtx);
    const body = await readBody(res, TOKEN_RESPONSE_LIMIT, tokenCtx);
    if (res.status === 401 || res.status === 403) {
      const who =
        this.credentials.username === undefined
          ? 'anonymous access (no credentials are configured)'
          : 'the credentials';
      throw authError(tokenCtx, `the token service refused ${who} (HTTP ${res.status})`);
    }
    if (res.status !== 200) {
      throw new CountersignError('NETWORK', `${describe(tokenCtx)}: HTTP ${res.status}`, {
        context: { ...ctx, status: res.status },
      });
    }
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      parsed = parseJson(body.toString('utf8')) as typeof parsed;
    } catch {
      throw new CountersignError(
        'NETWORK',
        `${describe(tokenCtx)}: the token response is not JSON`
      );
    }
    const token = typeof parsed.token === 'string' ? parsed.token : parsed.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new CountersignError(
        'NETWORK',
        `${describe(tokenCtx)}: the token response has no token`
      );
    }
    const seconds =
      typeof parsed.expires_in === 'number' && parsed.expires_in > 0
        ? parsed.expires_in
        : DEFAULT_TOKEN_SECONDS;
    const header = `Bearer ${token}`;
    this.tokens.set(scopeKey(scopes), {
      header,
      expiresAt: this.clock.now().getTime() + seconds * 1000 - EXPIRY_MARGIN_MS,
    });
    return header;
  }
}

function scopeKey(scopes: string[]): string {
  return [...scopes].sort().join(' ');
}

function authError(ctx: RequestContext, reason: string): CountersignError {
  return new CountersignError('REGISTRY_AUTH', `${describe(ctx)}: ${reason}`, {
    context: { ...ctx },
  });
}
