/**
 * The `healthcheck-run` policy check (docs/store.md "Health checks run in a sandbox") as a job of
 * the submission it checks. At verification the hook starts a job (kind `healthcheck`) and
 * records the check as pending with the job's id; the Notary and store APIs never wait on it.
 * The job waits until that verification is recorded, runs every platform this host can run in
 * the sandbox runner (src/sandbox/runner.ts, one process per run), reporting `platform 1/1 …:
 * probe 2` as its progress, and writes the verdict through the lifecycle's `policy_decided`
 * event — only over the pending entry of its own job (a re-verification starts another job).
 * A pending or failing, unwaived check blocks approval like any other.
 *
 * A server that stops mid-run leaves a pending entry and a job that stops beating: the jobs'
 * sweep fails the job, and `reconcile` (at start and periodically) fails the entry with it.
 */
import { resolve } from 'node:path';
import { fail, isCountersignError } from '../errors.js';
import type { StepProgress, StepReporter } from '../jobs/progress.js';
import type { JobRunner } from '../jobs/runner.js';
import { inspectImage, type ImagePlatform } from '../registry/image.js';
import { repositoryForGun } from '../registry/names.js';
import type { RunReport, RunStep } from '../sandbox/run.js';
import { HealthcheckRunner } from '../sandbox/runner.js';
import { defaultWorkDir } from '../sandbox/settings.js';
import type { Storage, StoredSubmission } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { SYSTEM_ACTOR } from './audit.js';
import { CHECK, HOST_PLATFORM, verdict } from './healthcheck-verdict.js';
import type { StoreHooks, VerificationContext } from './hooks.js';
import { LIFECYCLE } from './lifecycle.js';
import { registryFor, type Registry } from './registry/hooks.js';
import type { RegistryEndpoint, StoreReview } from './registry/settings.js';
import { detailsOf, type PolicyCheckRecord } from './submission.js';
import { transition } from './transition.js';

/** The `kind` of a healthcheck-run job. */
export const JOB_KIND = 'healthcheck';

const PENDING_DETAIL =
  'pending: the image runs in the sandbox after verification; approval waits for the verdict';

/** How long a job waits for the verification that started it to be committed. */
const RECORDED_WAIT_MS = 60_000;

export interface HealthcheckRunHooksOptions {
  readonly runner: HealthcheckRunner;
  readonly jobs: JobRunner;
  readonly staging: Registry;
  readonly endpoint: RegistryEndpoint;
  readonly storage: Storage;
  readonly clock: Clock;
  readonly log: Logger;
}

export interface HealthcheckRunHooks extends StoreHooks {
  /** Fails pending entries whose job is no longer running (a server stopped mid-run); how many. */
  reconcile(): Promise<number>;
  /** Stops the runs in progress (their jobs then record failed verdicts) and the reconciling. */
  close(): Promise<void>;
}

/**
 * The hooks when `policy.runHealthcheck` is configured (else undefined): checks the host
 * programs, sweeps what a crashed server left, reconciles now and every `reconcileEveryMs`.
 */
export async function startHealthcheckRuns(
  review: StoreReview,
  o: {
    jobs: JobRunner;
    storage: Storage;
    clock: Clock;
    log: Logger;
    dataDir: string;
    reconcileEveryMs: number;
  }
): Promise<HealthcheckRunHooks | undefined> {
  const settings = review.runHealthcheck;
  if (!settings || !review.staging) return undefined;
  const log = o.log.child({ component: 'healthcheck-run' });
  const runner = new HealthcheckRunner({
    settings,
    stateDir: settings.workDir ?? defaultWorkDir(resolve(o.dataDir)),
    log,
  });
  await runner.start();
  const hooks = healthcheckRunHooks({
    runner,
    jobs: o.jobs,
    staging: registryFor(review.staging),
    endpoint: review.staging,
    storage: o.storage,
    clock: o.clock,
    log,
  });
  const tick = async () => {
    const failed = await hooks.reconcile();
    if (failed > 0) log.warn({ submissions: failed }, 'healthcheck runs left without a verdict');
  };
  await tick();
  const timer = setInterval(() => {
    tick().catch((err: unknown) =>
      log.warn({ err: String(err) }, 'healthcheck-run: reconcile failed')
    );
  }, o.reconcileEveryMs);
  timer.unref();
  return {
    ...hooks,
    async close() {
      clearInterval(timer);
      await hooks.close();
    },
  };
}

