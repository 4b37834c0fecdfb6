/**
 * The store's routes under /api/v1 (docs/interfaces.md "Store API"): submissions, reviews, publish,
 * revocations, the audit log and the store CA. Mounted through StoreApiOptions.routes; each route
 * authenticates (except `GET /store/ca.pem`, which anyone may fetch to pin) and leaves the
 * decision of who may do what to the StoreService, so the answers are the same everywhere.
 *
 * GUNs appear in paths verbatim, slashes included: `POST /repositories/store.test/acme/web/revocations`.
 */
import express, { type Request, type Response, type Router } from 'express';
import { CountersignError } from '../errors.js';
import { MAX_REPORT_BYTES } from '../policy/vulnerabilities.js';
import type { Principal } from '../auth/principal.js';
import type { JobRunner } from '../jobs/runner.js';
import type { StoreService } from '../store/service.js';
import type { SubmissionView } from '../store/submission.js';
import { maybeAsync, prefersAsync } from './job-routes.js';
import type { StoreApiContext } from './store-api.js';
import { requestPrincipal } from './store-auth.js';
import { jsonBody } from './json-body.js';

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

function answerWith(service: StoreService): (v: SubmissionView) => SubmissionAnswer {
  return (v) => ({ ...v, approvalsRequired: service.settings.approvals });
}

/** With `jobs`, the long routes answer `Prefer: respond-async` with a job (job-routes.ts). */
export function storeRoutes(
  service: StoreService,
  jobs?: JobRunner
): (router: Router, context: StoreApiContext) => void {
  return (router, { authenticate }) => {
    const json = jsonBody(JSON_LIMIT);
    // A scanner report is taken as the bytes sent (its sha256 is what provenance records), capped
    // before anything parses it.
    const report = express.raw({ type: () => true, limit: MAX_REPORT_BYTES });
    const answer = answerWith(service);

    router.get('/store/ca.pem', async (_req, res) => {
      res.type('application/x-pem-file').send(await service.caCertificatePem());
    });

    router.post('/submissions', authenticate, json, createSubmission(service, jobs, answer));
    router.get('/submissions', authenticate, async (req, res) => {
      res.json({ submissions: (await service.list(requestPrincipal(res), req.query)).map(answer) });
    });
    router.get('/submissions/:id', authenticate, async (req, res) => {
      res.json(answer(await service.get(requestPrincipal(res), req.params.id as string)));
    });
    // The long routes: a job when the request prefers it (job-routes.ts).
    const long =
      (kind: string, work: (p: Principal, id: string, req: Request) => Promise<unknown>) =>
      async (req: Request, res: Response) => {
        const id = req.params.id as string;
        const run = () => work(requestPrincipal(res), id, req);
        await maybeAsync(jobs, req, res, { kind, submission: id, run });
      };
    router.post(
      '/submissions/:id/verify',
      authenticate,
      long('verify', async (p, id) => answer(await service.reverify(p, id)))
    );
    router.post(
      '/submissions/:id/reviews',
      authenticate,
      json,
      long('review', async (p, id, req) => answer(await service.review(p, id, body(req))))
    );
    router.post('/submissions/:id/reports', authenticate, report, async (req, res) => {
      const bytes: unknown = req.body;
      if (!Buffer.isBuffer(bytes) || bytes.length === 0)
        throw new CountersignError(
          'bad_request',
          'The body must be a Trivy or Grype JSON report (the scanner output, as it wrote it).'
        );
      res.json(
        answer(await service.attachReport(requestPrincipal(res), req.params.id as string, bytes))
      );
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
      res.json(
        answer(await service.waive(requestPrincipal(res), req.params.id as string, body(req)))
      );
    });
    router.post(
      '/submissions/:id/publish',
      authenticate,
      long('publish', async (p, id) => answer(await service.publish(p, id)))
    );

    router.post('/repositories/*gun/revocations', authenticate, json, async (req, res) => {
      res.json(await service.revoke(requestPrincipal(res), wildcard(req.params.gun), body(req)));
    });

    router.get('/audit', authenticate, async (req, res) => {
      res.json({ entries: await service.auditEntries(requestPrincipal(res), req.query) });
    });
    router.get('/audit/verify', authenticate, async (req, res) => {
      void req;
      res.json(await service.auditVerify(requestPrincipal(res)));
    });
  };
}

/**
 * `POST /submissions`: 201 after verification, or with `Prefer: respond-async` the submission is
 * created now (refusals answered as usual) and a job verifies it; the job's result is what the
 * 201 would have been.
 */
function createSubmission(
  service: StoreService,
  jobs: JobRunner | undefined,
  answer: (v: SubmissionView) => SubmissionAnswer
) {
  return async (req: Request, res: Response): Promise<void> => {
    const p = requestPrincipal(res);
    if (!jobs || !prefersAsync(req)) {
      res.status(201).json(answer(await service.create(p, body(req))));
      return;
    }
    const created = await service.create(p, body(req), { deferVerification: true });
    const run = async () => answer(await service.reverify(p, created.id));
    await maybeAsync(jobs, req, res, { kind: 'verify', submission: created.id, run });
  };
}
