/**
 * Metadata over HTTP(S) from any Notary server, as the Go client reads it (docs/protocol.md §8.1):
 * only 200 is success, 404 means "no such file", anything else is a NETWORK error; a body is
 * read up to the size the client allows, and a larger one is refused without reading it all.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { CountersignError, fail } from '../errors.js';
import { openJsonGet, readCapped, ResponseTooLarge } from '../util/http-client.js';
import { metaFileName, type MetadataSource } from './source.js';
import { TokenClient } from './token-auth.js';

export type HttpAuth =
  { readonly bearer: string } | { readonly username: string; readonly password: string };

/** Basic credentials exchanged for a bearer token when the server challenges (token-auth.ts). */
export interface TokenCredentials {
  readonly username: string;
  readonly password: string;
}

export interface HttpSourceOptions {
  /** `https://notary.example:4443` (a path prefix is kept). */
  readonly server: string;
  /** PEM file of the CA(s) that issued the server's TLS certificate; otherwise the system CAs. */
  readonly caFile?: string;
  /** Sent with every request. */
  readonly auth?: HttpAuth;
  /** Used on the first 401: the Docker token flow with these Basic credentials. */
  readonly credentials?: TokenCredentials;
  /** Per request, default 30 s. */
  readonly timeoutMs?: number;
  /** How a 401 without credentials tells the user to give them (the command's own flags). */
  readonly credentialsHint?: string;
}

const DEFAULT_CREDENTIALS_HINT = 'give credentials with NOTARY_AUTH or --user';

export class HttpMetadataSource implements MetadataSource {
  private readonly base: URL;
  private readonly ca: Buffer | undefined;
  private readonly authorization: string | undefined;
  private readonly timeoutMs: number;
  private readonly credentialsHint: string;
  private readonly tokens: TokenClient | undefined;
  /** GUN → the bearer token the server gave for it. */
  private readonly bearers = new Map<string, string>();