export function healthcheckRunHooks(o: HealthcheckRunHooksOptions): HealthcheckRunHooks {
  const hook = async (ctx: VerificationContext): Promise<PolicyCheckRecord[]> => {
    const { submission: sub, target } = ctx;
    if (!target)
      return [failedCheck(`staging signs no target ${sub.tag}: there is no image to run`)];
    // Code whose signatures did not verify is not run: nothing could be certified anyway.
    if (!ctx.result.ok) return [failedCheck('not run: the trust data did not verify')];
    // begin() starts the work before it returns the id: the work waits for it.
    let knowId: (id: string) => void = () => {};
    const jobId = new Promise<string>((r) => (knowId = r));
    const job = await o.jobs.begin({
      kind: JOB_KIND,
      owner: SYSTEM_ACTOR,
      submission: sub.id,
      run: async (steps) => runJob(o, sub, target.digest, await jobId, steps ?? (() => {})),
    });
    knowId(job.id);
    return [{ name: CHECK, passed: false, pending: true, detail: PENDING_DETAIL, job: job.id }];
  };
  return {
    policyChecks: [hook],
    reconcile: () => reconcile(o),
    async close() {
      await o.runner.stop();
      o.staging.client.close();
    },
  };
}

function failedCheck(detail: string): PolicyCheckRecord {
  return { name: CHECK, passed: false, detail };
}

/** The job's work: wait for the verification, run, record; its value is the job's result. */
async function runJob(
  o: HealthcheckRunHooksOptions,
  sub: Pick<StoredSubmission, 'id' | 'gun'>,
  digest: string,
  jobId: string,
  steps: StepReporter
): Promise<Record<string, unknown>> {
  steps({ phase: 'healthcheck', text: 'waiting for the verification to be recorded' });
  if (!(await pendingEntryRecorded(o, sub.id, jobId)))
    return {
      submission: sub.id,
      check: CHECK,
      recorded: false,
      reason: 'the verification that started this run was not recorded',
    };
  const check = await runPlatforms(o, sub.gun, digest, steps);
  const recorded = await recordVerdict(o, sub, jobId, check);
  return { submission: sub.id, check: CHECK, passed: check.passed, detail: check.detail, recorded };
}

