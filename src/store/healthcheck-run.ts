/**
 * The `healthcheck-run` policy check (docs/store.md "Health checks run in a sandbox"): at
 * verification it is recorded as pending and the run is queued; the Notary and store APIs never
 * wait on it. When the sandbox runner (src/sandbox/runner.ts) has run every platform this host
 * can run, the verdict replaces the pending entry in the submission — only if that entry is
 * still the one this run was started for (a re-verification starts a new run) — and the
 * decision is audited. A pending or failing (unwaived) check blocks approval like any other.
 *
 * As a job of the jobs framework: `decide()` is the job body; the runner's queue its queue.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { inspectImage, type ImagePlatform } from '../registry/image.js';
import { repositoryForGun } from '../registry/names.js';
import type { RunReport } from '../sandbox/run.js';
import { HealthcheckRunner } from '../sandbox/runner.js';
import { defaultWorkDir } from '../sandbox/settings.js';
import type { Storage, StoredSubmission } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { appendAudit, SYSTEM_ACTOR } from './audit.js';
import type { StoreHooks, VerificationContext } from './hooks.js';
import { registryFor, type Registry } from './registry/hooks.js';
import type { RegistryEndpoint, StoreReview } from './registry/settings.js';
import { detailsOf, type PolicyCheckRecord, type SubmissionDetails } from './submission.js';

export const CHECK = 'healthcheck-run';

/** The platform this host runs (Node's arch → OCI's). */
export const HOST_PLATFORM = `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`;

const PENDING_DETAIL =
  'pending: the image runs in the sandbox after verification; approval waits for the verdict';

export interface HealthcheckRunHooksOptions {
  readonly runner: HealthcheckRunner;
  readonly staging: Registry;
  readonly endpoint: RegistryEndpoint;
  readonly storage: Storage;
  readonly clock: Clock;
  readonly log: Logger;
}

export interface HealthcheckRunHooks extends StoreHooks {
  /** Marks runs a stopped server left pending as failed (call once at start). */
  failStaleRuns(): Promise<number>;
  /** Stops the runs in progress and waits for their (failed) verdicts. */
  close(): Promise<void>;
}

/**
 * The hooks when `policy.runHealthcheck` is configured (else undefined): checks the host
 * programs, sweeps what a crashed server left, fails the runs it left pending.
 */
export async function startHealthcheckRuns(
  review: StoreReview,
  o: { storage: Storage; clock: Clock; log: Logger; dataDir: string }
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
    staging: registryFor(review.staging),
    endpoint: review.staging,
    storage: o.storage,
    clock: o.clock,
    log,
  });
  const stale = await hooks.failStaleRuns();
  if (stale > 0)
    log.warn({ submissions: stale }, 'healthcheck runs a stopped server left pending were failed');
  return hooks;
}

export function healthcheckRunHooks(o: HealthcheckRunHooksOptions): HealthcheckRunHooks {
  const inFlight = new Set<Promise<void>>();
  const hook = (ctx: VerificationContext): Promise<PolicyCheckRecord[]> => {
    if (!ctx.target)
      return Promise.resolve([
        {
          name: CHECK,
          passed: false,
          detail: `staging signs no target ${ctx.submission.tag}: there is no image to run`,
        },
      ]);
    const runId = randomBytes(12).toString('base64url');
    const p = decide(o, ctx.submission.id, ctx.submission.gun, ctx.target.digest, runId)
      .catch((err: unknown) =>
        o.log.error({ submission: ctx.submission.id, err: String(err) }, 'healthcheck-run failed')
      )
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
    return Promise.resolve([
      { name: CHECK, passed: false, pending: true, detail: PENDING_DETAIL, evidence: { runId } },
    ]);
  };
  return {
    policyChecks: [hook],
    failStaleRuns: () => failStaleRuns(o),
    async close() {
      await o.runner.stop();
      await Promise.allSettled([...inFlight]);
      o.staging.client.close();
    },
  };
}

