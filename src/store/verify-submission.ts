/**
 * Verifying a submission (docs/design.md "Verification") in two halves: `evaluate` reads staging
 * and runs the hooks' checks (slow, outside any transaction), `verificationChange` turns the
 * result into the submission's next state, details and audit entry (inside the transaction).
 */
import type { NotaryCaches } from '../notary/caches.js';
import type { Storage } from '../storage/types.js';
import type { StoredSubmission, SubmissionState } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import type { AuditAction } from './audit.js';
import type { StoreHooks } from './hooks.js';
import { carryWaivers } from './policy-review.js';
import {
  detailsOf,
  viewOf,
  type PolicyCheckRecord,
  type SubmissionCheck,
  type SubmissionDetails,
  type SubmissionTarget,
  type StagingRecord,
} from './submission.js';
import type { Change } from './transition.js';
import { highestVersions, verifyStaging } from './verification.js';

export interface VerificationOutcome {
  readonly target: SubmissionTarget | null;
  readonly staging: StagingRecord;
  readonly checks: readonly SubmissionCheck[];
  readonly policy: readonly PolicyCheckRecord[];
}

export interface EvaluateDeps {
  readonly storage: Storage;
  /** The app's parsed files, checked roots and imported keys (src/notary/caches.ts). */
  readonly caches: NotaryCaches;
  readonly clock: Clock;
  readonly hooks?: StoreHooks | undefined;
}

/** Staging verified against the versions earlier submissions of the GUN saw, then every hook. */
export async function evaluate(
  deps: EvaluateDeps,
  sub: StoredSubmission
): Promise<VerificationOutcome> {
  const earlier = (await deps.storage.submissions.list({ gun: sub.gun })).filter(
    (s) => s.id !== sub.id
  );
  const v = await verifyStaging({
    meta: deps.storage.meta,
    parsed: deps.caches.parsed,
    gun: sub.gun,
    tag: sub.tag,
    clock: deps.clock,
    previousVersions: highestVersions(earlier.map((s) => detailsOf(s).staging)),
  });
  const context = { submission: viewOf(sub), target: v.target, result: v.result };
  const checks: SubmissionCheck[] = [...v.checks];
  for (const hook of deps.hooks?.verificationChecks ?? []) checks.push(...(await hook(context)));
  const policy: PolicyCheckRecord[] = [];
  for (const hook of deps.hooks?.policyChecks ?? []) policy.push(...(await hook(context)));
  return { target: v.target, staging: v.staging, checks, policy };
}

/** `verified` only if every check passed; the report and the exact target read are recorded. */
export function verificationChange(
  before: SubmissionDetails,
  o: VerificationOutcome,
  now: Date
): Change {
  const failed = o.checks.filter((c) => !c.passed);
  const inconclusive = [...failed, ...o.policy].filter((c) => c.inconclusive === true);
  // A registry that could not be reached decided nothing: unless a check that did run failed,
  // the submission waits for a re-run.
  const undecided = failed.every((c) => c.inconclusive === true) && inconclusive.length > 0;
  const state: SubmissionState = undecided
    ? 'submitted'
    : failed.length === 0
      ? 'verified'
      : 'verification_failed';
  const action: AuditAction =
    state === 'verified'
      ? 'submission.verified'
      : undecided
        ? 'submission.verification_incomplete'
        : 'submission.verification_failed';
  const details: SubmissionDetails = {
    ...before,
    target: o.target,
    staging: o.staging,
    verification: { checks: o.checks, at: now.toISOString() },
    policy: { checks: carryWaivers(before.policy.checks, o.policy) },
  };
  const t = o.target;
  const audit = {
    ...(t ? { digest: t.digest, length: t.length, role: t.role } : {}),
    versions: { ...o.staging.versions },
    failed: failed.map((c) => c.name),
    ...(undecided ? { inconclusive: inconclusive.map((c) => `${c.name}: ${c.detail}`) } : {}),
  };
  return { state, details, audit: [{ action, details: audit }] };
}

/** Verification that threw (a hook, the database): `verification_failed` with the reason. */
export function verificationErrorChange(
  before: SubmissionDetails,
  detail: string,
  now: Date
): Change {
  return {
    state: 'verification_failed',
    details: {
      ...before,
      verification: {
        checks: [{ name: 'verification', passed: false, detail }],
        at: now.toISOString(),
      },
    },
    audit: [
      {
        action: 'submission.verification_failed',
        details: { failed: ['verification'], reason: detail },
      },
    ],
  };
}
