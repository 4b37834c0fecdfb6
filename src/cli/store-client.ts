/**
 * The store API over HTTP(S) for the CLI (docs/interfaces.md "Store API"): JSON requests with Basic
 * credentials, the server's CA from `--ca`, and the API's `{"error":{"code","message"}}`
 * answers turned into errors that say what the server said.
 */
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { CountersignError, fail, isCountersignError } from '../errors.js';
import {
  openRequest,
  readCapped,
  ResponseTooLarge,
  type OutgoingRequest,
  type StreamedResponse,
} from '../util/http-client.js';

export interface StoreClientOptions {
  /** `https://store.example:4443` (a path prefix is kept). */
  readonly server: string;
  readonly caFile?: string;
  readonly username: string;
  readonly password: string;
  /**
   * Gives up when the server has sent nothing for this long. Unset: no limit — a verification
   * against a slow registry or a promotion may take minutes, and the server carries on anyway.
   */
  readonly timeoutMs?: number;
  /** Called every `heartbeatMs` while a request waits for its answer (elapsed ms, the request). */
  readonly onWaiting?: (elapsedMs: number, request: string) => void;
  readonly heartbeatMs?: number;
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
function retryAfterOf(headers: IncomingHttpHeaders): number | undefined {
  const value = headers['retry-after'];
  return value !== undefined && /^\d{1,9}$/.test(value) ? Number(value) : undefined;
}

/** A store answer is a submission, a list or an audit page: far below this. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/** The JSON body of a 2xx answer; otherwise the API's error (or what the server said instead). */
async function answerOf<T>(res: StreamedResponse, origin: string): Promise<T> {
  let text: string;
  try {
    text = (await readCapped(res.body, MAX_ANSWER_BYTES)).toString('utf8');
  } catch (err) {
    if (err instanceof ResponseTooLarge)
      fail('NETWORK', `${origin} answered more than ${MAX_ANSWER_BYTES} bytes`);
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const status = res.status;
  if (status >= 200 && status < 300) {
    if (parsed === undefined) fail('NETWORK', `${origin} answered ${status} without JSON`);
    return parsed as T;
  }
  const err = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (err && typeof err.code === 'string' && typeof err.message === 'string')
    throw new StoreApiError(status, err.code, err.message, retryAfterOf(res.headers));
  return fail('NETWORK', `${origin} answered ${status}: ${text.slice(0, 200)}`);
}

export class StoreClient {
  private readonly base: URL;
  private readonly ca: Buffer | undefined;
  private readonly authorization: string;
  private readonly timeoutMs: number | undefined;
  private readonly onWaiting: StoreClientOptions['onWaiting'];
  private readonly heartbeatMs: number;

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
    this.timeoutMs = o.timeoutMs;
    this.onWaiting = o.onWaiting;
    this.heartbeatMs = o.heartbeatMs ?? 5000;
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
    const answer = this.exchange<T>(url, {
      method,
      url,
      headers: {
        Authorization: this.authorization,
        Accept: 'application/json',
        ...extraHeaders,
        ...(payload ? { 'Content-Type': 'application/json' } : {}),
      },
      ...(payload ? { body: payload } : {}),
      // 0: no limit (see StoreClientOptions.timeoutMs).
      timeoutMs: this.timeoutMs ?? 0,
      timeoutError: () => new Error(`nothing from the server for ${this.timeoutMs} ms (--timeout)`),
      ...(this.ca ? { ca: this.ca } : {}),
    });
    return this.withHeartbeat(answer, `${method} ${url.pathname}`);
  }

  /** One request and its answer, failures as NETWORK errors that name the server. */
  private async exchange<T>(url: URL, request: OutgoingRequest): Promise<T> {
    let res: StreamedResponse;
    try {
      res = await openRequest(request);
    } catch (err) {
      throw new CountersignError(
        'NETWORK',
        `cannot reach ${url.origin}: ${(err as Error).message}`,
        {
          cause: err,
        }
      );
    }
    try {
      return await answerOf<T>(res, url.origin);
    } catch (err) {
      if (isCountersignError(err)) throw err;
      throw new CountersignError('NETWORK', `${url.origin}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** Reports the time waited while `answer` is pending, so a long wait is visibly alive. */
  private async withHeartbeat<T>(answer: Promise<T>, request: string): Promise<T> {
    const onWaiting = this.onWaiting;
    if (onWaiting === undefined) return answer;
    const started = performance.now();
    const timer = setInterval(
      () => onWaiting(performance.now() - started, request),
      this.heartbeatMs
    );
    try {
      return await answer;
    } finally {
      clearInterval(timer);
    }
  }
}
