/**
 * The quorum line of a submission (`approvals 1/2: waiting for one more reviewer`), from what the
 * store API answers: the distinct approving reviewers in `reviews` and the server's
 * `approvalsRequired`. A server that does not send the quorum gets the count alone.
 */
import { approvers, type SubmissionView } from '../store/submission.js';

export type SubmissionAnswer = SubmissionView & { readonly approvalsRequired?: number };

const WORDS = ['no', 'one', 'two', 'three', 'four', 'five'];

/** The line, or undefined for a submission that is not (or no longer) up for review. */
export function quorumLine(v: SubmissionAnswer): string | undefined {
  if (!['verified', 'approved', 'published'].includes(v.state)) return undefined;
  const approved = approvers(v).length;
  const required = v.approvalsRequired;
  if (required === undefined || !Number.isSafeInteger(required) || required < 1)
    return `approvals ${approved}`;
  const progress = `approvals ${approved}/${required}`;
  const missing = required - approved;
  if (missing <= 0 || v.state !== 'verified') return `${progress}: quorum reached`;
  const count = WORDS[missing] ?? String(missing);
  return `${progress}: waiting for ${count} more reviewer${missing === 1 ? '' : 's'}`;
}
