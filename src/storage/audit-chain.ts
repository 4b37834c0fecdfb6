/**
 * The audit log's hash chain (docs/design.md "Submission lifecycle": hash-chained entries an operator
 * can verify end to end). Each entry's hash is the SHA-256 of the canonical JSON of
 * `{id, at, actor, action, subject, details, prev}`, `at` as ISO 8601 and `prev` the previous
 * entry's hash (64 zeros for the first), so changing, removing or reordering any entry breaks
 * the chain at that entry or the one after it. Both storage backends compute it in `append`,
 * under the lock that serializes appends; src/store/audit.ts checks it.
 */
import { canonicalBytes } from '../canonical/encode.js';
import { sha256Hex } from '../crypto/hash.js';
import { fail } from '../errors.js';
import type { Codec } from './table.js';
import type { AuditEntry, NewAuditEntry } from './types.js';

export const GENESIS_HASH = '0'.repeat(64);

/** The hash of an entry with this id and predecessor hash. */
export function auditEntryHash(
  id: number,
  entry: Pick<AuditEntry, 'at' | 'actor' | 'action' | 'subject' | 'details'>,
  prev: string
): string {
  return sha256Hex(
    canonicalBytes({
      id,
      at: entry.at.toISOString(),
      actor: entry.actor,
      action: entry.action,
      subject: entry.subject,
      details: entry.details,
      prev,
    })
  );
}

/**
 * Details as they will read back from the database: a plain JSON object (undefined members
 * dropped), refused when canonical JSON cannot encode it (a non-integer number), so what is
 * hashed at append is exactly what is hashed at verification.
 */
function normalizeAuditDetails(details: NewAuditEntry['details']): Record<string, unknown> {
  const plain = JSON.parse(JSON.stringify(details ?? {})) as unknown;
  if (typeof plain !== 'object' || plain === null || Array.isArray(plain)) {
    fail('STORAGE_FAILURE', 'audit details must be a JSON object');
  }
  canonicalBytes(plain);
  return plain as Record<string, unknown>;
}

/** The next entry after `last` (null: the log is empty). */
export function chainedEntry(
  entry: NewAuditEntry,
  last: Pick<AuditEntry, 'id' | 'hash'> | null
): AuditEntry {
  const [id, prevHash] = [(last?.id ?? 0) + 1, last?.hash ?? GENESIS_HASH];
  const { at, actor, action, subject } = entry;
  const base = { at, actor, action, subject, details: normalizeAuditDetails(entry.details) };
  return { id, ...base, prevHash, hash: auditEntryHash(id, base, prevHash) };
}

/**
 * The details column: JSON text in both engines. Details that no longer parse as a JSON object
 * (a tampered row) read back as `{unreadable: text}`, so listing still works and `verify` names
 * the row.
 */
export const auditDetails: Codec = {
  toSql: (details) => JSON.stringify(details),
  fromSql: (text) => {
    try {
      const parsed = JSON.parse(text as string) as unknown;
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed;
    } catch {
      // unreadable, below
    }
    return { unreadable: text };
  },
};
