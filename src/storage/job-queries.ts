/**
 * The jobs table (JobStore in work-types.ts, migration 6), written once for both engines over the
 * port in sql.ts. Jobs change no metadata: their writes run through the engine's `counters` path,
 * like the webhook queue's. Progress, result and error are JSON text in both engines.
 *
 * Every change applies to a running job only, so a job the stale sweep has failed (its instance
 * died or stopped answering) stays failed even if its work finishes afterwards.
 */
import type { ReadRun, SqlConn, WriteRun } from './sql.js';
import type { JobChange, JobState, JobStore, StoredJob } from './work-types.js';

interface JobRow {
  id: string;
  kind: string;
  owner: string;
  submission: string | null;
  state: JobState;
  progress: string;
  result: string | null;
  error: string | null;
  created_at: number;
  updated_at: number;
  heartbeat_at: number;
  finished_at: number | null;
}

const JOB_COLUMNS =
  'id, kind, owner, submission, state, progress, result, error, created_at, updated_at, heartbeat_at, finished_at';

/** `write` is the engine's counters path (see the top of this file). */
export function bindJobs(read: ReadRun, write: WriteRun): JobStore {
  return {
    insert: (job) => write({}, (c) => insert(c, job)),
    get: (id) => read((c) => c.row(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`, [id], toJob)),
    update: (id, change) => write({}, async (c) => (await update(c, id, change)) === 1),
    failStale: (before, error, at) =>
      write({}, async (c) => {
        const failed = await c.rows<{ id: string }>(
          `UPDATE jobs SET state = 'failed', error = ?, updated_at = ?, finished_at = ?
            WHERE state = 'running' AND heartbeat_at < ? RETURNING id`,
          [JSON.stringify(error), at, at, before]
        );
        return failed.map((r) => r.id);
      }),
  };
}

async function insert(c: SqlConn, j: StoredJob): Promise<void> {
  await c.execute(`INSERT INTO jobs (${JOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
    j.id,
    j.kind,
    j.owner,
    j.submission,
    j.state,
    JSON.stringify(j.progress),
    jsonOrNull(j.result),
    jsonOrNull(j.error),
    j.createdAt,
    j.updatedAt,
    j.heartbeatAt,
    j.finishedAt,
  ]);
}

/** Applies what `change` names to a running job (its heartbeat = `at`); returns rows changed. */
function update(c: SqlConn, id: string, change: JobChange): Promise<number> {
  const finished = change.state !== undefined && change.state !== 'running' ? change.at : null;
  return c.execute(
    `UPDATE jobs SET updated_at = ?, heartbeat_at = ?, state = COALESCE(?, state),
      submission = COALESCE(?, submission), progress = COALESCE(?, progress),
      result = COALESCE(?, result), error = COALESCE(?, error),
      finished_at = COALESCE(?, finished_at)
      WHERE id = ? AND state = 'running'`,
    [
      change.at,
      change.at,
      change.state ?? null,
      change.submission ?? null,
      change.progress === undefined ? null : JSON.stringify(change.progress),
      change.result === undefined ? null : JSON.stringify(change.result),
      change.error === undefined ? null : JSON.stringify(change.error),
      finished,
      id,
    ]
  );
}

/** JSON text, or NULL for null (a result or error not there). */
function jsonOrNull(value: unknown): string | null {
  return value === null ? null : JSON.stringify(value);
}

function toJob(r: JobRow): StoredJob {
  return {
    id: r.id,
    kind: r.kind,
    owner: r.owner,
    submission: r.submission,
    state: r.state,
    progress: JSON.parse(r.progress) as Record<string, unknown>,
    result: r.result === null ? null : (JSON.parse(r.result) as unknown),
    error: r.error === null ? null : (JSON.parse(r.error) as Record<string, unknown>),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    heartbeatAt: r.heartbeat_at,
    finishedAt: r.finished_at,
  };
}
