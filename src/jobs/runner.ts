/**
 * Long work as jobs (docs/store.md "Jobs"): a verification against a registry or a promotion can
 * stream every blob for minutes, so a caller may ask for a job instead of an open request. The
 * job is a row (state, progress, result) any instance can answer `GET /api/v1/jobs/ID` from; the
 * work runs in this process, which refreshes the row's heartbeat while it runs. A job whose
 * heartbeat stops (its process died) is marked failed by the next sweep of any instance, at start
 * and then periodically: no job stays `running` forever.
 */
import { randomBytes } from 'node:crypto';
import type { Principal } from '../auth/principal.js';
import { CountersignError, STORE_CODES } from '../errors.js';
import type { Storage } from '../storage/types.js';
import type { StoredJob } from '../storage/work-types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { BlobProgress } from '../registry/progress.js';
import {
  progressText,
  runWithProgress,
  type JobPhase,
  type StepProgress,
  type StepReporter,
} from './progress.js';
import type { JobSettings } from './settings.js';

export interface JobRunnerOptions {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly log: Logger;
  readonly settings: JobSettings;
  /**
   * Whether `p` may read the submission with this id: the store's own read rule (app.ts), false
   * for one that does not exist. A job tied to a submission is read by whoever may read it.
   */
  readonly submissionReadable: SubmissionReadable;
}

export type SubmissionReadable = (p: Principal, submission: string) => Promise<boolean>;

export interface JobStart {
  /** `verify`, `publish`, `submit`, `review`. */
  readonly kind: string;
  readonly owner: string;
  readonly submission?: string;
  /**
   * The work; its value is the job's result (what the synchronous answer would have been). Work
   * that is not a registry walk reports its steps to `steps` (a job always passes it).
   */
  readonly run: (steps?: StepReporter) => Promise<unknown>;
  /** The submission id, taken from the result when the job did not know it at start. */
  readonly submissionOf?: (result: unknown) => string | undefined;
}

/**
 * A submission's jobs are listed from its newest this many, filtered by the read rule: one
 * bounded read however many jobs a submission has had.
 */
export const SUBMISSION_JOBS_SCANNED = 100;

/** Progress rows are written at most this often while blobs stream. */
const PROGRESS_WRITE_MS = 250;

export const INTERRUPTED = {
  code: 'unavailable',
  status: STORE_CODES.unavailable.status,
  message:
    'the job was interrupted: the server running it stopped before it finished; look at the submission and start it again if needed',
} as const;

