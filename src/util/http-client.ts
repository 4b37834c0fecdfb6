/**
 * The one outgoing HTTP(S) client, over node:http and node:https (no other client library):
 * the registry client (src/registry/http.ts), the TUF client's metadata source and token flow
 * (src/client/http-source.ts, token-auth.ts) and, through them, the migration's remote reader;
 * the webhook sender (src/webhooks/send.ts) and the CLI's store API client
 * (src/cli/store-client.ts).
 *
 * `openRequest` sends one request and resolves with the status, headers and the body as a
 * stream (blobs are streamed); `readCapped` reads a body into memory up to a size cap that is
 * enforced while streaming: past the cap the stream is destroyed before more is buffered. One
 * inactivity timeout covers connecting, waiting for headers and a stalled body. Redirects,
 * retries and the wording of errors are the callers' policy: they differ (the registry follows
 * redirects to blob storage; a Notary client follows none) and their messages are part of their
 * interfaces.
 */
import http, { type Agent, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

/**
 * node:https, and TLS under it, loaded by the first https:// request: a plain-HTTP client (a
 * `countersign check` of a local server, a webhook to http://) never pays for them at start-up
 * (docs/client.md "Start-up time"). process.getBuiltinModule, not import(): it is synchronous and
 * works inside the client bundle's vm.Script, which has no dynamic import.
 */
const transportFor = (url: URL): typeof http | typeof import('node:https') =>
  url.protocol === 'https:' ? process.getBuiltinModule('node:https') : http;

/** A body that can be sent more than once (a retry re-opens a stream). */
export type RequestBody = Buffer | { length: number; open: () => Readable };

export interface OutgoingRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  /** Sent with a `content-length`. */
  body?: RequestBody;
  /** PEM CA(s) trusted instead of the system roots (for an agent, set them on the agent). */
  ca?: string | Buffer;
  agent?: Agent;
  /** Inactivity timeout: connecting, waiting for headers, and between body chunks. */
  timeoutMs: number;
  /**
   * The error a request that goes quiet is destroyed with; `answered` tells whether the headers
   * had arrived (the body stalled). Default: `no answer within N ms`.
   */
  timeoutError?: (answered: boolean) => Error;
  /** Ends the request (and its response) when aborted: a deadline on the whole exchange. */
  signal?: AbortSignal;
}

export interface StreamedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
}

/**
 * Sends `req` and resolves when the response headers arrive. Rejects with the low-level error
 * (or the timeout error) if no response comes; a failure after that surfaces on `body`.
 */
export function openRequest(req: OutgoingRequest): Promise<StreamedResponse> {
  const { url, body, timeoutMs } = req;
  const headers: Record<string, string> = { ...req.headers };
  if (body !== undefined) headers['content-length'] = String(body.length);
  const timeoutError = req.timeoutError ?? (() => new Error(`no answer within ${timeoutMs} ms`));
  return new Promise((resolve, reject) => {
    const request = transportFor(url).request(url, {
      method: req.method,
      headers,
      ...(req.agent === undefined ? {} : { agent: req.agent }),
      ...(req.ca === undefined ? {} : { ca: req.ca }),
      ...(req.signal === undefined ? {} : { signal: req.signal }),
    });
    let response: IncomingMessage | undefined;
    request.setTimeout(timeoutMs, () => {
      const err = timeoutError(response !== undefined);
      if (response) response.destroy(err);
      else request.destroy(err);
    });
    request.on('error', (err) => {
      if (!response) reject(err);
    });
    request.on('response', (res) => {
      response = res;
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
    });
    if (body === undefined) request.end();
    else if (Buffer.isBuffer(body)) request.end(body);
    else {
      const source = body.open();
      source.on('error', (err) => request.destroy(err));
      // A request that ends early (refused, reset) must not leave the source stream open.
      request.on('close', () => source.destroy());
      source.pipe(request);
    }
  });
}

/**
 * A GET that asks for JSON, with an Authorization header when one is given. A request that gets
 * no answer is rethrown as what `unreachable` makes of the low-level error.
 */
export async function openJsonGet(
  url: URL,
  opts: { authorization?: string | undefined; ca?: Buffer | undefined; timeoutMs: number },
  unreachable: (err: Error) => Error
): Promise<StreamedResponse> {
  try {
    return await openRequest({
      method: 'GET',
      url,
      headers: {
        Accept: 'application/json',
        ...(opts.authorization ? { Authorization: opts.authorization } : {}),
      },
      timeoutMs: opts.timeoutMs,
      ...(opts.ca ? { ca: opts.ca } : {}),
    });
  } catch (err) {
    throw unreachable(err as Error);
  }
}

/** A body past the cap of readCapped. */
export class ResponseTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`response larger than ${limit} bytes`);
    this.name = 'ResponseTooLarge';
  }
}

/**
 * Reads a whole body of at most `limit` bytes, counting while it streams: a larger one is
 * destroyed and refused with ResponseTooLarge — or, with `truncate`, read to its end keeping
 * only the first `limit` bytes. Other stream errors are thrown as they are.
 */
export async function readCapped(
  body: IncomingMessage,
  limit: number,
  opts: { truncate?: boolean } = {}
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const data of body) {
    let chunk = data as Buffer;
    if (size + chunk.length > limit) {
      if (!opts.truncate) {
        body.destroy();
        throw new ResponseTooLarge(limit);
      }
      chunk = chunk.subarray(0, limit - size);
    }
    size += chunk.length;
    if (chunk.length > 0) chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
