/**
 * One HTTP request with exactly the bytes given (path sent verbatim, any method, any body) on a
 * fresh connection, reporting a dropped connection as an outcome rather than an error: the
 * reference notary-server answers some malformed uploads by closing the socket (curl rc 52), and
 * differential tests assert that too.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import type { ServerUnderTest } from './server-under-test.js';

export type RawOutcome =
  | {
      readonly kind: 'response';
      readonly status: number;
      readonly headers: IncomingHttpHeaders;
      readonly body: Buffer;
    }
  | { readonly kind: 'dropped'; readonly error: string };

export interface RawRequest {
  readonly method: string;
  /** Sent as is (already percent-encoded where needed), query included. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string | number>>;
  readonly body?: Buffer;
  readonly timeoutMs?: number;
}

export function rawRequest(server: ServerUnderTest, r: RawRequest): Promise<RawOutcome> {
  const u = new URL(server.url);
  const https = u.protocol === 'https:';
  const headers: Record<string, string | number> = { ...(r.headers ?? {}) };
  // A body gets its Content-Length unless the caller framed it otherwise (chunked, or a wrong length on purpose).
  const framed = Object.keys(headers).some((h) =>
    ['content-length', 'transfer-encoding'].includes(h.toLowerCase())
  );
  if (r.body !== undefined && !framed) headers['Content-Length'] = r.body.length;
  const options = {
    host: u.hostname,
    port: Number(u.port || (https ? 443 : 80)),
    method: r.method,
    path: r.path,
    headers,
    agent: false as const,
    timeout: r.timeoutMs ?? 10_000,
    ...(https && server.caFile ? { ca: readFileSync(server.caFile) } : {}),
  };
  return new Promise((resolve) => {
    let settled = false;
    const settle = (o: RawOutcome) => {
      if (!settled) {
        settled = true;
        resolve(o);
      }
    };
    const req = https ? httpsRequest(options) : httpRequest(options);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        settle({
          kind: 'response',
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
        })
      );
      res.on('error', (e) => settle({ kind: 'dropped', error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) =>
      settle({
        kind: 'dropped',
        error: `${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}`.trim(),
      })
    );
    req.end(r.body);
  });
}
