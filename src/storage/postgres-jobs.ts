/** PostgreSQL queries of the jobs table (JobStore in work-types.ts, migration 6); twin of sqlite-jobs.ts. */
import type pg from 'pg';
import { JOB_COLUMNS, jobChangeValues, jobFromRow, type JobRow } from './sqlite-jobs.js';
import type { JobStore } from './work-types.js';

interface Conn {
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

type Run = <T>(work: (c: Conn) => Promise<T>) => Promise<T>;

export function bindJobs(read: Run, tx: Run): JobStore {
  return {
    insert: (j) =>
      tx(async (c) => {
        await c.query(
          `INSERT INTO jobs (${JOB_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
          [
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
            j.finishedAt,
          ]
        );
      }),
    get: (id) =>
      read(async (c) => {
        const { rows } = await c.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1`, [
          id,
        ]);
        return rows[0] ? jobFromRow(rows[0]) : null;
      }),
    update: (id, change) =>
      tx(async (c) => {
        const r = await c.query(
          `UPDATE jobs SET updated_at = $1, heartbeat_at = $1, state = COALESCE($2::text, state),
           submission = COALESCE($3::text, submission), progress = COALESCE($4::text, progress),
           result = COALESCE($5::text, result), error = COALESCE($6::text, error),
           finished_at = COALESCE($7::bigint, finished_at)
           WHERE id = $8 AND state = 'running'`,
          [change.at, ...jobChangeValues(change), id]
        );
        return r.rowCount === 1;
      }),
    failStale: (before, error, at) =>
      tx(async (c) => {
        const { rows } = await c.query<{ id: string }>(
          `UPDATE jobs SET state = 'failed', error = $1, updated_at = $2, finished_at = $2
           WHERE state = 'running' AND heartbeat_at < $3 RETURNING id`,
          [JSON.stringify(error), at, before]
        );
        return rows.map((r) => r.id);
      }),
  };
}
