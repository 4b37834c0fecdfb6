/**
 * Jobs over the store API (docs/store.md "Jobs"):
 *   GET /api/v1/jobs/{id}   state, progress and, once finished, the result or error
 * and the switch the long routes use: a request with `Prefer: respond-async` (RFC 7240) gets
 * `202 Accepted`, `Location: /api/v1/jobs/ID` and the job, at once; without it the answer is the
 * synchronous one it always was. A job is read by the account that started it and by admins;
 * a job the server started for a submission (healthcheck-run, owner `countersign`) by whoever
 * may read that submission.
 */
import type { Request, Response, Router } from 'express';
import type { Principal } from '../auth/principal.js';
import { CountersignError } from '../errors.js';
import { jobView, type JobRunner, type JobStart } from '../jobs/runner.js';
import type { StoredJob } from '../storage/work-types.js';
import { SYSTEM_ACTOR } from '../store/audit.js';
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
  store?: StoreService
): (router: Router, context: StoreApiContext) => void {
  return (router, { authenticate }) => {
    router.get('/jobs/:id', authenticate, async (req, res) => {
      const p = requestPrincipal(res);
      const job = await jobs.get(req.params.id as string);
      // Someone else's job is answered as missing: its id says nothing to them.
      if (!job || !(await mayRead(p, job, store)))
        throw new CountersignError('not_found', `no job ${req.params.id as string}`);
      res.json(jobView(job));
    });
  };
}

async function mayRead(p: Principal, job: StoredJob, store: StoreService | undefined) {
  if (job.owner === p.name || p.role === 'admin') return true;
  if (job.owner !== SYSTEM_ACTOR || job.submission === null || !store) return false;
  // The store's own rule: reviewers read every submission, publishers their repositories'.
  return store.get(p, job.submission).then(
    () => true,
    () => false
  );
}
