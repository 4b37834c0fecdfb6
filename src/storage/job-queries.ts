/**
 * The jobs table (JobStore in work-types.ts, migration 6), written once for both engines over the
 * port in sql.ts; `write` is the engine's `counters` path (stores.ts).
 *
 * Every change applies to a running job only, so a job the stale sweep has failed (its instance
 * died or stopped answering) stays failed even if its work finishes afterwards.
 */
import { statement, type ReadRun, type SqlConn, type WriteRun } from './sql.js';
import { jsonText, plain, table } from './table.js';
import type { JobChange, JobStore, StoredJob } from './work-types.js';

const JOB = table<StoredJob>('jobs', {
  ...plain('id kind owner submission state'),
  progress: jsonText,
  result: jsonText,
  error: jsonText,
  ...plain('createdAt updatedAt heartbeatAt finishedAt'),
});

export function bindJobs(read: ReadRun, write: WriteRun): JobStore {
  return {
    insert: (job) => write({}, statement(JOB.insert, JOB.values(job))),
    get: (id) => read((c) => JOB.one(c, 'WHERE id = ?', [id])),
    // Index jobs_submission (migration 8): a seek, newest first, however many jobs there are.
    ofSubmission: (submission, limit) =>
      read((c) =>
        JOB.all(c, 'WHERE submission = ? ORDER BY created_at DESC, id DESC LIMIT ?', [
          submission,
          limit,
        ])
      ),
    // Index jobs_running (state, …): only the running rows are read, never the history.
    running: (limit) =>
      read((c) =>
        JOB.all(c, "WHERE state = 'running' ORDER BY created_at DESC, id DESC LIMIT ?", [limit])
      ),
    update: (id, change) => write({}, async (c) => (await update(c, id, change)) === 1),
    failStale: (before, error, at) =>
      write({}, (c) =>
        c.rows(
          `UPDATE jobs SET state = 'failed', error = ?, updated_at = ?, finished_at = ?
            WHERE state = 'running' AND heartbeat_at < ? RETURNING id`,
          [JSON.stringify(error), at, at, before],
          (r: { id: string }) => r.id
        )
      ),
  };
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
