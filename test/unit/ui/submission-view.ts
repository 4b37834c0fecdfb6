/** A verified submission view for the UI's unit tests, with `o` over the defaults. */
import type { SubmissionView } from '../../../src/store/submission.js';

export function submissionView(id: string, o: Partial<SubmissionView> = {}): SubmissionView {
  return {
    id,
    gun: 'staging.store.test/acme/web',
    publicGun: 'store.test/acme/web',
    tag: '1.0',
    state: 'verified',
    submitter: 'acme',
    createdAt: '2031-01-09T00:00:00.000Z',
    updatedAt: '2031-01-09T00:00:00.000Z',
    target: null,
    staging: null,
    verification: { checks: [], at: null },
    policy: { checks: [] },
    reviews: [],
    ...o,
  };
}