/** True once the submission's healthcheck-run entry is this job's pending one. */
async function pendingEntryRecorded(
  o: HealthcheckRunHooksOptions,
  id: string,
  jobId: string
): Promise<boolean> {
  const until = Date.now() + RECORDED_WAIT_MS;
  for (;;) {
    const sub = await o.storage.submissions.get(id);
    if (!sub) return false;
    const entry = detailsOf(sub).policy.checks.find((c) => c.name === CHECK);
    if (entry?.job === jobId) return entry.pending === true;
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Every platform this host runs, one after the other; never throws (a failure is a verdict). */
async function runPlatforms(
  o: HealthcheckRunHooksOptions,
  gun: string,
  digest: string,
  steps: StepReporter
): Promise<PolicyCheckRecord> {
  try {
    const repo = repositoryForGun(gun, o.staging.repositoryPrefix);
    steps({ phase: 'healthcheck', text: 'reading the image from the staging registry' });
    const image = await inspectImage(o.staging.client, repo, digest);
    const runnable = image.platforms.filter((p) => p.platform === HOST_PLATFORM);
    const notRun = image.platforms
      .filter((p) => p.platform !== HOST_PLATFORM)
      .map((p) => p.platform);
    const reports: RunReport[] = [];
    for (const [i, p] of runnable.entries()) {
      const onStep = (s: RunStep) => steps(stepView(i + 1, runnable.length, p.platform, s));
      reports.push(await o.runner.run(sourceOf(o.endpoint, repo, p), p.platform, onStep));
    }
    return verdict(reports, notRun);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return failedCheck(`not run: ${reason}; verify again`);
  }
}

const STEP_TEXT = {
  pull: 'pulling the image by digest',
  unpack: 'unpacking it into a bundle',
  start: 'starting the container',
} as const;

/** The job's progress: `platform 1/1 linux/amd64: probe 2 (unhealthy after 3 failures in a row)`. */
export function stepView(index: number, total: number, platform: string, s: RunStep): StepProgress {
  const what =
    s.step === 'probe'
      ? `probe ${s.probe} (unhealthy after ${s.retries} failures in a row)`
      : STEP_TEXT[s.step];
  return {
    phase: 'healthcheck',
    platform: { index, total, name: platform },
    step: s.step,
    ...(s.step === 'probe' ? { probe: s.probe, retries: s.retries } : {}),
    text: `platform ${index}/${total} ${platform}: ${what}`,
  };
}

function sourceOf(endpoint: RegistryEndpoint, repository: string, p: ImagePlatform) {
  return {
    registryUrl: endpoint.url,
    repository,
    digest: p.manifestDigest,
    ...(endpoint.ca !== undefined ? { ca: endpoint.ca } : {}),
    ...(endpoint.username !== undefined ? { username: endpoint.username } : {}),
    ...(endpoint.password !== undefined ? { password: endpoint.password } : {}),
  };
}

const SUPERSEDED = 'the entry is no longer this job’s pending one';

/**
 * Replaces this job's pending entry with `check` (the lifecycle's `policy_decided`, audited);
 * false when the submission moved on (verified again, rejected) and the verdict was dropped.
 */
async function recordVerdict(
  o: HealthcheckRunHooksOptions,
  sub: Pick<StoredSubmission, 'id' | 'gun'>,
  jobId: string,
  check: PolicyCheckRecord
): Promise<boolean> {
  try {
    await transition(o, SYSTEM_ACTOR, sub, 'policy_decided', (current) => {
      const d = detailsOf(current);
      const entry = d.policy.checks.find((c) => c.name === CHECK);
      if ((entry?.job ?? '') !== jobId || entry?.pending !== true) fail('conflict', SUPERSEDED);
      const decided: PolicyCheckRecord = { ...check, job: jobId };
      return {
        state: current.state,
        details: {
          ...d,
          policy: { checks: d.policy.checks.map((c) => (c.name === CHECK ? decided : c)) },
        },
        audit: [
          {
            action: 'submission.policy_decided',
            details: { check: CHECK, job: jobId, passed: check.passed, detail: check.detail },
          },
        ],
      };
    });
    return true;
  } catch (err) {
    if (!isCountersignError(err, 'conflict')) throw err;
    o.log.warn({ submission: sub.id, job: jobId, why: err.message }, 'verdict dropped');
    return false;
  }
}

/** Pending entries whose job ended (or is gone) without writing its verdict are failed. */
async function reconcile(o: HealthcheckRunHooksOptions): Promise<number> {
  let n = 0;
  for (const state of LIFECYCLE.policy_decided.from) {
    for (const sub of await o.storage.submissions.list({ state, limit: 10_000 })) {
      const entry = detailsOf(sub).policy.checks.find((c) => c.name === CHECK && c.pending);
      if (!entry) continue;
      const job = entry.job === undefined ? null : await o.storage.jobs.get(entry.job);
      if (job?.state === 'running') continue;
      const why = typeof job?.error?.message === 'string' ? job.error.message : 'its job is gone';
      const interrupted = `interrupted: the run ended without a verdict (${why}); verify again`;
      if (await recordVerdict(o, sub, entry.job ?? '', failedCheck(interrupted))) n++;
    }
  }
  return n;
}
