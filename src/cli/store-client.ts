/**
 * The store API over HTTP(S) for the CLI (docs/interfaces.md "Store API"): JSON requests with Basic
 * credentials, the server's CA from `--ca`, and the API's `{"error":{"code","message"}}`
 * answers turned into errors that say what the server said.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { CountersignError, fail } from '../errors.js';

export interface StoreClientOptions {
  /** `https://store.example:4443` (a path prefix is kept). */
  readonly server: string;
  readonly caFile?: string;
  readonly username: string;
  readonly password: string;
  readonly timeoutMs?: number;
}

/**
 * A store API refusal: the HTTP status, the error body's code and message, and the server's
 * Retry-After (429 after too many failed logins, 503 when it is busy) so the user knows when to
 * try again.
 */
export class StoreApiError extends CountersignError {
  constructor(
    readonly status: number,
    readonly apiCode: string,
    message: string,
    readonly retryAfterSeconds?: number
  ) {
    super(
      'NETWORK',
      `${apiCode}: ${message} (HTTP ${status}${retryAfterSeconds !== undefined ? `; retry after ${retryAfterSeconds} s` : ''})`
    );
  }
}

/** Retry-After in delay-seconds form (the only form the server sends); undefined otherwise. */
function retryAfterOf(res: IncomingMessage): number | undefined {
  const value = res.headers['retry-after'];
  return value !== undefined && /^\d{1,9}$/.test(value) ? Number(value) : undefined;
}

export class StoreClient {
  private readonly base: URL;
  private readonly ca: Buffer | undefined;
  private readonly authorization: string;
  private readonly timeoutMs: number;

  constructor(o: StoreClientOptions) {
    try {
      this.base = new URL(o.server);
    } catch {
      fail('USAGE', `not a server URL: ${JSON.stringify(o.server)}`);
    }
    if (this.base.protocol !== 'https:' && this.base.protocol !== 'http:') {
      fail('USAGE', `the server URL must be http:// or https://, not ${this.base.protocol}`);
    }
    try {
      this.ca = o.caFile === undefined ? undefined : readFileSync(o.caFile);
    } catch (cause) {
      throw new CountersignError('USAGE', `cannot read the CA file ${o.caFile}`, { cause });
    }
    this.authorization = `Basic ${Buffer.from(`${o.username}:${o.password}`).toString('base64')}`;
    this.timeoutMs = o.timeoutMs ?? 120_000;
  }

  get<T>(path: string, query: Record<string, string | undefined> = {}): Promise<T> {
    return this.send<T>('GET', path, undefined, query);
  }

  /** `headers`: more request headers (`Prefer: respond-async`, src/cli/job-follow.ts). */
  post<T>(path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    return this.send<T>('POST', path, body ?? {}, {}, headers);
  }

  /** POSTs these bytes as they are (a scanner report), as application/json. */
  postBytes<T>(path: string, bytes: Buffer): Promise<T> {
    return this.send<T>('POST', path, bytes);
  }

  private url(path: string, query: Record<string, string | undefined>): URL {
    const prefix = this.base.pathname.replace(/\/$/, '');
    const u = new URL(this.base.href);
    u.pathname = `${prefix}/api/v1${path}`;
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, v);
    return u;
  }

  private send<T>(
    method: string,
    path: string,
    body: unknown,
    query: Record<string, string | undefined> = {},
    extraHeaders: Record<string, string> = {}
  ): Promise<T> {
    const url = this.url(path, query);
    const payload =
      body === undefined
        ? undefined
        : Buffer.isBuffer(body)
          ? body
          : Buffer.from(JSON.stringify(body));
    const options: RequestOptions & { ca?: Buffer } = {
      method,
      headers: {
        Authorization: this.authorization,
        Accept: 'application/json',
        ...extraHeaders,
        ...(payload
          ? { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) }
          : {}),
      },
      timeout: this.timeoutMs,
      ...(this.ca ? { ca: this.ca } : {}),
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<T>((resolve, reject) => {
      const req = send(url, options, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            if (parsed === undefined)
              reject(
                new CountersignError('NETWORK', `${url.origin} answered ${status} without JSON`)
              );
            else resolve(parsed as T);
            return;
          }
          const err = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)
            ?.error;
          if (err && typeof err.code === 'string' && typeof err.message === 'string')
            reject(new StoreApiError(status, err.code, err.message, retryAfterOf(res)));
          else
            reject(
              new CountersignError(
                'NETWORK',
                `${url.origin} answered ${status}: ${text.slice(0, 200)}`
              )
            );
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (err) =>
        reject(
          new CountersignError('NETWORK', `cannot reach ${url.origin}: ${err.message}`, {
            cause: err,
          })
        )
      );
      req.end(payload);
    });
  }
}
