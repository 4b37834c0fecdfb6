/**
 * The store's routes under /api/v1 (docs/interfaces.md "Store API"): submissions, reviews, publish,
 * revocations, the audit log and the store CA. Mounted through StoreApiOptions.routes; each route
 * authenticates (except `GET /store/ca.pem`, which anyone may fetch to pin), turns the body or
 * query into a typed command (./store-requests.ts) and leaves the decision of who may do what to
 * the StoreService, so the answers are the same everywhere.
 *
 * GUNs appear in paths verbatim, slashes included: `POST /repositories/store.test/acme/web/revocations`.
 */
import express, { type Request, type RequestHandler, type Router } from 'express';
import { CountersignError } from '../errors.js';
import { MAX_REPORT_BYTES } from '../policy/vulnerabilities.js';
import type { StoreService } from '../store/service.js';
import type { StoreApiContext } from './store-api.js';
import { requestPrincipal } from './store-auth.js';
import { jsonBody } from './json-body.js';
import {
  auditQuery,
  createSubmission,
  reviewCommand,
  revokeCommand,
  submissionQuery,
  waiveCommand,
} from './store-requests.js';

/** Request bodies are small JSON objects (a GUN, a tag, a note). */
const JSON_LIMIT = '64kb';

function body(req: Request): Record<string, unknown> {
  const b: unknown = req.body;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) {
    throw new CountersignError(
      'bad_request',
      'The body must be a JSON object (Content-Type: application/json).'
    );
  }
  return b as Record<string, unknown>;
}

/** Express 5 gives a `*name` wildcard as its segments. */
function wildcard(value: unknown): string {
  if (Array.isArray(value)) return value.join('/');
  return typeof value === 'string' ? value : '';
}

export function storeRoutes(
  service: StoreService
): (router: Router, context: StoreApiContext) => void {
  return (router, { authenticate }) => {
    router.get('/store/ca.pem', async (_req, res) => {
      res.type('application/x-pem-file').send(await service.caCertificatePem());
    });
    submissionRoutes(router, service, authenticate);
    reviewRoutes(router, service, authenticate);
    adminRoutes(router, service, authenticate);
  };
}

const json = jsonBody(JSON_LIMIT);
// A scanner report is taken as the bytes sent (its sha256 is what provenance records), capped
// before anything parses it.
const report = express.raw({ type: () => true, limit: MAX_REPORT_BYTES });

const idOf = (req: Request): string => req.params.id as string;

/** Creating, reading and re-verifying submissions. */
function submissionRoutes(router: Router, service: StoreService, auth: RequestHandler): void {
  router.post('/submissions', auth, json, async (req, res) => {
    const cmd = createSubmission(body(req));
    res.status(201).json(await service.create(requestPrincipal(res), cmd));
  });
  router.get('/submissions', auth, async (req, res) => {
    const query = submissionQuery(req.query);
    res.json({ submissions: await service.list(requestPrincipal(res), query) });
  });
  router.get('/submissions/:id', auth, async (req, res) => {
    res.json(await service.get(requestPrincipal(res), idOf(req)));
  });
  router.post('/submissions/:id/verify', auth, async (req, res) => {
    res.json(await service.reverify(requestPrincipal(res), idOf(req)));
  });
}

/** Reviews, vulnerability reports, waivers and the publish. */
function reviewRoutes(router: Router, service: StoreService, auth: RequestHandler): void {
  router.post('/submissions/:id/reviews', auth, json, async (req, res) => {
    const cmd = reviewCommand(body(req));
    res.json(await service.review(requestPrincipal(res), idOf(req), cmd));
  });
  router.post('/submissions/:id/reports', auth, report, async (req, res) => {
    const bytes: unknown = req.body;
    if (!Buffer.isBuffer(bytes) || bytes.length === 0)
      throw new CountersignError(
        'bad_request',
        'The body must be a Trivy or Grype JSON report (the scanner output, as it wrote it).'
      );
    res.json(await service.attachReport(requestPrincipal(res), idOf(req), bytes));
  });
  router.get('/submissions/:id/reports/:sha256', auth, async (req, res) => {
    const sha256 = req.params.sha256 as string;
    const bytes = await service.report(requestPrincipal(res), idOf(req), sha256);
    res.type('application/json').send(bytes);
  });
  router.post('/submissions/:id/waivers', auth, json, async (req, res) => {
    const cmd = waiveCommand(body(req));
    res.json(await service.waive(requestPrincipal(res), idOf(req), cmd));
  });
  router.post('/submissions/:id/publish', auth, async (req, res) => {
    res.json(await service.publish(requestPrincipal(res), idOf(req)));
  });
}

/** Revocations and the audit log (admins). */
function adminRoutes(router: Router, service: StoreService, auth: RequestHandler): void {
  router.post('/repositories/*gun/revocations', auth, json, async (req, res) => {
    const cmd = revokeCommand(body(req));
    res.json(await service.revoke(requestPrincipal(res), wildcard(req.params.gun), cmd));
  });
  router.get('/audit', auth, async (req, res) => {
    const query = auditQuery(req.query);
    res.json({ entries: await service.auditEntries(requestPrincipal(res), query) });
  });
  router.get('/audit/verify', auth, async (_req, res) => {
    res.json(await service.auditVerify(requestPrincipal(res)));
  });
}
