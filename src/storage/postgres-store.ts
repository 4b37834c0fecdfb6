/**
 * PostgreSQL queries of the store's tables (src/storage/types.ts "The store", migration 3): the
 * twin of sqlite-store.ts, bound by postgres.ts to its read and write paths so they share its
 * pool, transactions, locks and change notifications.
 *
 * Audit appends take one advisory lock (`auditLock`, held to the end of the transaction): every
 * instance appends one entry at a time, so ids stay consecutive and each entry chains to the one
 * before it. Callers make the append the last write of a transaction, so the lock is always
 * taken after any GUN lock and never the other way round.
 */
import type pg from 'pg';
import { fail } from '../errors.js';
import { auditEntryFromRow, chainedEntry, type AuditRow } from './audit-chain.js';
import type {
  AuditEntry,
  AuditFilter,
  StorageTx,
  StoreRepository,
  StoredSubmission,
  SubmissionFilter,
  SubmissionState,
} from './types.js';

interface Conn {
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

type Read = <T>(work: (c: Conn) => Promise<T>) => Promise<T>;
/** A write holding these advisory locks (taken before it runs, kept to the end of the transaction). */
type Write = <T>(locks: readonly string[], work: (c: Conn) => Promise<T>) => Promise<T>;

interface SubmissionRow {
  id: string;
  gun: string;
  public_gun: string;
  tag: string;
  state: SubmissionState;
  submitter: string;
  created_at: Date;
  updated_at: Date;
  revision: number;
  details: Record<string, unknown>;
}

interface RepositoryRow {
  public_gun: string;
  root_key_id: string;
  root_certificate: string;
  targets_key_id: string;
  snapshot_key_id: string;
  timestamp_key_id: string;
  created_at: Date;
  updated_at: Date;
}

const SUBMISSION =
  'SELECT id, gun, public_gun, tag, state, submitter, created_at, updated_at, revision, details FROM store_submissions';
const REPOSITORY =
  'SELECT public_gun, root_key_id, root_certificate, targets_key_id, snapshot_key_id, timestamp_key_id, created_at, updated_at FROM store_repositories';
const AUDIT = 'SELECT id, at, actor, action, subject, details, prev_hash, hash FROM audit_log';

const isUniqueViolation = (err: unknown): boolean =>
  (err as { code?: unknown } | null)?.code === '23505';

export function bindStoreStores(
  read: Read,
  write: Write,
  auditLock: string
): Pick<StorageTx, 'submissions' | 'storeRepositories' | 'audit'> {
  return {
    submissions: {
      insert: (s) =>
        write([], async (c) => {
          try {
            await c.query(
              `INSERT INTO store_submissions (id, gun, public_gun, tag, state, submitter, created_at, updated_at, revision, details)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
              [
                s.id,
                s.gun,
                s.publicGun,
                s.tag,
                s.state,
                s.submitter,
                s.createdAt,
                s.updatedAt,
                s.revision,
                JSON.stringify(s.details),
              ]
            );
          } catch (err) {
            if (isUniqueViolation(err))
              fail('STORAGE_CONFLICT', `submission ${s.id} exists`, { cause: err });
            throw err;
          }
        }),
      get: (id) =>
        read(async (c) =>
          toSubmission((await c.query<SubmissionRow>(`${SUBMISSION} WHERE id = $1`, [id])).rows[0])
        ),
      list: (filter) => read((c) => listSubmissions(c, filter ?? {})),
      update: (id, revision, change) =>
        write([], async (c) => {
          const r = await c.query<SubmissionRow>(
            `UPDATE store_submissions SET state = $1, updated_at = $2, details = $3, revision = revision + 1
             WHERE id = $4 AND revision = $5
             RETURNING id, gun, public_gun, tag, state, submitter, created_at, updated_at, revision, details`,
            [change.state, change.updatedAt, JSON.stringify(change.details), id, revision]
          );
          const updated = toSubmission(r.rows[0]);
          if (updated) return updated;
          const now = toSubmission(
            (await c.query<SubmissionRow>(`${SUBMISSION} WHERE id = $1`, [id])).rows[0]
          );
          if (now === null) fail('STORAGE_NOT_FOUND', `no submission ${id}`);
          return fail(
            'STORAGE_CONFLICT',
            `submission ${id} changed meanwhile (revision ${now.revision}, expected ${revision})`
          );
        }),
    },
    storeRepositories: {
      insertIfAbsent: (r) =>
        write([], async (c) => {
          // A concurrent inserter's uncommitted row makes ON CONFLICT wait for its outcome; the
          // SELECT that follows then sees the winner.
          await c.query(
            `INSERT INTO store_repositories (public_gun, root_key_id, root_certificate, targets_key_id, snapshot_key_id, timestamp_key_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (public_gun) DO NOTHING`,
            [
              r.publicGun,
              r.rootKeyId,
              r.rootCertificate,
              r.targetsKeyId,
              r.snapshotKeyId,
              r.timestampKeyId,
              r.createdAt,
              r.updatedAt,
            ]
          );
          return toRepository(
            (await c.query<RepositoryRow>(`${REPOSITORY} WHERE public_gun = $1`, [r.publicGun]))
              .rows[0]
          )!;
        }),
      get: (gun) =>
        read(async (c) =>
          toRepository(
            (await c.query<RepositoryRow>(`${REPOSITORY} WHERE public_gun = $1`, [gun])).rows[0]
          )
        ),
      list: () =>
        read(async (c) =>
          (await c.query<RepositoryRow>(`${REPOSITORY} ORDER BY public_gun`)).rows.map((r) =>
            toRepository(r)!
          )
        ),
      setRootCertificate: (gun, pem, at, rootKeyId) =>
        write([], async (c) => {
          const r = await c.query(
            'UPDATE store_repositories SET root_certificate = $1, updated_at = $2, root_key_id = COALESCE($4, root_key_id) WHERE public_gun = $3',
            [pem, at, gun, rootKeyId ?? null]
          );
          if (r.rowCount === 0) fail('STORAGE_NOT_FOUND', `no store repository ${gun}`);
        }),
    },
    audit: {
      append: (entry) =>
        write([auditLock], async (c) => {
          const last = (
            await c.query<{ id: number; hash: string }>(
              'SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1'
            )
          ).rows[0];
          const e = chainedEntry(entry, last ?? null);
          await c.query(
            'INSERT INTO audit_log (id, at, actor, action, subject, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
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
        }),
      list: (filter) => read((c) => listAudit(c, filter ?? {})),
    },
  };
}

async function listSubmissions(c: Conn, f: SubmissionFilter): Promise<StoredSubmission[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  for (const [column, value] of [
    ['state', f.state],
    ['gun', f.gun],
    ['public_gun', f.publicGun],
    ['tag', f.tag],
  ] as const) {
    if (value === undefined) continue;
    params.push(value);
    where.push(`${column} = $${params.length}`);
  }
  let limit = '';
  if (f.limit !== undefined) {
    params.push(f.limit);
    limit = ` LIMIT $${params.length}`;
  }
  const { rows } = await c.query<SubmissionRow>(
    `${SUBMISSION} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, seq${limit}`,
    params
  );
  return rows.map((r) => toSubmission(r)!);
}

async function listAudit(c: Conn, f: AuditFilter): Promise<AuditEntry[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.gun !== undefined) {
    params.push(f.gun);
    const p = `$${params.length}`;
    // A tampered details that is not JSON any more must still list (verification reports it),
    // so it is only read as JSON when it parses.
    where.push(
      `(subject = ${p} OR starts_with(subject, ${p} || ':')
        OR countersign_try_jsonb(details) ->> 'gun' = ${p}
        OR countersign_try_jsonb(details) ->> 'publicGun' = ${p})`
    );
  }
  if (f.since !== undefined) {
    params.push(f.since.toISOString());
    where.push(`at >= $${params.length}`);
  }
  if (f.afterId !== undefined) {
    params.push(f.afterId);
    where.push(`id > $${params.length}`);
  }
  let limit = '';
  if (f.limit !== undefined) {
    params.push(f.limit);
    limit = ` LIMIT $${params.length}`;
  }
  const { rows } = await c.query<AuditRow>(
    `${AUDIT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id${limit}`,
    params
  );
  return rows.map(auditEntryFromRow);
}

function toSubmission(r: SubmissionRow | undefined): StoredSubmission | null {
  if (r === undefined) return null;
  return {
    id: r.id,
    gun: r.gun,
    publicGun: r.public_gun,
    tag: r.tag,
    state: r.state,
    submitter: r.submitter,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    revision: r.revision,
    details: r.details,
  };
}

function toRepository(r: RepositoryRow | undefined): StoreRepository | null {
  if (r === undefined) return null;
  return {
    publicGun: r.public_gun,
    rootKeyId: r.root_key_id,
    rootCertificate: r.root_certificate,
    targetsKeyId: r.targets_key_id,
    snapshotKeyId: r.snapshot_key_id,
    timestampKeyId: r.timestamp_key_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** As in sqlite-store.ts: a row that no longer parses still reads, so verification can name it. */
