/**
 * SQLite queries of the store's tables (src/storage/types.ts "The store", migration 3):
 * submissions, public repositories, the audit log. Kept beside sqlite.ts like sqlite-auth.ts:
 * sqlite.ts binds these to its read and write paths, so they share its connections, its writer
 * lock and its transactions. Every write runs inside `BEGIN IMMEDIATE`, so appends to the audit
 * chain are serialized with every other writer of the file, in any process.
 */
import type Database from 'better-sqlite3';
import { Statements } from './sqlite-statements.js';
import { fail } from '../errors.js';
import { auditEntryFromRow, chainedEntry, type AuditRow } from './audit-chain.js';
import type {
  AuditEntry,
  AuditFilter,
  AuditStore,
  NewAuditEntry,
  StoreRepository,
  StoreRepositoryStore,
  StoredSubmission,
  SubmissionFilter,
  SubmissionState,
  SubmissionStore,
} from './types.js';

export interface StoreStores {
  readonly submissions: SubmissionStore;
  readonly storeRepositories: StoreRepositoryStore;
  readonly audit: AuditStore;
}

/** sqlite.ts's Run, narrowed to what these stores touch. */
type StoreRun = <T>(work: (q: { readonly store: StoreQueries }) => T) => Promise<T>;

export function bindStoreStores(read: StoreRun, write: StoreRun): StoreStores {
  return {
    submissions: {
      insert: (s) => write((q) => q.store.insertSubmission(s)),
      get: (id) => read((q) => q.store.getSubmission(id)),
      list: (filter) => read((q) => q.store.listSubmissions(filter ?? {})),
      update: (id, revision, change) =>
        write((q) => q.store.updateSubmission(id, revision, change)),
    },
    storeRepositories: {
      insertIfAbsent: (r) => write((q) => q.store.insertRepositoryIfAbsent(r)),
      get: (gun) => read((q) => q.store.getRepository(gun)),
      list: () => read((q) => q.store.listRepositories()),
      setRootCertificate: (gun, pem, at, rootKeyId) =>
        write((q) => q.store.setRootCertificate(gun, pem, at, rootKeyId)),
    },
    audit: {
      append: (entry) => write((q) => q.store.appendAudit(entry)),
      list: (filter) => read((q) => q.store.listAudit(filter ?? {})),
    },
  };
}

interface SubmissionRow {
  id: string;
  gun: string;
  public_gun: string;
  tag: string;
  state: SubmissionState;
  submitter: string;
  created_at: string;
  updated_at: string;
  revision: number;
  details: string;
}

interface RepositoryRow {
  public_gun: string;
  root_key_id: string;
  root_certificate: string;
  targets_key_id: string;
  snapshot_key_id: string;
  timestamp_key_id: string;
  created_at: string;
  updated_at: string;
}

const SUBMISSION =
  'SELECT id, gun, public_gun, tag, state, submitter, created_at, updated_at, revision, details FROM store_submissions';
const REPOSITORY =
  'SELECT public_gun, root_key_id, root_certificate, targets_key_id, snapshot_key_id, timestamp_key_id, created_at, updated_at FROM store_repositories';
const AUDIT = 'SELECT id, at, actor, action, subject, details, prev_hash, hash FROM audit_log';

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** All SQL of these stores, synchronous, bound to one connection. */
export class StoreQueries {
  private readonly statements: Statements;

  constructor(db: Database.Database) {
    this.statements = new Statements(db);
  }