  constructor(opts: HttpSourceOptions) {
    let base: URL;
    try {
      base = new URL(opts.server);
    } catch {
      fail('USAGE', `not a server URL: ${JSON.stringify(opts.server)}`);
    }
    if (base.protocol !== 'https:' && base.protocol !== 'http:')
      fail('USAGE', `the server URL must be http:// or https://, not ${base.protocol}`);
    this.base = base;
    this.credentialsHint = opts.credentialsHint ?? DEFAULT_CREDENTIALS_HINT;
    try {
      this.ca = opts.caFile === undefined ? undefined : readFileSync(opts.caFile);
    } catch (cause) {
      throw new CountersignError('USAGE', `cannot read the CA file ${opts.caFile}`, { cause });
    }
    const a = opts.auth;
    this.authorization =
      a === undefined
        ? undefined
        : 'bearer' in a
          ? `Bearer ${a.bearer}`
          : `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.tokens =
      opts.credentials === undefined
        ? undefined
        : new TokenClient(opts.credentials, { ca: this.ca, timeoutMs: this.timeoutMs });
  }

  getCurrent(gun: string, role: string, maxBytes: number): Promise<Buffer | null> {
    return this.get(gun, metaFileName.current(role), maxBytes);
  }

  getByChecksum(
    gun: string,
    role: string,
    sha256Hex: string,
    maxBytes: number
  ): Promise<Buffer | null> {
    return this.get(gun, metaFileName.byChecksum(role, sha256Hex), maxBytes);
  }

  getByVersion(
    gun: string,
    role: string,
    version: number,
    maxBytes: number
  ): Promise<Buffer | null> {
    return this.get(gun, metaFileName.byVersion(role, version), maxBytes);
  }

  /** The URL of a metadata file; GUN and role slashes stay slashes, as the notary client writes them. */
  urlOf(gun: string, file: string): URL {
    const prefix = this.base.pathname.replace(/\/+$/, '');
    const u = new URL(this.base.href);
    u.pathname = `${prefix}/v2/${pathSegments(gun)}/_trust/tuf/${pathSegments(file)}`;
    return u;
  }

  private async get(gun: string, file: string, maxBytes: number): Promise<Buffer | null> {
    const url = this.urlOf(gun, file);
    const bearer = this.bearers.get(gun);
    let res = await this.request(url, maxBytes, bearer ?? this.authorization);
    if (res.status === 401 && this.tokens !== undefined && bearer === undefined) {
      // The Docker token flow (docs/client.md "Credentials"): the 401 names the realm.
      const fresh = `Bearer ${await this.tokens.token(res.challenge, gun)}`;
      this.bearers.set(gun, fresh);
      res = await this.request(url, maxBytes, fresh);
    }
    if (res.status === 200) {
      // Metadata is a JSON object; anything else (a proxy's HTML page, an empty body) is the
      // server answering badly, not trust data that fails to verify.
      if (!looksLikeJsonObject(res.body))
        throw new CountersignError(
          'NETWORK',
          `trust server returned a bad response for ${url.pathname}${answered(res.body) || ': an empty body'}`
        );
      return res.body;
    }
    if (res.status === 404) return null;
    throw statusError(res.status, url, res.body, this.tokens !== undefined, this.credentialsHint);
  }

  private async request(
    url: URL,
    maxBytes: number,
    authorization: string | undefined
  ): Promise<{ status: number; body: Buffer; challenge: string | undefined }> {
    const file = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
    const res = await openJsonGet(
      url,
      { authorization, ca: this.ca, timeoutMs: this.timeoutMs },
      (err) => network(`unable to reach trust server at ${url.origin}: ${err.message}`, err)
    );
    let body: Buffer;
    try {
      body = await readBody(res.status, res.body, file, maxBytes);
    } catch (err) {
      throw err instanceof CountersignError ? err : network(`reading ${url.href} failed`, err);
    }
    return { status: res.status, body, challenge: res.headers['www-authenticate'] };
  }
}

function pathSegments(text: string): string {
  return text
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/%3A/gi, ':').replace(/%40/g, '@'))
    .join('/');
}

/** The body of a 200 up to `maxBytes`; of any other status at most 1 KiB (what notary parses of an error). */
async function readBody(
  status: number,
  body: IncomingMessage,
  file: string,
  maxBytes: number
): Promise<Buffer> {
  if (status !== 200) return readCapped(body, 1024, { truncate: true });
  const declared = Number(body.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    body.destroy();
    throw tooLarge(file, maxBytes, `${declared} bytes`);
  }
  try {
    return await readCapped(body, maxBytes);
  } catch (err) {
    throw err instanceof ResponseTooLarge ? tooLarge(file, maxBytes, 'more') : err;
  }
}

function tooLarge(file: string, limit: number, got: string): CountersignError {
  return new CountersignError(
    'META_TOO_LARGE',
    `trust server returned a bad response: ${file} is ${got}, more than the ${limit} bytes the client reads`
  );
}

function statusError(
  status: number,
  url: URL,
  body: Buffer,
  withCredentials: boolean,
  credentialsHint: string
): CountersignError {
  if (status === 401)
    return new CountersignError(
      'NETWORK',
      withCredentials
        ? `the credentials do not allow reading ${url.pathname} from ${url.origin} (401)`
        : `you are not authorized to read ${url.pathname} from ${url.origin} (401; ${credentialsHint})`
    );
  return new CountersignError(
    'NETWORK',
    `unable to reach trust server at this time: ${status} for ${url.pathname}${answered(body)}`
  );
}

function looksLikeJsonObject(body: Buffer): boolean {
  for (const byte of body) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x7b; // '{'
  }
  return false;
}

/** What a server that answered badly said, printable and short, for the error message. */
function answered(body: Buffer): string {
  const text = body
    .subarray(0, 200)
    .toString('utf8')
    .replace(/[^\x20-\x7e]+/g, ' ')
    .trim();
  return text === '' ? '' : `: ${text}`;
}

function network(message: string, cause: unknown): CountersignError {
  return new CountersignError('NETWORK', message, { cause });
}
