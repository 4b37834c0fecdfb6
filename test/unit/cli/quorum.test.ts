/** The quorum line the store commands print under a submission (issue 16). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { quorumLine, type SubmissionAnswer } from '../../../src/cli/quorum.js';
import { EMPTY_DETAILS } from '../../../src/store/submission.js';

function view(
  state: SubmissionAnswer['state'],
  approvers: string[],
  approvalsRequired?: number
): SubmissionAnswer {
  return {
    ...EMPTY_DETAILS,
    id: 'x'.repeat(22),
    gun: 'staging.example/a/b',
    publicGun: 'example/a/b',
    tag: '1.0',
    state,
    submitter: 'acme',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    reviews: approvers.map((reviewer) => ({
      reviewer,
      decision: 'approve' as const,
      note: '',
      at: '2026-01-01T00:00:00.000Z',
    })),
    ...(approvalsRequired !== undefined ? { approvalsRequired } : {}),
  };
}

describe('quorum line', () => {
  it('counts distinct approvers against the quorum the server sent', () => {
    assert.equal(
      quorumLine(view('verified', ['rev1'], 2)),
      'approvals 1/2: waiting for one more reviewer'
    );
    assert.equal(
      quorumLine(view('verified', [], 3)),
      'approvals 0/3: waiting for three more reviewers'
    );
    assert.equal(
      quorumLine(view('verified', ['a', 'a'], 9)),
      'approvals 1/9: waiting for 8 more reviewers'
    );
    assert.equal(quorumLine(view('approved', ['a', 'b'], 2)), 'approvals 2/2: quorum reached');
    assert.equal(quorumLine(view('published', ['a'], 1)), 'approvals 1/1: quorum reached');
  });

  it('says only the count when the server does not send the quorum, nothing before review', () => {
    assert.equal(quorumLine(view('verified', ['rev1'])), 'approvals 1');
    assert.equal(quorumLine(view('submitted', [], 2)), undefined);
    assert.equal(quorumLine(view('rejected', ['a'], 2)), undefined);
  });
});
