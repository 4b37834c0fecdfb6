/**
 * The store's routes under /api/v1 (docs/interfaces.md "Store API"): submissions, reviews, publish,
 * revocations, the audit log and the store CA. Mounted through StoreApiOptions.routes; each route
 * authenticates (except `GET /store/ca.pem`, which anyone may fetch to pin), turns the body or
 * query into a typed command (./store-requests.ts) and leaves the decision of who may do what to
 * the StoreService, so the answers are the same everywhere.
 *
 * GUNs appear in paths verbatim, slashes included: `POST /repositories/store.test/acme/web/revocations`.
 */
import express, { type Request, type Router } from 'express';
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
    const json = jsonBody(JSON_LIMIT);
    // A scanner report is taken as the bytes sent (its sha256 is what provenance records), capped
    // before anything parses it.
    const report = express.raw({ type: () => true, limit: MAX_REPORT_BYTES });

    router.get('/store/ca.pem', async (_req, res) => {
      res.type('application/x-pem-file').send(await service.caCertificatePem());
    });

    router.post('/submissions', authenticate, json, async (req, res) => {
      res
        .status(201)
        .json(await service.create(requestPrincipal(res), createSubmission(body(req))));
    });
    router.get('/submissions', authenticate, async (req, res) => {
      res.json({
        submissions: await service.list(requestPrincipal(res), submissionQuery(req.query)),
      });
    });
    router.get('/submissions/:id', authenticate, async (req, res) => {
      res.json(await service.get(requestPrincipal(res), req.params.id as string));
    });
    router.post('/submissions/:id/verify', authenticate, async (req, res) => {
      res.json(await service.reverify(requestPrincipal(res), req.params.id as string));
    });
    router.post('/submissions/:id/reviews', authenticate, json, async (req, res) => {
      const cmd = reviewCommand(body(req));
      res.json(await service.review(requestPrincipal(res), req.params.id as string, cmd));
    });
    router.post('/submissions/:id/reports', authenticate, report, async (req, res) => {
      const bytes: unknown = req.body;
      if (!Buffer.isBuffer(bytes) || bytes.length === 0)
        throw new CountersignError(
          'bad_request',
          'The body must be a Trivy or Grype JSON report (the scanner output, as it wrote it).'
        );
      res.json(await service.attachReport(requestPrincipal(res), req.params.id as string, bytes));
    });
    router.get('/submissions/:id/reports/:sha256', authenticate, async (req, res) => {
      const bytes = await service.report(
        requestPrincipal(res),
        req.params.id as string,
        req.params.sha256 as string
      );
      res.type('application/json').send(bytes);
    });
    router.post('/submissions/:id/waivers', authenticate, json, async (req, res) => {
      const cmd = waiveCommand(body(req));
      res.json(await service.waive(requestPrincipal(res), req.params.id as string, cmd));
    });
    router.post('/submissions/:id/publish', authenticate, async (req, res) => {
      res.json(await service.publish(requestPrincipal(res), req.params.id as string));
    });

    router.post('/repositories/*gun/revocations', authenticate, json, async (req, res) => {
      const cmd = revokeCommand(body(req));
      res.json(await service.revoke(requestPrincipal(res), wildcard(req.params.gun), cmd));
    });

    router.get('/audit', authenticate, async (req, res) => {
      res.json({
        entries: await service.auditEntries(requestPrincipal(res), auditQuery(req.query)),
      });
    });
    router.get('/audit/verify', authenticate, async (req, res) => {
      void req;
      res.json(await service.auditVerify(requestPrincipal(res)));
    });
  };
}
