/**
 * The store's tables (src/storage/types.ts "The store", migration 3): submissions, public
 * repositories and the audit log, written once for both engines over the port in sql.ts.
 *
 * Audit appends take the audit chain's lock (held to the end of the transaction; on SQLite the
 * file's write lock does it): one entry at a time on every instance, so ids stay consecutive and
 * each entry chains to the one before it. Callers make the append the last write of a
 * transaction, so that lock is always taken after any GUN lock and never the other way round.
 */
import { fail } from '../errors.js';
import { auditDetails, chainedEntry } from './audit-chain.js';
import { changeOne, insertOne, Where } from './sql.js';
import type { ReadRun, SqlConn, WriteRun } from './sql.js';
import { isoText, json, plain, table, time } from './table.js';
import type {
  AuditEntry,
  AuditFilter,
  NewAuditEntry,
  StorageTx,
  StoreRepository,
  StoredSubmission,
  SubmissionChange,
  SubmissionFilter,
} from './types.js';

const SUBMISSION = table<StoredSubmission>('store_submissions', {
  ...plain('id gun publicGun tag state submitter'),
  createdAt: time,
  updatedAt: time,
  ...plain('revision'),
  details: json,
});
const REPOSITORY = table<StoreRepository>('store_repositories', {
  ...plain('publicGun rootKeyId rootCertificate targetsKeyId'),
  ...plain('snapshotKeyId timestampKeyId'),
  createdAt: time,
  updatedAt: time,
});
const AUDIT = table<AuditEntry>('audit_log', {
  ...plain('id'),
  at: isoText,
  ...plain('actor action subject'),
  details: auditDetails,
  ...plain('prevHash hash'),
});

export function bindStoreStores(
  read: ReadRun,
  write: WriteRun
): Pick<StorageTx, 'submissions' | 'storeRepositories' | 'audit'> {
  const repository = (c: SqlConn, gun: string): Promise<StoreRepository | null> =>
    REPOSITORY.one(c, 'WHERE public_gun = ?', [gun]);
  return {
    submissions: {
      insert: (s) =>
        write({}, insertOne(SUBMISSION.insert, SUBMISSION.values(s), `submission ${s.id} exists`)),
      get: (id) => read((c) => getSubmission(c, id)),
      list: (filter) => read((c) => listSubmissions(c, filter ?? {})),
      update: (id, revision, change) => write({}, (c) => updateSubmission(c, id, revision, change)),
    },
    storeRepositories: {
      insertIfAbsent: (r) =>
        write({}, async (c) => {
          // On PostgreSQL a concurrent inserter's uncommitted row makes ON CONFLICT wait for its
          // outcome; the SELECT that follows then sees the winner.
          const sql = `${REPOSITORY.insert} ON CONFLICT (public_gun) DO NOTHING`;
          await c.execute(sql, REPOSITORY.values(r));
          return (await repository(c, r.publicGun))!;
        }),
      get: (gun) => read((c) => repository(c, gun)),
      list: () => read((c) => REPOSITORY.all(c, 'ORDER BY public_gun')),
      setRootCertificate: (gun, pem, at, rootKeyId) => {
        const sql = `UPDATE store_repositories SET root_certificate = ?, updated_at = ?,
          root_key_id = COALESCE(?, root_key_id) WHERE public_gun = ?`;
        const params = [pem, at.toISOString(), rootKeyId ?? null, gun];
        return write({}, changeOne(sql, params, `no store repository ${gun}`));
      },
    },
    audit: {
      append: (entry) => write({ locks: [['audit chain']] }, (c) => appendAudit(c, entry)),
      list: (filter) => read((c) => listAudit(c, filter ?? {})),
    },
  };
}

async function listSubmissions(c: SqlConn, f: SubmissionFilter): Promise<StoredSubmission[]> {
  const where = new Where()
    .given('state = ?', f.state)
    .given('gun = ?', f.gun)
    .given('public_gun = ?', f.publicGun)
    .given('tag = ?', f.tag);
  const order = `ORDER BY created_at, ${c.dialect.insertionOrder}${where.limit(f.limit)}`;
  return SUBMISSION.all(c, `${where.sql} ${order}`, where.params);
}

async function updateSubmission(
  c: SqlConn,
  id: string,
  revision: number,
  change: SubmissionChange
): Promise<StoredSubmission> {
  const updated = await c.row(
    `UPDATE store_submissions SET state = ?, updated_at = ?, details = ?, revision = revision + 1
      WHERE id = ? AND revision = ? RETURNING ${SUBMISSION.columns}`,
    [change.state, change.updatedAt.toISOString(), JSON.stringify(change.details), id, revision],
    SUBMISSION.map
  );
  if (updated) return updated;
  const now = await getSubmission(c, id);
  if (now === null) fail('STORAGE_NOT_FOUND', `no submission ${id}`);
  return fail(
    'STORAGE_CONFLICT',
    `submission ${id} changed meanwhile (revision ${now.revision}, expected ${revision})`
  );
}

async function appendAudit(c: SqlConn, entry: NewAuditEntry): Promise<AuditEntry> {
  const last = await c.row<{ id: number; hash: string }>(
    'SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1'
  );
  const e = chainedEntry(entry, last ?? null);
  await c.execute(AUDIT.insert, AUDIT.values(e));
  return e;
}

export async function listAudit(c: SqlConn, f: AuditFilter): Promise<AuditEntry[]> {
  const where = new Where();
  if (f.gun !== undefined) {
    // A tampered details that is not JSON any more must still list (verification reports it),
    // so it is only read as JSON when it parses.
    const under = c.dialect.prefixMatch('subject', `${f.gun}:`);
    const json = (field: string): string => c.dialect.jsonField('details', field);
    const mentions = `(subject = ? OR ${under.sql} OR ${json('gun')} = ? OR ${json('publicGun')} = ?)`;
    where.and(mentions, f.gun, ...under.params, f.gun, f.gun);
  }
  where.given('at >= ?', f.since?.toISOString()).given('id > ?', f.afterId);
  const order = `ORDER BY id${where.limit(f.limit)}`;
  return AUDIT.all(c, `${where.sql} ${order}`, where.params);
}

function getSubmission(c: SqlConn, id: string): Promise<StoredSubmission | null> {
  return SUBMISSION.one(c, 'WHERE id = ?', [id]);
}
