/**
 * The UI's long work (docs/ui.md "Long work"): an approval that completes the quorum (the store
 * then publishes, copying the image between registries), an admin's publish and a re-verification
 * against the registry run as jobs (src/jobs/), and the form's answer is a redirect to the job's
 * page, which follows it to the result; no request stays open for the work. An approval below the
 * quorum and a rejection change one row and answer at once, as before.
 *
 *   POST /ui/submissions/:id/review     approve / reject (a job when the approval publishes)
 *   POST /ui/submissions/:id/publish    publish an approved submission (admins), a job
 *   POST /ui/submissions/:id/verify     verify again before any review, a job
 *   GET  /ui/jobs/:id                   the job's page
 *   GET  /ui/jobs/:id/progress          its state and progress line, for the page's script
 *
 * Who may start what is decided by the store service inside the job (a refusal ends the job
 * failed, with the store's message); who may read a job, by the job runner's one rule (its
 * starter, admins, and the readers of its submission).
 */
import type { RequestHandler, Response, Router } from 'express';
import type { Principal } from '../auth/principal.js';
import { CountersignError } from '../errors.js';
import type { JobRunner } from '../jobs/runner.js';
import { reviewCommand } from '../store/command-parsing.js';
import type { ReviewCommand } from '../store/commands.js';
import type { StoreService } from '../store/service.js';
import { approvers, type SubmissionView } from '../store/submission.js';
import { JOB_SCRIPT, JOB_SCRIPT_ETAG } from './assets.js';
import { jobOutcome, jobPath, outcomeText } from './job-outcome.js';
import { page } from './layout.js';
import { jobPage, jobTitle } from './pages/job.js';
import { requireCsrf, viewerOf } from './session-middleware.js';
import { JOB_PAGE_POLICY } from './security.js';

export interface UiJobOptions {
  readonly store: StoreService;
  readonly jobs: JobRunner;
  /** The session guard and the form parser of the UI's router. */
  readonly session: RequestHandler;
  readonly form: RequestHandler;
}

/**
 * Whether this review, if the store accepts it, completes the quorum and so publishes. Only
 * presentation depends on it (a job page or the submission page at once): were it wrong, the
 * store would still do the same, in a job or in the request.
 */
export function reviewPublishes(
  cmd: ReviewCommand,
  sub: SubmissionView,
  settings: { readonly approvals: number; readonly autoPublish: boolean }
): boolean {
  if (cmd.decision !== 'approve' || !settings.autoPublish || sub.state !== 'verified') return false;
  return approvers(sub).length + 1 >= settings.approvals;
}

export function uiJobRoutes(router: Router, o: UiJobOptions): void {
  const { store, jobs, session, form } = o;
  const answer = (v: SubmissionView) => ({ ...v, approvalsRequired: store.settings.approvals });
  /** Starts `work` as a job of the viewer's and sends the browser to its page. */
  const startJob = async (
    res: Response,
    kind: string,
    id: string,
    work: (p: Principal) => Promise<SubmissionView>
  ) => {
    const p = viewerOf(res).principal;
    const job = await jobs.begin({
      kind,
      owner: p.name,
      submission: id,
      run: async () => answer(await work(p)),
    });
    res.redirect(303, jobPath(job.id));
  };
  const idOf = (params: Record<string, unknown>) => params.id as string;

  router.post('/submissions/:id/review', session, form, requireCsrf, async (req, res) => {
    const body = req.body as Record<string, unknown>;
    const cmd = reviewCommand({ decision: body.decision, note: body.note });
    const p = viewerOf(res).principal;
    const id = idOf(req.params);
    // Read first (and refused here when the viewer may not read it) to know whether it publishes.
    if (reviewPublishes(cmd, await store.get(p, id), store.settings)) {
      await startJob(res, 'review', id, (q) => store.review(q, id, cmd));
      return;
    }
    const sub = await store.review(p, id, cmd);
    res.redirect(303, `/ui/submissions/${encodeURIComponent(sub.id)}`);
  });
  router.post('/submissions/:id/publish', session, form, requireCsrf, async (req, res) => {
    const id = idOf(req.params);
    await store.get(viewerOf(res).principal, id); // 404 / 403 now, not in a job
    await startJob(res, 'publish', id, (p) => store.publish(p, id));
  });
  router.post('/submissions/:id/verify', session, form, requireCsrf, async (req, res) => {
    const id = idOf(req.params);
    await store.get(viewerOf(res).principal, id);
    await startJob(res, 'verify', id, (p) => store.reverify(p, id));
  });
  jobPages(router, o);
}

function jobPages(router: Router, o: UiJobOptions): void {
  const { store, jobs, session } = o;
  router.get('/assets/job.js', (_req, res) => {
    res
      .set({ 'Cache-Control': 'public, max-age=3600', ETag: JOB_SCRIPT_ETAG })
      .type('text/javascript')
      .send(JOB_SCRIPT);
  });
  const readable = async (res: Response, id: string) => {
    const job = await jobs.readableBy(viewerOf(res).principal, id);
    if (!job) throw new CountersignError('not_found', 'No such job (or you may not see it).');
    return job;
  };
  router.get('/jobs/:id', session, async (req, res) => {
    const v = viewerOf(res);
    const job = await readable(res, req.params.id as string);
    const outcome = jobOutcome(job);
    let label: string | undefined;
    if (job.submission !== null) {
      // The viewer may have lost access to the submission since: the page still shows the job.
      const sub = await store.get(v.principal, job.submission).catch(() => undefined);
      if (sub) label = `${sub.gun}:${sub.tag}`;
    }
    res
      .status(200)
      .set('Content-Security-Policy', JOB_PAGE_POLICY)
      .type('html')
      .send(
        page({
          title: jobTitle(job, outcome),
          section: 'queue',
          viewer: v,
          body: jobPage({
            job,
            outcome,
            ...(label !== undefined ? { submissionLabel: label } : {}),
          }),
        }).toString()
      );
  });
  router.get('/jobs/:id/progress', session, async (req, res) => {
    const outcome = jobOutcome(await readable(res, req.params.id as string));
    res.json({
      state: outcome.kind === 'running' ? 'running' : 'ended',
      text: outcomeText(outcome),
      ...(outcome.kind === 'running' && outcome.blobs ? { blobs: outcome.blobs } : {}),
    });
  });
}
