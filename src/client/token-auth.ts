/**
 * The Docker registry token flow as the notary CLI runs it for reads (docs/client.md
 * "Credentials"): a 401 carries `WWW-Authenticate: Bearer realm=…,service=…`; the client asks
 * `realm?service=…&scope=repository:<gun>:pull` with its Basic credentials and retries with the
 * token it gets. Credentials go only to the realm the server named, and are never logged.
 */
import { CountersignError } from '../errors.js';
import { openJsonGet, readCapped, ResponseTooLarge } from '../util/http-client.js';
import { parseWwwAuthenticate } from '../registry/auth.js';
import type { TokenCredentials } from './http-source.js';

/** A token answer is small JSON; more is not a token service. */
const MAX_TOKEN_RESPONSE = 64 * 1024;

export class TokenClient {
  constructor(
    private readonly credentials: TokenCredentials,
    private readonly tls: { readonly ca: Buffer | undefined; readonly timeoutMs: number }
  ) {}

  /** A bearer token for pulling `gun`, from the realm `challenge` names. */
  async token(challenge: string | undefined, gun: string): Promise<string> {
    const bearer = parseWwwAuthenticate(challenge ?? '').find((c) => c.scheme === 'bearer');
    const realm = bearer?.params.realm;
    if (!bearer || !realm)
      throw new CountersignError(
        'NETWORK',
        `the server answered 401 without a Bearer challenge (${challenge ?? 'no WWW-Authenticate'}), so credentials cannot be used`
      );
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new CountersignError(
        'NETWORK',
        `the token realm ${JSON.stringify(realm)} is not a URL`
      );
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new CountersignError('NETWORK', `the token realm ${realm} is not http(s)`);
    if (bearer.params.service) url.searchParams.set('service', bearer.params.service);
    url.searchParams.set('scope', bearer.params.scope ?? `repository:${gun}:pull`);
    const { status, body } = await this.get(url);
    if (status === 401 || status === 403)
      throw new CountersignError(
        'NETWORK',
        `the token service at ${url.origin}${url.pathname} refused the credentials of ${JSON.stringify(this.credentials.username)} (${status})`
      );
    if (status !== 200)
      throw new CountersignError(
        'NETWORK',
        `the token service at ${url.origin}${url.pathname} answered ${status}`
      );
    let parsed: { token?: unknown; access_token?: unknown };
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch {
      throw new CountersignError(
        'NETWORK',
        `the token service at ${url.origin} did not answer JSON`
      );
    }
    const token = typeof parsed.token === 'string' ? parsed.token : parsed.access_token;
    if (typeof token !== 'string' || token === '')
      throw new CountersignError('NETWORK', `the token service at ${url.origin} gave no token`);
    return token;
  }

  private async get(url: URL): Promise<{ status: number; body: Buffer }> {
    const { username, password } = this.credentials;
    const res = await openJsonGet(
      url,
      {
        authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`,
        ca: this.tls.ca,
        timeoutMs: this.tls.timeoutMs,
      },
      (err) =>
        new CountersignError(
          'NETWORK',
          `unable to reach the token service at ${url.origin}: ${err.message}`,
          { cause: err }
        )
    );
    try {
      return { status: res.status, body: await readCapped(res.body, MAX_TOKEN_RESPONSE) };
    } catch (caught) {
      const err =
        caught instanceof ResponseTooLarge
          ? new Error('token response too large')
          : (caught as Error);
      throw new CountersignError('NETWORK', `reading the token failed: ${err.message}`, {
        cause: err,
      });
    }
  }
}
