/**
 * The review UI under /ui (docs/ui.md): server-rendered pages over the store service, with the
 * store service deciding every access exactly as for the store API. Mounted by src/http/web.ts
 * beside /auth and /api; src/app.ts builds it when a store is configured. The forms that start
 * long work (an approval that publishes, a publish, a re-verification) are in ./job-routes.ts.
 */
import express, {
  type ErrorRequestHandler,
  type Request,
  type Response,
  type Router,
} from 'express';
import type { PasswordLogin } from '../auth/login.js';
import { CountersignError, STORE_CODES } from '../errors.js';
import type { ExpiryIndex } from '../freshness/expiry-index.js';
import { gunStatus } from '../freshness/status.js';
import type { JobRunner } from '../jobs/runner.js';
import type { Principal } from '../auth/principal.js';
import type { Storage } from '../storage/types.js';
import type { StoredJob } from '../storage/work-types.js';
import { auditQuery, waiveCommand } from '../store/command-parsing.js';
import type { StoreService } from '../store/service.js';
import type { SubmissionView } from '../store/submission.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { STYLESHEET, STYLESHEET_ETAG } from './assets.js';
import { FindingsCache, type Finding } from './findings.js';
import type { ImageInspector } from './image.js';
import type { SafeHtml } from './html.js';
import { uiJobRoutes } from './job-routes.js';
import { loginRoutes } from './login-routes.js';
import { page, type Section } from './layout.js';
import { AUDIT_PAGE, auditPage } from './pages/audit.js';
import { messageBody } from './pages/login.js';
import { queuePage } from './pages/queue.js';
import type { HealthcheckJobView } from './pages/healthcheck-run.js';
import { submissionPage } from './pages/submission.js';
import { repositoriesPage, repositoryPage } from './pages/trust.js';
import { buildQueue, queueFilter, readableSubmissions } from './queue.js';
import { setSecurityHeaders } from './security.js';
import { optionalViewer, requireCsrf, viewerOf, withSession } from './session-middleware.js';
import type { UiSessions } from './sessions.js';
import type { ParsedMetadata } from '../notary/parsed.js';
import { currentTags, expiryTimeline, targetsDiff, targetsHistory } from './trust.js';

export interface UiOptions {
  readonly store: StoreService;
  /** Runs the long work the forms start (ui/job-routes.ts). */
  readonly jobs: JobRunner;
  readonly storage: Storage;
  readonly sessions: UiSessions;
  /** Reads the image a submission certifies from the staging registry. */
  readonly images: ImageInspector;
  readonly login: PasswordLogin;
  readonly clientAddress: (req: Request) => string;
  readonly expiryIndex: ExpiryIndex;
  /** The app's parsed files (src/notary/caches.ts). */
  readonly parsed: ParsedMetadata;
  readonly warnWithinMs: number;
  readonly clock: Clock;
  readonly log: Logger;
}

/** Forms are a few fields; a waiver reason or note is at most 4096 characters. */
const FORM_LIMIT = '32kb';

function send(
  res: Response,
  status: number,
  title: string,
  section: Section,
  body: SafeHtml
): void {
  const v = optionalViewer(res);
  res
    .status(status)
    .type('html')
    .send(page({ title, section, body, ...(v ? { viewer: v } : {}) }).toString());
}

export function createUi(o: UiOptions): Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: FORM_LIMIT, parameterLimit: 20 });
  const session = withSession(o.sessions, o.storage.accounts);
  router.use((_req, res, next) => {
    setSecurityHeaders(res);
    next();
  });
  router.get('/assets/ui.css', (_req, res) => {
    res
      .set({ 'Cache-Control': 'public, max-age=3600', ETag: STYLESHEET_ETAG })
      .type('text/css')
      .send(STYLESHEET);
  });
  loginRoutes(router, {
    sessions: o.sessions,
    login: o.login,
    clientAddress: o.clientAddress,
    form,
    session,
  });
  submissionRoutes(router, o, session, form);
  uiJobRoutes(router, { store: o.store, jobs: o.jobs, session, form });
  trustRoutes(router, o, session);
  router.get('/audit', session, async (req, res) => {
    const p = viewerOf(res).principal;
    const after = Number(req.query.after ?? 0);
    const from = Number.isSafeInteger(after) && after >= 0 ? after : 0;
    const status = await o.store.auditVerify(p);
    const entries = await o.store.auditEntries(
      p,
      auditQuery({ after: String(from), limit: String(AUDIT_PAGE) })
    );
    send(res, 200, 'Audit log', 'audit', auditPage(status, entries, from));
  });
  router.use((_req, res) =>
    send(
      res,
      404,
      'Not found',
      'error',
      messageBody('No such page.', { href: '/ui/', label: 'To the queue' })
    )
  );
  router.use(errorPage(o.log));
  return router;
}

/** The job of a pending `healthcheck-run`, for its progress line (store.get decided access). */
async function healthcheckJobOf(
  storage: Storage,
  sub: SubmissionView
): Promise<{ healthcheckJob?: HealthcheckJobView }> {
  const check = sub.policy.checks.find((c) => c.name === 'healthcheck-run');
  if (!check?.pending || check.job === undefined) return {};
  const job = await storage.jobs.get(check.job);
  if (!job) return {};
  const text = job.progress.text;
  return {
    healthcheckJob: { id: job.id, state: job.state, ...(typeof text === 'string' ? { text } : {}) },
  };
}

