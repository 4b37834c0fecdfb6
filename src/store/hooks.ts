/**
 * Where other parts of the store plug into the certification chain without this module knowing
 * them (app.ts injects them): the registry checks add verification entries (`registry-manifest`,
 * `registry-blobs`), the review policy adds policy checks, and the registry copy runs before a
 * publish writes anything.
 */
import type { VerificationResult } from '../client/index.js';
import type {
  PolicyCheckRecord,
  SubmissionCheck,
  SubmissionTarget,
  SubmissionView,
} from './submission.js';

export interface VerificationContext {
  /** The submission as it was before this verification. */
  readonly submission: SubmissionView;
  /** The target staging signs for the tag, or null when none resolved. */
  readonly target: SubmissionTarget | null;
  /** The TUF verification just run. */
  readonly result: VerificationResult;
}

export interface PublishContext {
  /** The approved submission about to be published. */
  readonly submission: SubmissionView;
  readonly target: SubmissionTarget;
}

export interface StoreHooks {
  /** More verification checks; one that fails makes the state `verification_failed`. */
  readonly verificationChecks?: readonly ((
    ctx: VerificationContext
  ) => Promise<readonly SubmissionCheck[]>)[];
  /** Policy checks, listed in `policy.checks`; a failed, unwaived one blocks approvals (409 policy_failed). */
  readonly policyChecks?: readonly ((
    ctx: VerificationContext
  ) => Promise<readonly PolicyCheckRecord[]>)[];
  /**
   * Run before the publish transaction (the registry copy). Throwing stops the publish with
   * nothing written; an object returned is added to the published target's `custom`.
   */
  readonly beforePublish?: readonly ((
    ctx: PublishContext
  ) => Promise<Readonly<Record<string, unknown>> | void>)[];
}
