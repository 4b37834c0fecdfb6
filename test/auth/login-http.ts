/**
 * Drives logins over real sockets: the app listening on 127.0.0.1, each request on a connection
 * of its own bound to a chosen loopback source address (127.0.0.2, 127.0.0.3, …), so the server
 * sees distinct client addresses as it would from distinct hosts.
 */
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from '../../src/app.js';
import { basic } from '../helpers/app.js';

export interface Listening {
  readonly port: number;
  close(): Promise<void>;
}

export async function listen(app: App): Promise<Listening> {
  const server: Server = createServer((req, res) => app.handle(req, res));
  server.maxConnections = 2000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface Answer {
  readonly status: number;
  readonly retryAfter?: string;
  readonly body: string;
  /** From sending the request to the end of the answer. */
  readonly ms: number;
}

/** One request from `from` (a loopback source address), Basic credentials if given. */
export function call(
  port: number,
  o: {
    from: string;
    path?: string;
    user?: string;
    password?: string;
    headers?: Record<string, string>;
    /** A keep-alive agent whose open connection to reuse; default: a new connection. */
    agent?: Agent;
  }
): Promise<Answer> {
  const started = performance.now();
  return new Promise<Answer>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        localAddress: o.from,
        agent: o.agent ?? false,
        path: o.path ?? '/auth/token?scope=repository:example.com/app:pull',
        headers: {
          ...(o.user !== undefined ? { Authorization: basic(o.user, o.password ?? '') } : {}),
          ...o.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const retry = res.headers['retry-after'];
          resolve({
            status: res.statusCode ?? 0,
            ...(retry !== undefined ? { retryAfter: retry } : {}),
            body: Buffer.concat(chunks).toString('utf8'),
            ms: performance.now() - started,
          });
        });
        res.on('error', reject);
      }
    );
    req.on('error', reject);
    req.end();
  });
}

/** How many answers had each status, e.g. { 401: 10, 429: 290 }. */
export function statusCounts(answers: readonly Answer[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
  return counts;
}