/** The submission page lists at most this many jobs. */
const SUBMISSION_JOBS_SHOWN = 20;
/** The queue looks at the newest this many running jobs (each is work in progress somewhere). */
const RUNNING_JOBS_SCANNED = 200;

/** Per submission, the newest running job `p` may read. */
async function runningBySubmission(jobs: JobRunner, p: Principal): Promise<Map<string, StoredJob>> {
  const bySubmission = new Map<string, StoredJob>();
  for (const job of await jobs.running(p, RUNNING_JOBS_SCANNED)) {
    // Newest first: the first job of a submission is the one its marker names.
    if (job.submission !== null && !bySubmission.has(job.submission))
      bySubmission.set(job.submission, job);
  }
  return bySubmission;
}

function submissionRoutes(
  router: Router,
  o: UiOptions,
  session: express.RequestHandler,
  form: express.RequestHandler
): void {
  router.get('/', session, async (req, res) => {
    const p = viewerOf(res).principal;
    const all = await readableSubmissions(o.store, o.storage.submissions, p);
    const queue = buildQueue(all, p, queueFilter(req.query), o.clock.now());
    const running = await runningBySubmission(o.jobs, p);
    send(res, 200, 'Queue', 'queue', queuePage(queue, p, o.store.settings.approvals, running));
  });
  const reportCache = new FindingsCache();
  router.get('/submissions/:id', session, async (req, res) => {
    const v = viewerOf(res);
    const sub = await o.store.get(v.principal, req.params.id as string);
    const report = sub.reports?.at(-1);
    let findings: Finding[] | undefined;
    if (report) {
      try {
        // Access is decided by store.get above; the bytes are read (again checked) once.
        findings = await reportCache.get(report.sha256, () =>
          o.store.report(v.principal, sub.id, report.sha256)
        );
      } catch (err) {
        o.log.warn(
          { submission: sub.id, err: String(err) },
          'ui: the report could not be read for its findings'
        );
      }
    }
    send(
      res,
      200,
      `${sub.gun}:${sub.tag}`,
      'queue',
      submissionPage({
        sub,
        viewer: v.principal,
        csrf: v.csrf,
        approvals: o.store.settings.approvals,
        ...(findings ? { findings } : {}),
        ...(sub.target ? { image: await o.images.inspect(sub.gun, sub.target.digest) } : {}),
        ...(await healthcheckJobOf(o.storage, sub)),
        jobs: {
          list: await o.jobs.ofSubmission(v.principal, sub.id, SUBMISSION_JOBS_SHOWN),
          shownAtMost: SUBMISSION_JOBS_SHOWN,
        },
      })
    );
  });
  const back = (res: Response, id: string) =>
    res.redirect(303, `/ui/submissions/${encodeURIComponent(id)}`);
  router.post('/submissions/:id/waive', session, form, requireCsrf, async (req, res) => {
    const body = req.body as Record<string, unknown>;
    const sub = await o.store.waive(
      viewerOf(res).principal,
      req.params.id as string,
      waiveCommand({ check: body.check, reason: body.reason })
    );
    back(res, sub.id);
  });
}

function trustRoutes(router: Router, o: UiOptions, session: express.RequestHandler): void {
  router.get('/trust', session, async (_req, res) => {
    send(
      res,
      200,
      'Trust browser',
      'trust',
      repositoriesPage(await o.storage.storeRepositories.list())
    );
  });
  router.get('/trust/repository', session, async (req, res) => {
    const gun = typeof req.query.gun === 'string' ? req.query.gun : '';
    // Public repositories only: their metadata is readable by anyone.
    if (gun === '' || (await o.storage.storeRepositories.get(gun)) === null)
      throw new CountersignError('not_found', 'The store has no public repository of that name.');
    const version = (v: unknown) =>
      typeof v === 'string' && /^\d{1,10}$/.test(v) ? Number(v) : undefined;
    const from = version(req.query.from);
    const to = version(req.query.to);
    const entry = await o.expiryIndex.refresh(gun);
    send(
      res,
      200,
      gun,
      'trust',
      repositoryPage({
        gun,
        tags: await currentTags(o.storage.meta, gun, o.parsed),
        history: await targetsHistory(o.storage.meta, gun),
        diff:
          from !== undefined && to !== undefined
            ? await targetsDiff(o.storage.meta, gun, from, to)
            : null,
        timeline: entry ? expiryTimeline(gunStatus(entry, o.clock.now(), o.warnWithinMs)) : [],
      })
    );
  });
}

/** Errors as pages: a store code keeps its status and message; anything else is 500 and logged. */
function errorPage(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    void _next;
    let status = 500;
    let message: string = STORE_CODES.internal.message;
    if (err instanceof CountersignError && Object.hasOwn(STORE_CODES, err.code)) {
      status = STORE_CODES[err.code as keyof typeof STORE_CODES].status;
      message = err.message;
    } else if ((err as { type?: unknown } | null)?.type === 'entity.too.large') {
      status = 413;
      message = STORE_CODES.too_large.message;
    } else if (
      typeof (err as { status?: unknown } | null)?.status === 'number' &&
      (err as { status: number }).status < 500
    ) {
      status = 400;
      message = STORE_CODES.bad_request.message;
    } else {
      log.error(
        {
          method: req.method,
          path: req.path,
          err: err instanceof Error ? err.message : String(err),
        },
        'ui request failed'
      );
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    send(
      res,
      status,
      status === 403 ? 'Not allowed' : 'Something went wrong',
      'error',
      messageBody(message, { href: '/ui/', label: 'To the queue' })
    );
  };
}
