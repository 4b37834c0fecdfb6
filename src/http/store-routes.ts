/**
 * The store's routes under /api/v1 (docs/interfaces.md "Store API"): submissions, reviews, publish,
 * revocations, the audit log and the store CA. Mounted through StoreApiOptions.routes; each route
 * authenticates (except `GET /store/ca.pem`, which anyone may fetch to pin), turns the body or
 * query into a typed command (./store-requests.ts) and leaves the decision of who may do what to
 * the StoreService, so the answers are the same everywhere.
 *
 * GUNs appear in paths verbatim, slashes included: `POST /repositories/store.test/acme/web/revocations`.
 */
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { CountersignError } from '../errors.js';
import type { Principal } from '../auth/principal.js';
import type { JobRunner } from '../jobs/runner.js';
import { MAX_REPORT_BYTES } from '../policy/vulnerabilities.js';
import type { StoreService } from '../store/service.js';
import type { SubmissionView } from '../store/submission.js';
import { maybeAsync, prefersAsync } from './job-routes.js';
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
} from '../store/command-parsing.js';

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

/**
 * A submission as the API answers it: the view plus the quorum it is waiting for, so a client can
 * say "approvals 1/2" without knowing the server's configuration.
 */
type SubmissionAnswer = SubmissionView & { readonly approvalsRequired: number };

/** What the submission routes share: the service, the answer's shape, and the jobs (if any). */
interface Ctx {
  readonly service: StoreService;
  readonly answer: (v: SubmissionView) => SubmissionAnswer;
  /** With jobs, the long routes answer `Prefer: respond-async` with a job (job-routes.ts). */
  readonly jobs: JobRunner | undefined;
}

export function storeRoutes(
  service: StoreService,
  jobs?: JobRunner
): (router: Router, context: StoreApiContext) => void {
  return (router, { authenticate }) => {
    router.get('/store/ca.pem', async (_req, res) => {
      res.type('application/x-pem-file').send(await service.caCertificatePem());
    });
    const ctx: Ctx = {
      service,
      answer: (v) => ({ ...v, approvalsRequired: service.settings.approvals }),
      jobs,
    };
    submissionRoutes(router, ctx, authenticate);
    reviewRoutes(router, ctx, authenticate);
    adminRoutes(router, service, authenticate);
  };
}

/** A long route (registry verification, promotion): a job when the request prefers one. */
function long(
  ctx: Ctx,
  kind: string,
  work: (p: Principal, id: string, req: Request) => Promise<SubmissionView>
): RequestHandler {
  return async (req: Request, res: Response) => {
    const id = idOf(req);
    const run = async () => ctx.answer(await work(requestPrincipal(res), id, req));
    await maybeAsync(ctx.jobs, req, res, { kind, submission: id, run });
  };
}

const json = jsonBody(JSON_LIMIT);
// A scanner report is taken as the bytes sent (its sha256 is what provenance records), capped
// before anything parses it.
const report = express.raw({ type: () => true, limit: MAX_REPORT_BYTES });

const idOf = (req: Request): string => req.params.id as string;

/**
 * Creating, reading and re-verifying submissions. A submission created with `Prefer:
 * respond-async` is recorded now (refusals answered as usual) and a job verifies it.
 */
function submissionRoutes(router: Router, ctx: Ctx, auth: RequestHandler): void {
  const { service, answer, jobs } = ctx;
  router.post('/submissions', auth, json, async (req, res) => {
    const cmd = createSubmission(body(req));
    const p = requestPrincipal(res);
    if (!jobs || !prefersAsync(req)) {
      res.status(201).json(answer(await service.create(p, cmd)));
      return;
    }
    const created = await service.create(p, cmd, { deferVerification: true });
    const run = async () => answer(await service.reverify(p, created.id));
    await maybeAsync(jobs, req, res, { kind: 'verify', submission: created.id, run });
  });
  router.get('/submissions', auth, async (req, res) => {
    const query = submissionQuery(req.query);
    res.json({ submissions: (await service.list(requestPrincipal(res), query)).map(answer) });
  });
  router.get('/submissions/:id', auth, async (req, res) => {
    res.json(answer(await service.get(requestPrincipal(res), idOf(req))));
  });
  router.post(
    '/submissions/:id/verify',
    auth,
    long(ctx, 'verify', (p, id) => service.reverify(p, id))
  );
}

/** Reviews, vulnerability reports, waivers and the publish. */
function reviewRoutes(router: Router, ctx: Ctx, auth: RequestHandler): void {
  const { service, answer } = ctx;
  router.post(
    '/submissions/:id/reviews',
    auth,
    json,
    long(ctx, 'review', (p, id, req) => service.review(p, id, reviewCommand(body(req))))
  );
  router.post('/submissions/:id/reports', auth, report, async (req, res) => {
    const bytes: unknown = req.body;
    if (!Buffer.isBuffer(bytes) || bytes.length === 0)
      throw new CountersignError(
        'bad_request',
        'The body must be a Trivy or Grype JSON report (the scanner output, as it wrote it).'
      );
    res.json(answer(await service.attachReport(requestPrincipal(res), idOf(req), bytes)));
  });
  router.get('/submissions/:id/reports/:sha256', auth, async (req, res) => {
    const sha256 = req.params.sha256 as string;
    const bytes = await service.report(requestPrincipal(res), idOf(req), sha256);
    res.type('application/json').send(bytes);
  });
  router.post('/submissions/:id/waivers', auth, json, async (req, res) => {
    const cmd = waiveCommand(body(req));
    res.json(answer(await service.waive(requestPrincipal(res), idOf(req), cmd)));
  });
  router.post(
    '/submissions/:id/publish',
    auth,
    long(ctx, 'publish', (p, id) => service.publish(p, id))
  );
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
