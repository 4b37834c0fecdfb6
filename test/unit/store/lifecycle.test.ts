/**
 * The submission lifecycle table (src/store/lifecycle.ts) and the request shapes the store API
 * turns into typed commands (src/store/command-parsing.ts), and the ids submissions get.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isCountersignError, type ErrorCode } from '../../../src/errors.js';
import {
  allows,
  checkOutcome,
  LIFECYCLE,
  requireTransition,
} from '../../../src/store/lifecycle.js';
import {
  isSubmissionId,
  newSubmissionId,
  SUBMISSION_STATES,
} from '../../../src/store/submission.js';
import { auditQuery, reviewCommand, submissionQuery } from '../../../src/store/command-parsing.js';

function refusedWith(code: ErrorCode, pattern: RegExp) {
  return (err: unknown) => isCountersignError(err, code) && pattern.test((err as Error).message);
}

describe('submission lifecycle table', () => {
  it('names only real states, and every state but revoked can still change', () => {
    const leaving = new Set<string>();
    for (const t of Object.values(LIFECYCLE)) {
      for (const s of [...t.from, ...t.to]) assert.ok(SUBMISSION_STATES.includes(s), s);
      for (const s of t.from) leaving.add(s);
    }
    assert.deepEqual(
      SUBMISSION_STATES.filter((s) => !leaving.has(s)),
      ['rejected', 'revoked']
    );
  });

  it('approves only verified submissions and rejects until published', () => {
    assert.equal(allows('approve', 'verified'), true);
    assert.equal(allows('approve', 'submitted'), false);
    assert.equal(allows('reject', 'approved'), true);
    assert.equal(allows('reject', 'published'), false);
    assert.throws(
      () => requireTransition('reject', 'published'),
      refusedWith('conflict', /^a published submission cannot be rejected$/)
    );
  });

  it('refuses an outcome the table does not list as a programming error', () => {
    assert.throws(() => checkOutcome('waive', 'approved'), refusedWith('internal', /waive/));
    checkOutcome('approve', 'verified');
  });
});

describe('store request shapes', () => {
  it('a rejection needs a note, an approval does not', () => {
    assert.deepEqual(reviewCommand({ decision: 'approve' }), { decision: 'approve', note: '' });
    assert.throws(
      () => reviewCommand({ decision: 'reject', note: ' ' }),
      refusedWith('bad_request', /^note must not be empty$/)
    );
    assert.throws(
      () => reviewCommand({ decision: 'maybe' }),
      refusedWith('bad_request', /decision must be/)
    );
  });

  it('an empty query parameter means "not given", except a limit', () => {
    assert.deepEqual(submissionQuery({ state: '', gun: '' }), {});
    assert.throws(() => submissionQuery({ limit: '' }), refusedWith('bad_request', /limit/));
    assert.throws(
      () => submissionQuery({ state: 'lost' }),
      refusedWith('bad_request', /not a submission state/)
    );
    assert.deepEqual(auditQuery({ after: '', limit: '' }), { afterId: 0, limit: 1000 });
    assert.throws(() => auditQuery({ since: 'yesterday' }), refusedWith('bad_request', /RFC 3339/));
  });
});

describe('submission ids', () => {
  it('are unguessable base64url that never begins with a dash (reviewers type them as arguments)', () => {
    // One random id in 64 would begin with "-"; 4,000 draws miss that with probability 1e-27.
    const ids = Array.from({ length: 4000 }, newSubmissionId);
    for (const id of ids) {
      assert.ok(isSubmissionId(id), id);
      assert.ok(!id.startsWith('-'), id);
    }
    assert.equal(new Set(ids).size, ids.length);
    // "_" (the other non-alphanumeric) still begins some: the alphabet is otherwise untouched.
    assert.ok(ids.some((id) => id.startsWith('_')));
  });
});