export class JobRunner {
  private sweeper: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly o: JobRunnerOptions) {}

  /** Fails interrupted jobs now, then sweeps every staleAfter / 2. */
  async start(): Promise<void> {
    await this.sweep();
    this.sweeper = setInterval(() => {
      this.sweep().catch((err: unknown) =>
        this.o.log.warn({ err: String(err) }, 'jobs: sweep failed')
      );
    }, this.o.settings.staleAfterMs / 2);
    this.sweeper.unref();
  }

  /**
   * Stops sweeping and gives the jobs of this process up to `graceMs` to finish (close). One that
   * takes longer is left to the sweep of the next instance, which marks it interrupted: a copy of
   * many gigabytes must not hold a shutdown for minutes.
   */
  async stop(graceMs = 10_000): Promise<void> {
    clearInterval(this.sweeper);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.allSettled([...this.inFlight]), grace]);
    clearTimeout(timer);
  }

  /** Running jobs not heard from for staleAfter are failed; returns their ids. */
  async sweep(): Promise<string[]> {
    const now = this.o.clock.now().getTime();
    // The wall clock decides staleness together with the heartbeats, which use it as well.
    const ids = await this.o.storage.jobs.failStale(
      now - this.o.settings.staleAfterMs,
      INTERRUPTED,
      now
    );
    if (ids.length > 0)
      this.o.log.warn({ jobs: ids }, 'jobs interrupted by a restart marked failed');
    return ids;
  }

  async get(id: string): Promise<StoredJob | null> {
    return /^job_[0-9a-f]{32}$/.test(id) ? this.o.storage.jobs.get(id) : null;
  }

  /**
   * The job as `p` may read it (mayRead); for anyone else it is missing (null), so an id says
   * nothing about work the caller may not see. The API and the UI ask here.
   */
  async readableBy(p: Principal, id: string): Promise<StoredJob | null> {
    const job = await this.get(id);
    return job && (await this.mayRead(p, job)) ? job : null;
  }

  /**
   * The jobs of a submission `p` may read, newest first: of its newest SUBMISSION_JOBS_SCANNED
   * jobs, at most `limit` (the UI's Jobs section, `GET /api/v1/submissions/ID/jobs`); for a reader
   * of the submission, who reads them all, simply its newest `limit`.
   */
  async ofSubmission(p: Principal, submission: string, limit: number): Promise<StoredJob[]> {
    const jobs = await this.o.storage.jobs.ofSubmission(submission, SUBMISSION_JOBS_SCANNED);
    return (await this.readable(p, jobs)).slice(0, limit);
  }

  /** The running jobs `p` may read, newest first, of the newest `scan` running ones. */
  async running(p: Principal, scan: number): Promise<StoredJob[]> {
    return this.readable(p, await this.o.storage.jobs.running(scan));
  }

  /**
   * The one read rule: the account that started the job, admins, and — for a job tied to a
   * submission — whoever may read that submission, so a certification team sees the work running
   * on what it reviews. The starter stays a reader: a job started on a submission id that names
   * nothing must still answer its starter with its failure.
   */
  private async mayRead(
    p: Principal,
    job: StoredJob,
    submissionReadable: (id: string) => Promise<boolean> = (id) => this.o.submissionReadable(p, id)
  ): Promise<boolean> {
    if (job.owner === p.name || p.role === 'admin') return true;
    return job.submission !== null && submissionReadable(job.submission);
  }

  /** The jobs `p` may read; each submission's rule is asked once however many jobs name it. */
  private async readable(p: Principal, jobs: readonly StoredJob[]): Promise<StoredJob[]> {
    const asked = new Map<string, Promise<boolean>>();
    const submissionReadable = (id: string): Promise<boolean> => {
      let answer = asked.get(id);
      if (answer === undefined) {
        answer = this.o.submissionReadable(p, id);
        asked.set(id, answer);
      }
      return answer;
    };
    const allowed = await Promise.all(jobs.map((j) => this.mayRead(p, j, submissionReadable)));
    return jobs.filter((_, i) => allowed[i]);
  }

  /** Records the job as running and starts its work in the background. */
  async begin(s: JobStart): Promise<StoredJob> {
    const now = this.o.clock.now().getTime();
    const job: StoredJob = {
      id: `job_${randomBytes(16).toString('hex')}`,
      kind: s.kind,
      owner: s.owner,
      submission: s.submission ?? null,
      state: 'running',
      progress: {},
      result: null,
      error: null,
      createdAt: now,
      updatedAt: now,
      heartbeatAt: now,
      finishedAt: null,
    };
    await this.o.storage.jobs.insert(job);
    const done = this.execute(job.id, s).finally(() => this.inFlight.delete(done));
    this.inFlight.add(done);
    return job;
  }

  private async execute(id: string, s: JobStart): Promise<void> {
    let latest: Record<string, unknown> | undefined;
    let written = 0;
    const write = (change: Parameters<Storage['jobs']['update']>[1]) =>
      this.o.storage.jobs.update(id, change).catch((err: unknown) => {
        this.o.log.warn({ job: id, err: String(err) }, 'jobs: could not record progress');
        return false;
      });
    const heartbeat = setInterval(() => {
      void write({ at: this.o.clock.now().getTime(), ...(latest ? { progress: latest } : {}) });
    }, this.o.settings.staleAfterMs / 4);
    heartbeat.unref();
    const publish = (view: Record<string, unknown>, now: boolean): void => {
      latest = view;
      if (!now && Date.now() - written < PROGRESS_WRITE_MS) return;
      written = Date.now();
      void write({ at: this.o.clock.now().getTime(), progress: latest });
    };
    const report = (phase: JobPhase, p: BlobProgress): void =>
      publish(progressView(phase, p), p.blobsDone === p.blobsTotal);
    // Steps are seconds apart (a probe per interval): each is written at once.
    const steps = (view: StepProgress): void => publish({ ...view }, true);
    try {
      const result = await runWithProgress(report, () => s.run(steps));
      const submission = s.submissionOf?.(result);
      await write({
        at: this.o.clock.now().getTime(),
        state: 'succeeded',
        result,
        ...(latest ? { progress: latest } : {}),
        ...(submission !== undefined ? { submission } : {}),
      });
    } catch (err) {
      await write({
        at: this.o.clock.now().getTime(),
        state: 'failed',
        error: jobError(err, this.o.log, id),
      });
    } finally {
      clearInterval(heartbeat);
    }
  }
}

function progressView(phase: JobPhase, p: BlobProgress): Record<string, unknown> {
  return {
    phase,
    blobs: { done: p.blobsDone, total: p.blobsTotal },
    bytes: { done: p.bytesDone, total: p.bytesTotal },
    text: progressText(p),
  };
}

/** The error as the synchronous request would have answered it (code, status, message). */
function jobError(err: unknown, log: Logger, id: string): Record<string, unknown> {
  if (
    err instanceof CountersignError &&
    Object.prototype.hasOwnProperty.call(STORE_CODES, err.code)
  ) {
    const code = err.code as keyof typeof STORE_CODES;
    return { code, status: STORE_CODES[code].status, message: err.message };
  }
  log.error({ job: id, err: err instanceof Error ? err.message : String(err) }, 'job failed');
  return { code: 'internal', status: 500, message: STORE_CODES.internal.message };
}

/** What `GET /api/v1/jobs/ID` answers. */
export function jobView(j: StoredJob): Record<string, unknown> {
  const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString());
  return {
    id: j.id,
    kind: j.kind,
    state: j.state,
    owner: j.owner,
    ...(j.submission !== null ? { submission: j.submission } : {}),
    progress: j.progress,
    ...(j.state === 'succeeded' ? { result: j.result } : {}),
    ...(j.error !== null ? { error: j.error } : {}),
    createdAt: iso(j.createdAt),
    updatedAt: iso(j.updatedAt),
    ...(j.finishedAt !== null ? { finishedAt: iso(j.finishedAt) } : {}),
  };
}
