/**
 * The express side of the listener: `/auth/…` (the built-in token service), `/api/…` (the
 * store API) and `/ui/…` (the review UI). The Notary API stays on plain node:http
 * (notary-api.ts); app.ts sends each request to one or the other by path. Every request is logged once, without headers, query or body —
 * they can carry passwords and tokens.
 */
import express, { type Express, type Router } from 'express';
import type { Principal } from '../auth/principal.js';
import type { Logger } from '../util/log.js';
import { userAgentOf, type ClientAddress } from './client-address.js';
import { sendStoreError, storeErrorHandler } from './store-errors.js';

export interface WebAppOptions {
  /** Mounted at /auth when the built-in token service is on. */
  readonly tokenRoute?: Router;
  /** Mounted at /api/v1. */
  readonly storeApi: Router;
  /** The review UI, mounted at /ui (src/ui/routes.ts); absent without a store. */
  readonly ui?: Router;
  readonly log: Logger;
  readonly requestLog?: boolean;
  /** The client address for log lines (src/http/client-address.ts). */
  readonly clientAddress: ClientAddress;
}

/** True for paths the express side serves. */
export function isWebPath(url: string | undefined): boolean {
  if (url === undefined) return false;
  return (
    url.startsWith('/auth/') ||
    url.startsWith('/api/') ||
    url === '/ui' ||
    url.startsWith('/ui/') ||
    url.startsWith('/ui?')
  );
}

/**
 * The express application: a request handler, whose router stack the OpenAPI route walk reads
 * (test/api/openapi-routes.test.ts).
 */
export type WebApp = Express;

export function createWebApp(o: WebAppOptions): WebApp {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.set('query parser', 'simple');

  if (o.requestLog !== false) {
    app.use((req, res, next) => {
      const started = process.hrtime.bigint();
      res.on('finish', () => {
        // The token route logs its own richer line.
        if (req.originalUrl.startsWith('/auth/')) return;
        const principal = res.locals.principal as Principal | undefined;
        o.log.info(
          {
            method: req.method,
            path: req.originalUrl.split('?')[0],
            status: res.statusCode,
            subject: principal?.name,
            client: o.clientAddress(req),
            ua: userAgentOf(req),
            ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
          },
          'request'
        );
      });
      next();
    });
  }
  if (o.tokenRoute !== undefined) app.use('/auth', o.tokenRoute);
  app.use('/api/v1', o.storeApi);
  if (o.ui !== undefined) app.use('/ui', o.ui);
  app.use((_req, res) => sendStoreError(res, 'not_found'));
  // Body-parser failures outside the store API (an oversized token form, say): JSON, never
  // express's default HTML page with a stack trace.
  app.use(storeErrorHandler(o.log));
  return app;
}
