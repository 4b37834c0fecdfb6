/**
 * Credentials for reading a live Notary server (`import-notary --from-url`), the way the notary
 * CLI sends them: NOTARY_AUTH holds base64 `user:password`; a server that answers `GET /v2/`
 * with 401 and a Bearer challenge gets them at its token realm for `repository:GUN:pull`
 * (the Docker token flow, src/registry/auth.ts), a Basic challenge gets them directly.
 */
import { fail } from '../errors.js';
import type { HttpAuth } from '../client/http-source.js';
import { Authenticator, type Credentials } from '../registry/auth.js';
import { HttpTransport } from '../registry/http.js';
import type { Clock } from '../util/clock.js';

/** NOTARY_AUTH decoded, or no credentials. */
export function notaryAuthCredentials(env: NodeJS.ProcessEnv): Credentials {
  const raw = env.NOTARY_AUTH;
  if (raw === undefined || raw === '') return {};
  const text = Buffer.from(raw, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) fail('USAGE', 'NOTARY_AUTH must be the base64 of user:password');
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

export async function notaryAuthorization(opts: {
  server: string;
  gun: string;
  ca?: Buffer;
  credentials: Credentials;
  clock: Clock;
}): Promise<HttpAuth | undefined> {
  const transport = new HttpTransport({
    timeoutMs: 30_000,
    retries: 1,
    ...(opts.ca ? { ca: opts.ca } : {}),
  });
  const ctx = { registry: opts.server, repository: opts.gun, operation: 'read trust data' };
  try {
    const res = await transport.send({ method: 'GET', url: new URL('/v2/', opts.server) }, ctx);
    res.body.resume();
    if (res.status !== 401) return undefined;
    const header = await new Authenticator(opts.credentials, transport, opts.clock).respond(
      headerText(res.headers['www-authenticate']),
      [`repository:${opts.gun}:pull`],
      undefined,
      ctx
    );
    return header.startsWith('Bearer ')
      ? { bearer: header.slice('Bearer '.length) }
      : { username: opts.credentials.username ?? '', password: opts.credentials.password ?? '' };
  } finally {
    transport.close();
  }
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}
