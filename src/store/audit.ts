/**
 * The audit log (docs/design.md: "Every step appends to the audit log"): who did what to which
 * submission, repository or key, and when. Entries are appended through the storage (inside the
 * transaction that makes the change, when there is one, so a change and its entry commit
 * together) and chained by hash (src/storage/audit-chain.ts); `verifyAuditChain` recomputes the
 * chain from the first entry and names the first one that does not hold.
 */
import type { AuditEntry, AuditStore, NewAuditEntry } from '../storage/types.js';
import { auditEntryHash, GENESIS_HASH } from '../storage/audit-chain.js';

/** The actor of what the server does on its own (start-up key creation, …). */
export const SYSTEM_ACTOR = 'countersign';
/** The actor of re-signs and root renewals the freshness scheduler makes before expiry. */
export const SCHEDULER_ACTOR = 'scheduler';
/** The actor of a re-sign a read triggered (an expired, or nearly expired, timestamp was asked for). */
export const READER_ACTOR = 'reader';

/** Actions written to the log (docs/store.md "Audit log"). */
export type AuditAction =
  | 'submission.created'
  | 'submission.verified'
  | 'submission.verification_failed'
  | 'submission.verification_incomplete'
  | 'submission.report_attached'
  | 'submission.waived'
  | 'submission.policy_decided'
  | 'submission.reviewed'
  | 'submission.approved'
  | 'submission.rejected'
  | 'submission.published'
  | 'submission.publish_refused'
  | 'submission.revoked'
  | 'repository.created'
  | 'repository.published'
  | 'repository.revoked'
  | 'key.created'
  | 'key.discarded'
  | 'certificate.issued'
  | 'ca.created'
  | 'ca.rotated'
  | 'metadata.resigned'
  | 'root.renewed';

export interface AuditRecord extends Omit<NewAuditEntry, 'action'> {
  readonly action: AuditAction;
}

export function appendAudit(store: AuditStore, entry: AuditRecord): Promise<AuditEntry> {
  return store.append(entry);
}

export interface AuditVerification {
  readonly ok: boolean;
  /** Entries read. */
  readonly entries: number;
  /** Id of the first entry that breaks the chain, or null. */
  readonly firstBroken: number | null;
  /** Why it is broken (absent when ok). */
  readonly reason?: string;
}

/** Recomputes the chain from entry 1, a page at a time. */
export async function verifyAuditChain(
  store: AuditStore,
  pageSize = 1000
): Promise<AuditVerification> {
  let entries = 0;
  let prev: AuditEntry | null = null;
  for (;;) {
    const page = await store.list({ afterId: prev?.id ?? 0, limit: pageSize });
    for (const e of page) {
      entries++;
      const problem = entryProblem(e, prev);
      if (problem !== null) return { ok: false, entries, firstBroken: e.id, reason: problem };
      prev = e;
    }
    if (page.length < pageSize) return { ok: true, entries, firstBroken: null };
  }
}

function entryProblem(e: AuditEntry, prev: AuditEntry | null): string | null {
  const expectedId = (prev?.id ?? 0) + 1;
  // A missing entry shows as a gap in the ids (and as a prev hash that does not match).
  if (e.id !== expectedId)
    return `entry ${e.id} follows entry ${prev?.id ?? 0}: entry ${expectedId} is missing`;
  const expectedPrev = prev?.hash ?? GENESIS_HASH;
  if (e.prevHash !== expectedPrev)
    return `entry ${e.id} does not chain to entry ${prev?.id ?? 0} (previous hash differs)`;
  let hash: string;
  try {
    hash = auditEntryHash(e.id, e, e.prevHash);
  } catch {
    return `entry ${e.id} cannot be hashed (a field is no longer well formed)`;
  }
  if (hash !== e.hash)
    return `entry ${e.id} was changed after it was written (its hash does not match its content)`;
  return null;
}
