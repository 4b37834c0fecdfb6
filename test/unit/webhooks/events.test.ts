/** Which audit actions are webhook events, and the body each becomes (docs/webhooks.md "Events"). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEntry } from '../../../src/storage/types.js';
import { eventFromAudit, expiringEvent, WEBHOOK_EVENTS } from '../../../src/webhooks/events.js';

const entry = (action: string, details: Record<string, unknown>, id = 9): AuditEntry => ({
  id,
  at: new Date('2031-02-03T04:05:06.789Z'),
  actor: 'rev1',
  action,
  subject: 'staging.store.test/acme/web:1.0',
  details,
  prevHash: '0'.repeat(64),
  hash: 'f'.repeat(64),
});

describe('webhook events', () => {
  it('maps the chain’s audit actions to the eight events, and nothing else', () => {
    const sub = { submission: 's1', gun: 'staging.store.test/acme/web', tag: '1.0' };
    const mapped = [
      'submission.created',
      'submission.verified',
      'submission.verification_failed',
      'submission.verification_incomplete',
      'submission.report_attached',
      'submission.waived',
      'submission.reviewed',
      'submission.approved',
      'submission.rejected',
      'submission.published',
      'submission.publish_refused',
      'submission.revoked',
      'repository.revoked',
      'key.created',
      'metadata.resigned',
    ].map((a) => [a, eventFromAudit(entry(a, sub))?.event ?? null]);
    assert.deepEqual(mapped, [
      ['submission.created', 'submission.created'],
      ['submission.verified', 'submission.verified'],
      ['submission.verification_failed', 'submission.verification_failed'],
      ['submission.verification_incomplete', null],
      ['submission.report_attached', null],
      ['submission.waived', null],
      ['submission.reviewed', 'review.recorded'],
      ['submission.approved', null],
      ['submission.rejected', 'submission.rejected'],
      ['submission.published', 'submission.published'],
      ['submission.publish_refused', null],
      ['submission.revoked', 'target.revoked'],
      ['repository.revoked', 'target.revoked'],
      ['key.created', null],
      ['metadata.resigned', null],
    ]);
    const covered = new Set(mapped.map(([, e]) => e).filter((e) => e !== null));
    assert.deepEqual([...covered, 'metadata.expiring'].sort(), [...WEBHOOK_EVENTS].sort());
  });

  it('a body names the event, its stable id, the time of the action and what it is about', () => {
    const msg = eventFromAudit(
      entry('submission.reviewed', { submission: 's1', decision: 'approve', approvals: 1 }, 42)
    )!;
    assert.deepEqual(JSON.parse(msg.body), {
      event: 'review.recorded',
      id: 'audit-42',
      time: '2031-02-03T04:05:06.789Z',
      actor: 'rev1',
      subject: 'staging.store.test/acme/web:1.0',
      submission: { id: 's1', decision: 'approve', approvals: 1 },
    });
    assert.equal(msg.id, 'audit-42');
    const repo = eventFromAudit(
      entry('repository.revoked', {
        publicGun: 'store.test/acme/web',
        tag: '1.0',
        submission: null,
      })
    )!;
    const body = JSON.parse(repo.body) as { repository: { gun: string }; submission?: unknown };
    assert.equal(body.repository.gun, 'store.test/acme/web');
    assert.equal(body.submission, undefined);
  });

  it('metadata.expiring is one event per role version', () => {
    const role = {
      gun: 'staging.store.test/acme/web',
      role: 'targets',
      version: 3,
      expires: '2031-03-01T00:00:00Z',
      secondsLeft: 100,
      keyHolder: 'client',
    };
    const now = new Date('2031-02-28T23:58:20Z');
    const a = expiringEvent(role, now);
    assert.equal(a.id, expiringEvent(role, new Date(now.getTime() + 60_000)).id);
    assert.notEqual(a.id, expiringEvent({ ...role, version: 4 }, now).id);
    assert.deepEqual(JSON.parse(a.body).repository, role);
  });
});