/** Runs every platform this host can run, then records the verdict. */
async function decide(
  o: HealthcheckRunHooksOptions,
  id: string,
  gun: string,
  digest: string,
  runId: string
): Promise<void> {
  let check: PolicyCheckRecord;
  try {
    const repo = repositoryForGun(gun, o.staging.repositoryPrefix);
    const image = await inspectImage(o.staging.client, repo, digest);
    const runnable = image.platforms.filter((p) => p.platform === HOST_PLATFORM);
    const notRun = image.platforms
      .filter((p) => p.platform !== HOST_PLATFORM)
      .map((p) => p.platform);
    const reports: RunReport[] = [];
    for (const p of runnable)
      reports.push(await o.runner.run(sourceOf(o.endpoint, repo, p), p.platform));
    check = verdict(reports, notRun, runId);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    check = {
      name: CHECK,
      passed: false,
      detail: `not run: ${reason}; verify again`,
      evidence: { runId },
    };
  }
  await record(o, id, runId, check);
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

/** One record for all platforms: passes only if every platform run passed (and one ran). */
export function verdict(
  reports: readonly RunReport[],
  notRun: readonly string[],
  runId: string
): PolicyCheckRecord {
  const skipped = notRun.length
    ? `; not run (this host runs ${HOST_PLATFORM} only): ${notRun.join(', ')}`
    : '';
  if (reports.length === 0)
    return {
      name: CHECK,
      passed: false,
      detail: `no platform of the image runs on this host${skipped}`,
      evidence: { runId, notRun },
    };
  const lines = reports.map((r) => {
    const sizes =
      r.unpackedBytes !== undefined
        ? `; unpacked ${r.unpackedBytes} bytes (compressed ${r.compressedBytes ?? '?'})`
        : '';
    const user = r.user
      ? `; User ${JSON.stringify(r.user.declared || 'root')} ${r.user.inPasswd ? 'is' : 'is not'} in /etc/passwd`
      : '';
    return `${r.platform}: ${r.passed ? 'healthy' : 'failed'}: ${r.reason}${sizes}${user}`;
  });
  return {
    name: CHECK,
    passed: reports.every((r) => r.passed),
    detail: lines.join('; ') + skipped,
    evidence: { runId, platforms: reports, notRun },
  };
}

/** Writes the verdict if the pending entry of this run is still there; retries while the verification commits. */
async function record(
  o: HealthcheckRunHooksOptions,
  id: string,
  runId: string,
  check: PolicyCheckRecord
): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const outcome = await o.storage.transaction(async (tx) => {
      const sub = await tx.submissions.get(id);
      if (!sub) return 'gone';
      const d = detailsOf(sub);
      const current = d.policy.checks.find((c) => c.name === CHECK);
      if (current?.evidence?.runId !== runId) return 'not yet';
      if (!current.pending) return 'gone';
      await write(o, tx, sub, d, check);
      return 'done';
    });
    if (outcome !== 'not yet') return;
    // The verification that queued this run may not have committed yet.
    await new Promise((r) => setTimeout(r, 500));
  }
  o.log.warn(
    { submission: id },
    'healthcheck-run verdict dropped: the submission was verified again'
  );
}

type Tx = Parameters<Parameters<Storage['transaction']>[0]>[0];

async function write(
  o: HealthcheckRunHooksOptions,
  tx: Tx,
  sub: StoredSubmission,
  d: SubmissionDetails,
  check: PolicyCheckRecord
): Promise<void> {
  const now = o.clock.now();
  const details: SubmissionDetails = {
    ...d,
    policy: { checks: d.policy.checks.map((c) => (c.name === CHECK ? check : c)) },
  };
  const next = await tx.submissions.update(sub.id, sub.revision, {
    state: sub.state,
    updatedAt: now,
    details: details as unknown as Record<string, unknown>,
  });
  await appendAudit(tx.audit, {
    at: now,
    actor: SYSTEM_ACTOR,
    action: 'submission.policy_decided',
    subject: `${sub.gun}:${sub.tag}`,
    details: {
      submission: sub.id,
      gun: sub.gun,
      publicGun: sub.publicGun,
      tag: sub.tag,
      state: next.state,
      check: CHECK,
      passed: check.passed,
      detail: check.detail,
    },
  });
}

/** Pending runs of a server that stopped are failed: nothing is running them any more. */
async function failStaleRuns(o: HealthcheckRunHooksOptions): Promise<number> {
  let n = 0;
  for (const state of ['submitted', 'verified', 'verification_failed'] as const) {
    for (const sub of await o.storage.submissions.list({ state })) {
      const pending = detailsOf(sub).policy.checks.find((c) => c.name === CHECK && c.pending);
      if (!pending) continue;
      const runId = pending.evidence?.runId;
      if (typeof runId !== 'string') continue;
      await record(o, sub.id, runId, {
        name: CHECK,
        passed: false,
        detail: 'interrupted: the server stopped before the run ended; verify again',
        evidence: { runId },
      });
      n++;
    }
  }
  return n;
}
