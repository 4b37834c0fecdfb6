/** SQLite queries of the jobs table (JobStore in work-types.ts, migration 6). */
import type Database from 'better-sqlite3';
import { Statements } from './sqlite-statements.js';
import type { JobChange, JobStore, StoredJob } from './work-types.js';

type JobRun = <T>(work: (q: { readonly jobs: JobQueries }) => T) => Promise<T>;

export function bindJobs(read: JobRun, write: JobRun): JobStore {
  return {
    insert: (job) => write((q) => q.jobs.insert(job)),
    get: (id) => read((q) => q.jobs.get(id)),
    update: (id, change) => write((q) => q.jobs.update(id, change)),
    failStale: (before, error, at) => write((q) => q.jobs.failStale(before, error, at)),
  };
}

export interface JobRow {
  id: string;
  kind: string;
  owner: string;
  submission: string | null;
  state: StoredJob['state'];
  progress: string;
  result: string | null;
  error: string | null;
  created_at: number | string;
  updated_at: number | string;
  heartbeat_at: number | string;
  finished_at: number | string | null;
}

export const JOB_COLUMNS =
  'id, kind, owner, submission, state, progress, result, error, created_at, updated_at, heartbeat_at, finished_at';

/** Shared with postgres-jobs.ts (which gets bigints as text). */
export function jobFromRow(r: JobRow): StoredJob {
  return {
    id: r.id,
    kind: r.kind,
    owner: r.owner,
    submission: r.submission,
    state: r.state,
    progress: JSON.parse(r.progress) as Record<string, unknown>,
    result: r.result === null ? null : (JSON.parse(r.result) as unknown),
    error: r.error === null ? null : (JSON.parse(r.error) as Record<string, unknown>),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    heartbeatAt: Number(r.heartbeat_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
  };
}

/** The values of an UPDATE of `change`, in the order of UPDATE_JOB's placeholders after `at`. */
export function jobChangeValues(c: JobChange): unknown[] {
  const finished = c.state !== undefined && c.state !== 'running' ? c.at : null;
  return [
    c.state ?? null,
    c.submission ?? null,
    c.progress === undefined ? null : JSON.stringify(c.progress),
    c.result === undefined ? null : JSON.stringify(c.result),
    c.error === undefined ? null : JSON.stringify(c.error),
    finished,
  ];
}

export class JobQueries {
  private readonly statements: Statements;

  constructor(db: Database.Database) {
    this.statements = new Statements(db);
  }

  insert(j: StoredJob): void {
    this.sql(`INSERT INTO jobs (${JOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      j.id,
      j.kind,
      j.owner,
      j.submission,
      j.state,
      JSON.stringify(j.progress),
      j.result === null ? null : JSON.stringify(j.result),
      j.error === null ? null : JSON.stringify(j.error),
      j.createdAt,
      j.updatedAt,
      j.heartbeatAt,
      j.finishedAt
    );
  }

  get(id: string): StoredJob | null {
    const row = this.sql(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`).get(id) as
      JobRow | undefined;
    return row ? jobFromRow(row) : null;
  }

  update(id: string, change: JobChange): boolean {
    const [state, submission, progress, result, error, finished] = jobChangeValues(change);
    return (
      this.sql(
        `UPDATE jobs SET updated_at = ?, heartbeat_at = ?, state = COALESCE(?, state),
         submission = COALESCE(?, submission), progress = COALESCE(?, progress),
         result = COALESCE(?, result), error = COALESCE(?, error),
         finished_at = COALESCE(?, finished_at)
         WHERE id = ? AND state = 'running'`
      ).run(change.at, change.at, state, submission, progress, result, error, finished, id)
        .changes === 1
    );
  }

  failStale(before: number, error: Readonly<Record<string, unknown>>, at: number): string[] {
    return this.sql(
      `UPDATE jobs SET state = 'failed', error = ?, updated_at = ?, finished_at = ?
       WHERE state = 'running' AND heartbeat_at < ? RETURNING id`
    )
      .pluck()
      .all(JSON.stringify(error), at, at, before) as string[];
  }

  private sql(text: string): Database.Statement {
    return this.statements.get(text);
  }
}
