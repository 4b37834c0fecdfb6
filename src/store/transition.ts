/**
 * One helper for every change to a submission: read it inside a transaction locked on its GUN →
 * check the event against the lifecycle table → compute the change → write it against the
 * revision read (optimistic concurrency) → append its audit entries, all committed together.
 */
import { fail } from '../errors.js';
import type {
  AuditEntry,
  Storage,
  StorageTx,
  StoredSubmission,
  SubmissionState,
} from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { appendAudit, type AuditAction } from './audit.js';
import { checkOutcome, requireTransition, type SubmissionEvent } from './lifecycle.js';
import type { SubmissionDetails } from './submission.js';

/** What an event does to a submission. */
export interface Change {
  readonly state: SubmissionState;
  readonly details: SubmissionDetails;
  /** Audit entries written with the change, in order; each also names the submission. */
  readonly audit: readonly AuditRecord[];
}

export interface AuditRecord {
  readonly action: AuditAction;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface TransitionOptions {
  /** Refusals that come before the state check (a submitter reviewing their own submission). */
  readonly guard?: (sub: StoredSubmission) => void;
  /**
   * The revision the change was computed from outside the transaction (verification reads a
   * registry first): a submission changed since then is a STORAGE_CONFLICT, not a state error.
   */
  readonly revision?: number;
}

export type Decide = (sub: StoredSubmission, now: Date, tx: StorageTx) => Change | Promise<Change>;

export function transition(
  deps: { readonly storage: Storage; readonly clock: Clock },
  actor: string,
  subject: Pick<StoredSubmission, 'id' | 'gun'>,
  event: SubmissionEvent,
  decide: Decide,
  opts: TransitionOptions = {}
): Promise<StoredSubmission> {
  return deps.storage.transaction(
    async (tx) => {
      const sub = await tx.submissions.get(subject.id);
      if (!sub) return fail('not_found', `no submission ${subject.id}`);
      if (opts.revision !== undefined && sub.revision !== opts.revision)
        fail('STORAGE_CONFLICT', `submission ${sub.id} changed since revision ${opts.revision}`);
      opts.guard?.(sub);
      requireTransition(event, sub.state);
      const now = deps.clock.now();
      const change = await decide(sub, now, tx);
      checkOutcome(event, change.state);
      const updated = await tx.submissions.update(sub.id, sub.revision, {
        state: change.state,
        updatedAt: now,
        details: change.details as unknown as Record<string, unknown>,
      });
      for (const entry of change.audit)
        await auditSubmission(tx, actor, entry.action, updated, now, entry.details);
      return updated;
    },
    { lockGun: subject.gun }
  );
}

/** An audit entry about a submission: its subject `gun:tag`, its ids and state after the change. */
export function auditSubmission(
  tx: StorageTx,
  actor: string,
  action: AuditAction,
  sub: StoredSubmission,
  at: Date,
  extra: Readonly<Record<string, unknown>>
): Promise<AuditEntry> {
  return appendAudit(tx.audit, {
    at,
    actor,
    action,
    subject: `${sub.gun}:${sub.tag}`,
    details: {
      submission: sub.id,
      gun: sub.gun,
      publicGun: sub.publicGun,
      tag: sub.tag,
      state: sub.state,
      ...extra,
    },
  });
}
