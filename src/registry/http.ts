/**
 * HTTP for the registry client, over the one HTTP client (src/util/http-client.ts): a
 * configurable CA, one inactivity timeout for connecting, waiting and streaming, bounded
 * retries on connection failures and 5xx answers, and redirects to blob storage that never
 * carry the registry's Authorization to another origin.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { CountersignError, isCountersignError } from '../errors.js';
import {
  openRequest,
  readCapped,
  ResponseTooLarge,
  type RequestBody,
} from '../util/http-client.js';

/** What an error message names: which registry, which repository, doing what. */
export interface RequestContext {
  registry: string;
  repository?: string;
  operation: string;
}

export type { RequestBody };

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  url: URL;
  headers?: Record<string, string>;
  body?: RequestBody;
  /** False for requests that must not be repeated by the transport (upload steps). */
  retry?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The URL that answered, after redirects. */
  url: URL;
  body: IncomingMessage;
  /** How many times the request was sent (more than one after retries). */
  attempts: number;
}

type Exchange = Omit<HttpResponse, 'attempts'>;

export interface TransportOptions {
  /** PEM CA certificate(s) trusted in addition to Node's bundled roots. */
  ca?: string | Buffer;
  timeoutMs: number;
  retries: number;
  userAgent?: string;
}

const MAX_REDIRECTS = 5;
const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'TIMEOUT',
]);

export class HttpTransport {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly options: TransportOptions;

  constructor(options: TransportOptions) {
    this.options = options;
    this.httpAgent = new http.Agent({ keepAlive: true });
    this.httpsAgent = new https.Agent({
      keepAlive: true,
      ...(options.ca === undefined ? {} : { ca: [...tls.rootCertificates, options.ca.toString()] }),
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /**
   * Sends a request, following redirects for GET and HEAD and retrying connection failures and
   * 5xx answers (the last 5xx is returned for the caller to report). Throws NETWORK errors
   * that name the registry, repository and operation.
   */
  async send(req: HttpRequest, ctx: RequestContext): Promise<HttpResponse> {
    const attempts = req.retry === false ? 1 : this.options.retries + 1;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.followRedirects(req, ctx);
        if (res.status >= 500 && attempt < attempts) {
          res.body.resume();
          await delay(backoff(attempt));
          continue;
        }
        return { ...res, attempts: attempt };
      } catch (err) {
        const code = errorCode(err);
        if (attempt < attempts && code !== undefined && RETRYABLE_CODES.has(code)) {
          await delay(backoff(attempt));
          continue;
        }
        throw asNetworkError(err, ctx, attempt);
      }
    }
  }

  private async followRedirects(req: HttpRequest, ctx: RequestContext): Promise<Exchange> {
    let url = req.url;
    let headers = { ...req.headers };
    for (let hop = 0; ; hop++) {
      const res = await this.exchange({ ...req, url, headers }, ctx);
      const location = res.headers.location;
      const redirect = [301, 302, 303, 307, 308].includes(res.status) && location !== undefined;
      if (!redirect || (req.method !== 'GET' && req.method !== 'HEAD')) return res;
      res.body.resume();
      if (hop >= MAX_REDIRECTS) {
        throw new CountersignError(
          'NETWORK',
          `${describe(ctx)}: more than ${MAX_REDIRECTS} redirects`
        );
      }
      const next = new URL(location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new CountersignError(
          'NETWORK',
          `${describe(ctx)}: redirect to unsupported URL ${next.protocol}`
        );
      }
      // Blob storage behind a redirect authenticates by its signed URL; the registry's token
      // or password must not travel there.
      if (next.origin !== url.origin) headers = withoutAuthorization(headers);
      url = next;
    }
  }

  private async exchange(req: HttpRequest, ctx: RequestContext): Promise<Exchange> {
    const { url } = req;
    const secure = url.protocol === 'https:';
    const res = await openRequest({
      method: req.method,
      url,
      headers: { 'user-agent': this.options.userAgent ?? 'countersign', ...req.headers },
      ...(req.body === undefined ? {} : { body: req.body }),
      agent: secure ? this.httpsAgent : this.httpAgent,
      timeoutMs: this.options.timeoutMs,
      timeoutError: (streaming) => timeoutError(ctx, this.options.timeoutMs, streaming),
    });
    return { ...res, url };
  }
}

/** Reads a whole (small) body, refusing more than `limit` bytes. */
export async function readBody(
  res: HttpResponse,
  limit: number,
  ctx: RequestContext
): Promise<Buffer> {
  try {
    return await readCapped(res.body, limit);
  } catch (err) {
    throw asNetworkError(
      err instanceof ResponseTooLarge
        ? new CountersignError('NETWORK', `${describe(ctx)}: response larger than ${limit} bytes`)
        : err,
      ctx
    );
  }
}

export function describe(ctx: RequestContext): string {
  const repo = ctx.repository === undefined ? '' : ` ${ctx.repository}`;
  return `registry ${ctx.registry}${repo}: ${ctx.operation}`;
}

/** Wraps any low-level failure in a NETWORK error with a reason a person can act on. */
export function asNetworkError(err: unknown, ctx: RequestContext, attempts = 1): CountersignError {
  const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
  if (isCountersignError(err)) {
    if (err.code !== 'NETWORK' || attempts === 1) return err;
    return new CountersignError('NETWORK', `${err.message}${tries}`, {
      cause: err,
      context: err.context,
    });
  }
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  const reason = code !== undefined && REASONS[code] ? `${REASONS[code]} (${code})` : message;
  const tlsHint =
    code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)
      ? '; configure the CA that issued the registry certificate'
      : '';
  return new CountersignError('NETWORK', `${describe(ctx)}: ${reason}${tlsHint}${tries}`, {
    cause: err,
    context: { ...ctx, ...(code === undefined ? {} : { code }) },
  });
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

function timeoutError(ctx: RequestContext, ms: number, streaming: boolean): CountersignError {
  const what = streaming ? 'the response stalled' : 'no response';
  const err = new CountersignError('NETWORK', `${describe(ctx)}: ${what} for ${ms} ms (timeout)`, {
    context: { ...ctx, code: 'TIMEOUT' },
  });
  return err;
}

function errorCode(err: unknown): string | undefined {
  if (isCountersignError(err)) {
    return err.context?.code;
  }
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function withoutAuthorization(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization')
  );
}

function backoff(attempt: number): number {
  return Math.min(2000, 100 * 2 ** (attempt - 1));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
