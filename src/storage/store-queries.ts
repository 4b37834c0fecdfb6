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
import { auditEntryFromRow, chainedEntry } from './audit-chain.js';
import { changeOne, insertUnique, whereClause } from './sql.js';
import type { Dialect, ReadRun, SqlConn, WriteRun } from './sql.js';
import type {
  AuditEntry,
  AuditFilter,
  NewAuditEntry,
  StorageTx,
  StoreRepository,
  StoredSubmission,
  SubmissionChange,
  SubmissionFilter,
  SubmissionState,
} from './types.js';

interface SubmissionRow {
  id: string;
  gun: string;
  public_gun: string;
  tag: string;
  state: SubmissionState;
  submitter: string;
  created_at: unknown;
  updated_at: unknown;
  revision: number;
  details: unknown;
}

interface RepositoryRow {
  public_gun: string;
  root_key_id: string;
  root_certificate: string;
  targets_key_id: string;
  snapshot_key_id: string;
  timestamp_key_id: string;
  created_at: unknown;
  updated_at: unknown;
}

const SUBMISSION_COLUMNS =
  'id, gun, public_gun, tag, state, submitter, created_at, updated_at, revision, details';
const SUBMISSION = `SELECT ${SUBMISSION_COLUMNS} FROM store_submissions`;
const REPOSITORY =
  'SELECT public_gun, root_key_id, root_certificate, targets_key_id, snapshot_key_id, timestamp_key_id, created_at, updated_at FROM store_repositories';
const AUDIT = 'SELECT id, at, actor, action, subject, details, prev_hash, hash FROM audit_log';

export function bindStoreStores(
  read: ReadRun,
  write: WriteRun
): Pick<StorageTx, 'submissions' | 'storeRepositories' | 'audit'> {
  const repository = (c: SqlConn, gun: string): Promise<StoreRepository | null> =>
    c.row(`${REPOSITORY} WHERE public_gun = ?`, [gun], toRepository);
  return {
    submissions: {
      insert: (s) => write({}, (c) => insertSubmission(c, s)),
      get: (id) => read((c) => c.row(`${SUBMISSION} WHERE id = ?`, [id], toSubmission)),
      list: (filter) => read((c) => listSubmissions(c, filter ?? {})),
      update: (id, revision, change) => write({}, (c) => updateSubmission(c, id, revision, change)),
    },
    storeRepositories: {
      insertIfAbsent: (r) =>
        write({}, async (c) => {
          // On PostgreSQL a concurrent inserter's uncommitted row makes ON CONFLICT wait for its
          // outcome; the SELECT that follows then sees the winner.
          await c.execute(
            `INSERT INTO store_repositories (public_gun, root_key_id, root_certificate, targets_key_id, snapshot_key_id, timestamp_key_id, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (public_gun) DO NOTHING`,
            [
              r.publicGun,
              r.rootKeyId,
              r.rootCertificate,
              r.targetsKeyId,
              r.snapshotKeyId,
              r.timestampKeyId,
              r.createdAt.toISOString(),
              r.updatedAt.toISOString(),
            ]
          );
          return (await repository(c, r.publicGun))!;
        }),
      get: (gun) => read((c) => repository(c, gun)),
      list: () => read((c) => c.rows(`${REPOSITORY} ORDER BY public_gun`, [], toRepository)),
      setRootCertificate: (gun, pem, at, rootKeyId) =>
        write({}, (c) =>
          changeOne(
            c,
            'UPDATE store_repositories SET root_certificate = ?, updated_at = ?, root_key_id = COALESCE(?, root_key_id) WHERE public_gun = ?',
            [pem, at.toISOString(), rootKeyId ?? null, gun],
            `no store repository ${gun}`
          )
        ),
    },
    audit: {
      append: (entry) => write({ locks: [['audit chain']] }, (c) => appendAudit(c, entry)),
      list: (filter) => read((c) => listAudit(c, filter ?? {})),
    },
  };
}