  insertSubmission(s: StoredSubmission): void {
    try {
      this.sql(
        `INSERT INTO store_submissions (id, gun, public_gun, tag, state, submitter, created_at, updated_at, revision, details)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
      ).run(
        s.id,
        s.gun,
        s.publicGun,
        s.tag,
        s.state,
        s.submitter,
        s.createdAt.toISOString(),
        s.updatedAt.toISOString(),
        s.revision,
        JSON.stringify(s.details)
      );
    } catch (err) {
      if (isUniqueViolation(err))
        fail('STORAGE_CONFLICT', `submission ${s.id} exists`, { cause: err });
      throw err;
    }
  }

  getSubmission(id: string): StoredSubmission | null {
    return toSubmission(this.sql(`${SUBMISSION} WHERE id = ?`).get(id));
  }

  listSubmissions(f: SubmissionFilter): StoredSubmission[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
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
    const limit = f.limit === undefined ? '' : ' LIMIT ?';
    if (f.limit !== undefined) params.push(f.limit);
    const rows = this.sql(
      `${SUBMISSION} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, rowid${limit}`
    ).all(...params);
    return rows.map((r) => toSubmission(r)!);
  }

  updateSubmission(
    id: string,
    revision: number,
    change: { state: SubmissionState; updatedAt: Date; details: Readonly<Record<string, unknown>> }
  ): StoredSubmission {
    const { changes } = this.sql(
      'UPDATE store_submissions SET state = ?, updated_at = ?, details = ?, revision = revision + 1 WHERE id = ? AND revision = ?'
    ).run(
      change.state,
      change.updatedAt.toISOString(),
      JSON.stringify(change.details),
      id,
      revision
    );
    const now = this.getSubmission(id);
    if (now === null) fail('STORAGE_NOT_FOUND', `no submission ${id}`);
    if (changes === 0) {
      fail(
        'STORAGE_CONFLICT',
        `submission ${id} changed meanwhile (revision ${now.revision}, expected ${revision})`
      );
    }
    return now;
  }

  insertRepositoryIfAbsent(r: StoreRepository): StoreRepository {
    this.sql(
      `INSERT INTO store_repositories (public_gun, root_key_id, root_certificate, targets_key_id, snapshot_key_id, timestamp_key_id, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (public_gun) DO NOTHING`
    ).run(
      r.publicGun,
      r.rootKeyId,
      r.rootCertificate,
      r.targetsKeyId,
      r.snapshotKeyId,
      r.timestampKeyId,
      r.createdAt.toISOString(),
      r.updatedAt.toISOString()
    );
    return this.getRepository(r.publicGun)!;
  }

  getRepository(gun: string): StoreRepository | null {
    return toRepository(this.sql(`${REPOSITORY} WHERE public_gun = ?`).get(gun));
  }

  listRepositories(): StoreRepository[] {
    return this.sql(`${REPOSITORY} ORDER BY public_gun`)
      .all()
      .map((r) => toRepository(r)!);
  }

  setRootCertificate(gun: string, pem: string, at: Date, rootKeyId?: string): void {
    const { changes } = this.sql(
      'UPDATE store_repositories SET root_certificate = ?, updated_at = ?, root_key_id = COALESCE(?, root_key_id) WHERE public_gun = ?'
    ).run(pem, at.toISOString(), rootKeyId ?? null, gun);
    if (changes === 0) fail('STORAGE_NOT_FOUND', `no store repository ${gun}`);
  }

  appendAudit(entry: NewAuditEntry): AuditEntry {
    const last = this.sql('SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1').get() as
      { id: number; hash: string } | undefined;
    const e = chainedEntry(entry, last ?? null);
    this.sql(
      'INSERT INTO audit_log (id, at, actor, action, subject, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'
    ).run(
      e.id,
      e.at.toISOString(),
      e.actor,
      e.action,
      e.subject,
      JSON.stringify(e.details),
      e.prevHash,
      e.hash
    );
    return e;
  }

  listAudit(f: AuditFilter): AuditEntry[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (f.gun !== undefined) {
      // substr rather than LIKE: a GUN may contain % or _.
      where.push(
        `(subject = ? OR substr(subject, 1, length(?) + 1) = ? || ':'
          OR CASE WHEN json_valid(details) THEN json_extract(details, '$.gun') END = ?
          OR CASE WHEN json_valid(details) THEN json_extract(details, '$.publicGun') END = ?)`
      );
      params.push(f.gun, f.gun, f.gun, f.gun, f.gun);
    }
    if (f.since !== undefined) {
      where.push('at >= ?');
      params.push(f.since.toISOString());
    }
    if (f.afterId !== undefined) {
      where.push('id > ?');
      params.push(f.afterId);
    }
    const limit = f.limit === undefined ? '' : ' LIMIT ?';
    if (f.limit !== undefined) params.push(f.limit);
    return (
      this.sql(
        `${AUDIT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id${limit}`
      ).all(...params) as AuditRow[]
    ).map(auditEntryFromRow);
  }

  private sql(text: string): Database.Statement {
    return this.statements.get(text);
  }
}

function toSubmission(row: unknown): StoredSubmission | null {
  if (row === undefined) return null;
  const r = row as SubmissionRow;
  return {
    id: r.id,
    gun: r.gun,
    publicGun: r.public_gun,
    tag: r.tag,
    state: r.state,
    submitter: r.submitter,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    revision: r.revision,
    details: JSON.parse(r.details) as Record<string, unknown>,
  };
}

function toRepository(row: unknown): StoreRepository | null {
  if (row === undefined) return null;
  const r = row as RepositoryRow;
  return {
    publicGun: r.public_gun,
    rootKeyId: r.root_key_id,
    rootCertificate: r.root_certificate,
    targetsKeyId: r.targets_key_id,
    snapshotKeyId: r.snapshot_key_id,
    timestampKeyId: r.timestamp_key_id,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

/**
 * A row as read, never "repaired": a tampered `details` that is not JSON anymore still reads
 * (as its text), so verification reports that entry instead of failing to read the log.
 */
