/**
 * The store API under `/api/v1` (docs/interfaces.md "Store API"): JSON over HTTP on the same listener,
 * authenticated with the server's Bearer tokens or Basic credentials (store-auth.ts), errors as
 * `{"error":{"code","message"}}` (store-errors.ts).
 *
 * This module holds the frame: authentication helpers, `GET /whoami`, `GET /openapi.json` (the
 * OpenAPI description, src/http/openapi/), the JSON 404 and the error handler. The store's own
 * routes (submissions, reviews, audit, …) are added through `routes`, which receives the router and the helpers; each route picks its guard (`authenticate`,
 * `requireRole`, `policy.ownsRepository`), so public routes such as `GET /store/ca.pem` need none.
 */
import express, { type RequestHandler, type Router } from 'express';
import { CountersignError } from '../errors.js';
import type { AccessPolicy } from '../auth/policy.js';
import type { AccountRole } from '../auth/principal.js';
import type { Logger } from '../util/log.js';
import {
  authenticate,
  identifyOptional,
  requestPrincipal,
  requireRole,
  type StoreAuthOptions,
} from './store-auth.js';
import { storeErrorHandler } from './store-errors.js';
import { openApiRoute } from './openapi/route.js';

/** What the store's route modules get to guard their routes. */
export interface StoreApiContext {
  /** 401 unless the request carries valid credentials; then `requestPrincipal(res)` is the caller. */
  readonly authenticate: RequestHandler;
  /** Identifies the caller when credentials are present; lets anonymous requests through. */
  readonly identifyOptional: RequestHandler;
  /** 403 unless the caller has one of the roles (after `authenticate`). */
  readonly requireRole: (...roles: AccountRole[]) => RequestHandler;
  /** Zones and ownership: `policy.ownsRepository(principal, gun)`, `policy.zones.publicGunFor(gun)`. */
  readonly policy: AccessPolicy;
}

export interface StoreApiOptions {
  readonly auth: StoreAuthOptions;
  readonly policy: AccessPolicy;
  readonly log: Logger;
  /** Adds the store's routes (relative to /api/v1). */
  readonly routes?: (router: Router, context: StoreApiContext) => void;
}

export function createStoreApi(o: StoreApiOptions): Router {
  const router = express.Router();
  const context: StoreApiContext = {
    authenticate: authenticate(o.auth),
    identifyOptional: identifyOptional(o.auth),
    requireRole,
    policy: o.policy,
  };

  router.get('/openapi.json', openApiRoute());
  router.get('/whoami', context.authenticate, (_req, res) => {
    const p = requestPrincipal(res);
    res.json({ name: p.name, role: p.role, namespaces: p.namespaces });
  });
  o.routes?.(router, context);

  router.use((req, _res, next) => {
    next(new CountersignError('not_found', `No route ${req.method} /api/v1${req.path}.`));
  });
  router.use(storeErrorHandler(o.log));
  return router;
}
