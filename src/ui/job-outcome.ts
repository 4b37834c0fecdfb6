/**
 * What a job page says about a job (docs/ui.md "Long work"): still running with its progress,
 * or how it ended — published (with the public repository to open), otherwise done with the
 * submission's new state, or failed with the error the synchronous request would have answered.
 * Pure: the page (pages/job.ts) and the progress answer the page's script polls both use it, so
 * the words a screen reader hears while it runs are the words of the page after a reload.
 */
import type { StoredJob } from '../storage/work-types.js';

export type JobOutcome =
  | {
      readonly kind: 'running';
      /** `copy: blobs 3/7, 1.2 MB`, or what the job waits for before the first blob. */
      readonly text: string;
      /** Blobs done and known so far, for a <progress>; absent before the first blob. */
      readonly blobs?: { readonly done: number; readonly total: number };
    }
  | {
      readonly kind: 'published';
      readonly publicGun: string;
      readonly tag: string;
      readonly targetsVersion: number;
    }
  | { readonly kind: 'done'; readonly state: string; readonly text: string }
  | { readonly kind: 'failed'; readonly code: string; readonly message: string };

/** What each kind of job is called on its page. */
const JOB_TITLES: Readonly<Record<string, string>> = {
  review: 'Approval and publish',
  publish: 'Publish',
  verify: 'Verification',
  healthcheck: 'Health check run',
};

/** A job's name wherever the UI shows it (its page, the submission's Jobs section). */
export function jobKindTitle(kind: string): string {
  return JOB_TITLES[kind] ?? 'Job';
}

/** The address of a job's page, `/ui/jobs/ID`. */
export function jobPath(id: string): string {
  return `/ui/jobs/${encodeURIComponent(id)}`;
}

const PHASES: Readonly<Record<string, string>> = {
  verify: 'reading the image from the staging registry',
  copy: 'copying the image into the public registry',
};

/** The parts of a submission (the job's result) a job page reads; the rest is not trusted here. */
interface ResultView {
  readonly state?: unknown;
  readonly publicGun?: unknown;
  readonly tag?: unknown;
  readonly published?: { readonly targetsVersion?: unknown } | null;
  readonly publishError?: { readonly message?: unknown } | null;
}

export function jobOutcome(job: StoredJob): JobOutcome {
  if (job.state === 'running') return running(job.progress);
  if (job.state === 'failed') {
    const e = job.error ?? {};
    return {
      kind: 'failed',
      code: typeof e.code === 'string' ? e.code : 'internal',
      message: typeof e.message === 'string' ? e.message : 'the job failed',
    };
  }
  return finished(job.kind, job.result ?? {});
}

function running(progress: Readonly<Record<string, unknown>>): JobOutcome {
  // A healthcheck-run counts platforms and probes, not blobs (src/store/healthcheck-run.ts).
  if (progress.phase === 'healthcheck' && typeof progress.text === 'string')
    return { kind: 'running', text: `Running the image in the sandbox: ${progress.text}.` };
  const blobs = progress.blobs as { done?: unknown; total?: unknown } | undefined;
  const phase = typeof progress.phase === 'string' ? PHASES[progress.phase] : undefined;
  if (
    typeof progress.text !== 'string' ||
    typeof blobs?.done !== 'number' ||
    typeof blobs.total !== 'number'
  )
    return { kind: 'running', text: 'Running: waiting for the first blob.' };
  return {
    kind: 'running',
    text: `Running${phase ? `, ${phase}` : ''}: ${progress.text}.`,
    blobs: { done: blobs.done, total: blobs.total },
  };
}

function finished(kind: string, r: ResultView): JobOutcome {
  if (kind === 'healthcheck') return healthcheckFinished(r as HealthcheckResultView);
  const state = typeof r.state === 'string' ? r.state : 'unknown';
  const version = r.published?.targetsVersion;
  if (state === 'published' && typeof version === 'number')
    return {
      kind: 'published',
      publicGun: String(r.publicGun),
      tag: String(r.tag),
      targetsVersion: version,
    };
  // A publish the store refused leaves the submission approved with the reason (the review
  // itself stands): for whoever asked for the publish that is a failure, and says why.
  const refused = r.publishError?.message;
  if (state === 'approved' && typeof refused === 'string')
    return { kind: 'failed', code: 'publish_refused', message: refused };
  const text =
    kind === 'verify'
      ? `Verification finished: the submission is ${state}.`
      : `Finished: the submission is ${state}.`;
  return { kind: 'done', state, text };
}

/** A healthcheck job's result (src/store/healthcheck-run.ts runJob). */
interface HealthcheckResultView {
  readonly passed?: unknown;
  readonly detail?: unknown;
  readonly recorded?: unknown;
  readonly reason?: unknown;
}

function healthcheckFinished(r: HealthcheckResultView): JobOutcome {
  if (r.recorded !== true) {
    const why = typeof r.reason === 'string' ? r.reason : 'the submission moved on';
    return {
      kind: 'done',
      state: 'not recorded',
      text: `Health check run finished; not recorded: ${why}.`,
    };
  }
  const state = r.passed === true ? 'passed' : 'failed';
  const detail = typeof r.detail === 'string' ? `: ${r.detail}` : '';
  return {
    kind: 'done',
    state,
    text: `Health check run finished: healthcheck-run ${state}${detail}.`,
  };
}

/** The words of the page's status region (pages/job.ts adds only markup), for the script's polls. */
export function outcomeText(o: JobOutcome): string {
  switch (o.kind) {
    case 'running':
    case 'done':
      return o.text;
    case 'published':
      return `Published ${o.publicGun}:${o.tag} into ${o.publicGun} (targets version ${o.targetsVersion}).`;
    case 'failed':
      return `Failed (${o.code}): ${o.message}`;
  }
}
