/**
 * Jobs over the store API (docs/store.md "Jobs"):
 *   GET /api/v1/jobs/{id}                state, progress and, once finished, the result or error
 *   GET /api/v1/submissions/{id}/jobs    a submission's jobs the caller may read, newest first
 * and the switch the long routes use: a request with `Prefer: respond-async` (RFC 7240) gets
 * `202 Accepted`, `Location: /api/v1/jobs/ID` and the job, at once; without it the answer is the
 * synchronous one it always was. Who reads a job is the job runner's one rule (mayRead): its
 * starter, admins and, for a job of a submission, whoever may read the submission.
 */
import type { Request, Response, Router } from 'express';
import { CountersignError } from '../errors.js';
import { jobView, type JobRunner, type JobStart } from '../jobs/runner.js';
import { jobListQuery } from '../store/command-parsing.js';
import type { StoreService } from '../store/service.js';
import { requestPrincipal } from './store-auth.js';
import type { StoreApiContext } from './store-api.js';

/** True when a Prefer header asks for `respond-async` (any of its preferences, any case). */
export function prefersAsync(req: Request): boolean {
  const header = req.headers.prefer;
  const values = Array.isArray(header) ? header : header === undefined ? [] : [header];
  return values.some((v) =>
    v.split(',').some((pref) => pref.split(';')[0]!.trim().toLowerCase() === 'respond-async')
  );
}

/** Answers with a job when asked (and jobs run here), else runs `start.run` and sends its value. */
export async function maybeAsync(
  jobs: JobRunner | undefined,
  req: Request,
  res: Response,
  start: Omit<JobStart, 'owner'>,
  syncStatus = 200
): Promise<void> {
  if (!jobs || !prefersAsync(req)) {
    res.status(syncStatus).json(await start.run());
    return;
  }
  const job = await jobs.begin({ ...start, owner: requestPrincipal(res).name });
  res
    .status(202)
    .set('Preference-Applied', 'respond-async')
    .location(`/api/v1/jobs/${job.id}`)
    .json(jobView(job));
}

export function jobRoutes(
  jobs: JobRunner,
  store: Pick<StoreService, 'get'>
): (router: Router, context: StoreApiContext) => void {
  return (router, { authenticate }) => {
    router.get('/jobs/:id', authenticate, async (req, res) => {
      const job = await jobs.readableBy(requestPrincipal(res), req.params.id as string);
      if (!job) throw new CountersignError('not_found', `no job ${req.params.id as string}`);
      res.json(jobView(job));
    });
    router.get('/submissions/:id/jobs', authenticate, async (req, res) => {
      const p = requestPrincipal(res);
      const { limit } = jobListQuery(req.query);
      // 404 or 403 exactly as the submission itself answers, before any job is read.
      const sub = await store.get(p, req.params.id as string);
      const list = await jobs.ofSubmission(p, sub.id, limit);
      res.json({ jobs: list.map(jobView) });
    });
  };
}