function insertSubmission(c: SqlConn, s: StoredSubmission): Promise<void> {
  return insertUnique(
    c,
    `INSERT INTO store_submissions (${SUBMISSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      s.id,
      s.gun,
      s.publicGun,
      s.tag,
      s.state,
      s.submitter,
      s.createdAt.toISOString(),
      s.updatedAt.toISOString(),
      s.revision,
      JSON.stringify(s.details),
    ],
    'STORAGE_CONFLICT',
    `submission ${s.id} exists`
  );
}

async function listSubmissions(c: SqlConn, f: SubmissionFilter): Promise<StoredSubmission[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  for (const [column, value] of [
    ['state', f.state],
    ['gun', f.gun],
    ['public_gun', f.publicGun],
    ['tag', f.tag],
  ] as const) {
    if (value === undefined) continue;
    where.push(`${column} = ?`);
    params.push(value);
  }
  if (f.limit !== undefined) params.push(f.limit);
  return c.rows(
    `${SUBMISSION} ${whereClause(where)} ORDER BY created_at, ${c.dialect.insertionOrder}${f.limit === undefined ? '' : ' LIMIT ?'}`,
    params,
    toSubmission
  );
}

async function updateSubmission(
  c: SqlConn,
  id: string,
  revision: number,
  change: SubmissionChange
): Promise<StoredSubmission> {
  const updated = await c.row(
    `UPDATE store_submissions SET state = ?, updated_at = ?, details = ?, revision = revision + 1
      WHERE id = ? AND revision = ? RETURNING ${SUBMISSION_COLUMNS}`,
    [change.state, change.updatedAt.toISOString(), JSON.stringify(change.details), id, revision],
    toSubmission
  );
  if (updated) return updated;
  const now = await c.row(`${SUBMISSION} WHERE id = ?`, [id], toSubmission);
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
  await c.execute(
    'INSERT INTO audit_log (id, at, actor, action, subject, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    [
      e.id,
      e.at.toISOString(),
      e.actor,
      e.action,
      e.subject,
      JSON.stringify(e.details),
      e.prevHash,
      e.hash,
    ]
  );
  return e;
}

export async function listAudit(c: SqlConn, f: AuditFilter): Promise<AuditEntry[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.gun !== undefined) {
    // A tampered details that is not JSON any more must still list (verification reports it),
    // so it is only read as JSON when it parses.
    const under = c.dialect.prefixMatch('subject', `${f.gun}:`);
    where.push(
      `(subject = ? OR ${under.sql} OR ${c.dialect.jsonField('details', 'gun')} = ? OR ${c.dialect.jsonField('details', 'publicGun')} = ?)`
    );
    params.push(f.gun, ...under.params, f.gun, f.gun);
  }
  if (f.since !== undefined) {
    where.push('at >= ?');
    params.push(f.since.toISOString());
  }
  if (f.afterId !== undefined) {
    where.push('id > ?');
    params.push(f.afterId);
  }
  if (f.limit !== undefined) params.push(f.limit);
  return c.rows(
    `${AUDIT} ${whereClause(where)} ORDER BY id${f.limit === undefined ? '' : ' LIMIT ?'}`,
    params,
    auditEntryFromRow
  );
}

function toSubmission(r: SubmissionRow, d: Dialect): StoredSubmission {
  return {
    id: r.id,
    gun: r.gun,
    publicGun: r.public_gun,
    tag: r.tag,
    state: r.state,
    submitter: r.submitter,
    createdAt: d.date(r.created_at),
    updatedAt: d.date(r.updated_at),
    revision: r.revision,
    details: d.json(r.details) as Record<string, unknown>,
  };
}

function toRepository(r: RepositoryRow, d: Dialect): StoreRepository {
  return {
    publicGun: r.public_gun,
    rootKeyId: r.root_key_id,
    rootCertificate: r.root_certificate,
    targetsKeyId: r.targets_key_id,
    snapshotKeyId: r.snapshot_key_id,
    timestampKeyId: r.timestamp_key_id,
    createdAt: d.date(r.created_at),
    updatedAt: d.date(r.updated_at),
  };
}
