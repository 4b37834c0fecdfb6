import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Principal } from '../../../src/auth/principal.js';
import { buildQueue, needsReviewBy, queueFilter, quorumText } from '../../../src/ui/queue.js';
import { submissionView } from './submission-view.js';

const NOW = new Date('2031-01-10T00:00:00Z');
const rev1: Principal = { name: 'rev1', role: 'reviewer', namespaces: [] };
const acme: Principal = {
  name: 'acme',
  role: 'publisher',
  namespaces: ['staging.store.test/acme/'],
};

const sub = submissionView;

const all = [
  sub('c', { createdAt: '2031-01-09T12:00:00.000Z' }),
  sub('a', {
    createdAt: '2031-01-01T00:00:00.000Z',
    gun: 'staging.store.test/beta/api',
    submitter: 'beta',
  }),
  sub('b', {
    createdAt: '2031-01-05T00:00:00.000Z',
    reviews: [{ reviewer: 'rev1', decision: 'approve', note: '', at: '2031-01-06T00:00:00.000Z' }],
  }),
  sub('d', { state: 'published', createdAt: '2030-12-01T00:00:00.000Z' }),
];

describe('ui queue', () => {
  it('lists oldest first and counts per state', () => {
    const q = buildQueue(all, rev1, queueFilter({}), NOW);
    assert.deepEqual(
      q.rows.map((s) => s.id),
      ['d', 'a', 'b', 'c']
    );
    assert.equal(q.counts.verified, 3);
    assert.equal(q.counts.published, 1);
    assert.equal(q.counts.rejected, 0);
  });

  it('"needs me": verified, not reviewed by me yet, not mine', () => {
    const q = buildQueue(all, rev1, queueFilter({ mine: '1' }), NOW);
    assert.deepEqual(
      q.rows.map((s) => s.id),
      ['a', 'c']
    );
    assert.equal(q.needsMe, 2);
    assert.equal(needsReviewBy(acme, all[0]!), false, 'publishers review nothing');
    assert.equal(
      needsReviewBy({ ...rev1, name: 'acme' }, all[0]!),
      false,
      'nobody reviews their own'
    );
  });

  it('filters by publisher, GUN and age; the counts follow those filters but not the state filter', () => {
    assert.deepEqual(
      buildQueue(all, rev1, queueFilter({ publisher: 'beta' }), NOW).rows.map((s) => s.id),
      ['a']
    );
    assert.deepEqual(
      buildQueue(all, rev1, queueFilter({ gun: 'BETA/' }), NOW).rows.map((s) => s.id),
      ['a']
    );
    const old = buildQueue(all, rev1, queueFilter({ age: '7d', state: 'verified' }), NOW);
    assert.deepEqual(
      old.rows.map((s) => s.id),
      ['a']
    );
    assert.equal(old.counts.published, 1);
  });

  it('ignores filter values it does not know instead of failing', () => {
    const f = queueFilter({ state: 'nonsense', age: '3y', mine: ['1'], publisher: ['x', 'y'] });
    assert.deepEqual(f, { age: '', needsMe: false });
  });

  it('writes quorum progress as "N of M approvals", counting distinct approvers', () => {
    const s = sub('x', {
      reviews: [
        { reviewer: 'rev1', decision: 'approve', note: '', at: '' },
        { reviewer: 'rev1', decision: 'approve', note: '', at: '' },
      ],
    });
    assert.equal(quorumText(s, 2), '1 of 2 approvals');
    assert.equal(quorumText(sub('y', {}), 1), '0 of 1 approval');
  });
});
