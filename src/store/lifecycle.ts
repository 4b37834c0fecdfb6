/**
 * The submission lifecycle as one table (docs/design.md "Submission lifecycle"): for each event,
 * the states it may happen in and the states it may lead to. The service, the publish and the
 * revocation consult it instead of spelling the allowed states inline, so the state machine
 *
 *   submitted → verified | verification_failed → approved | rejected → published → revoked
 *
 * is written down once, and a new event (a webhook, a job) can be checked against it.
 */
import { fail } from '../errors.js';
import type { SubmissionState } from '../storage/types.js';

export type SubmissionEvent =
  | 'verify'
  | 'attach_report'
  | 'policy_decided'
  | 'waive'
  | 'approve'
  | 'reject'
  | 'publish'
  | 'publish_refused'
  | 'revoke';

interface Transition {
  /** The states the event may happen in. */
  readonly from: readonly SubmissionState[];
  /** The states it may leave the submission in (the same state where it only adds details). */
  readonly to: readonly SubmissionState[];
  /** The 409 message when the submission is in another state (docs/interfaces.md). */
  readonly refusal: (state: SubmissionState) => string;
}

/** Not yet reviewed: verification may run again and reports may still change the policy checks. */
const OPEN: readonly SubmissionState[] = ['submitted', 'verified', 'verification_failed'];

export const LIFECYCLE: Readonly<Record<SubmissionEvent, Transition>> = {
  // An unreachable registry decides nothing: the submission stays `submitted` (undecided).
  verify: {
    from: OPEN,
    to: ['verified', 'verification_failed', 'submitted'],
    refusal: (s) => `a ${s} submission is not verified again`,
  },
  attach_report: {
    from: OPEN,
    to: OPEN,
    refusal: (s) => `a ${s} submission takes no more reports`,
  },
  // A check decided in the background (healthcheck-run) replaces its pending entry, while the
  // submission is still open; the state stays as it is (policy checks never change it).
  policy_decided: {
    from: OPEN,
    to: OPEN,
    refusal: (s) => `a ${s} submission takes no more policy verdicts`,
  },
  waive: {
    from: ['verified'],
    to: ['verified'],
    refusal: (s) => `only a verified submission's checks are waived; this one is ${s}`,
  },
  // Below the quorum an approval leaves the submission `verified`.
  approve: {
    from: ['verified'],
    to: ['verified', 'approved'],
    refusal: (s) => `only a verified submission can be approved; this one is ${s}`,
  },
  reject: {
    from: [...OPEN, 'approved'],
    to: ['rejected'],
    refusal: (s) => `a ${s} submission cannot be rejected`,
  },
  publish: {
    from: ['approved'],
    to: ['published'],
    refusal: (s) => `only an approved submission is published; this one is ${s}`,
  },
  // A refused publish records its reason; the submission stays approved, waiting for an admin.
  publish_refused: {
    from: ['approved'],
    to: ['approved'],
    refusal: (s) => `a ${s} submission has no publish to refuse`,
  },
  revoke: {
    from: ['published'],
    to: ['revoked'],
    refusal: (s) => `only a published submission is revoked; this one is ${s}`,
  },
};

export function allows(event: SubmissionEvent, state: SubmissionState): boolean {
  return LIFECYCLE[event].from.includes(state);
}

/** 409 `conflict` with the event's own message unless the event may happen in `state`. */
export function requireTransition(event: SubmissionEvent, state: SubmissionState): void {
  if (!allows(event, state)) fail('conflict', LIFECYCLE[event].refusal(state));
}

/** A programming error, not a client's: the service chose a next state the table does not allow. */
export function checkOutcome(event: SubmissionEvent, next: SubmissionState): void {
  if (!LIFECYCLE[event].to.includes(next))
    fail('internal', `the event ${event} may not lead to the state ${next}`);
}
