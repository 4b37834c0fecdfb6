/**
 * What one review does to a submission (docs/interfaces.md "Store API"): an approval counts toward
 * the quorum (refused while a policy check blocks, or twice from the same reviewer), a rejection
 * ends the submission. The lifecycle table has already checked the state.
 */
import { fail } from '../errors.js';
import type { StoredSubmission, SubmissionState } from '../storage/types.js';
import type { ReviewCommand } from './commands.js';
import {
  approvers,
  blockingPolicyChecks,
  detailsOf,
  type Review,
  type SubmissionDetails,
} from './submission.js';
import type { Change } from './transition.js';

export function reviewChange(
  sub: StoredSubmission,
  reviewer: string,
  cmd: ReviewCommand,
  quorum: number,
  now: Date
): Change {
  const d = detailsOf(sub);
  const review: Review = {
    reviewer,
    decision: cmd.decision,
    note: cmd.note,
    at: now.toISOString(),
  };
  const state = cmd.decision === 'approve' ? approvalState(d, reviewer, quorum) : 'rejected';
  const details: SubmissionDetails = {
    ...d,
    reviews: [...d.reviews, review],
    ...(state === 'approved' ? { approvedAt: review.at } : {}),
  };
  const reviewed = {
    action: 'submission.reviewed' as const,
    details: { decision: cmd.decision, note: cmd.note, approvals: approvers(details).length },
  };
  if (state === sub.state) return { state, details, audit: [reviewed] };
  const decided = {
    action:
      state === 'approved' ? ('submission.approved' as const) : ('submission.rejected' as const),
    details: { reviewers: approvers(details), quorum },
  };
  return { state, details, audit: [reviewed, decided] };
}

/** `approved` once this approval completes the quorum, `verified` before that. */
function approvalState(d: SubmissionDetails, reviewer: string, quorum: number): SubmissionState {
  const blocking = blockingPolicyChecks(d);
  if (blocking.length > 0) {
    fail(
      'policy_failed',
      `policy checks fail and are not waived: ${blocking.map((c) => `${c.name} (${c.detail})`).join('; ')}`
    );
  }
  if (approvers(d).includes(reviewer))
    fail('conflict', `${reviewer} has already approved this submission`);
  return approvers(d).length + 1 >= quorum ? 'approved' : 'verified';
}
