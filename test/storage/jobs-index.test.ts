/**
 * Migration 8: a submission's jobs (the review UI's Jobs section) are one seek of the
 * (submission, created_at, id) index, already in the order asked, however many jobs other
 * submissions have; the running jobs are read through the (state, …) index. SQLite's plans for
 * the queries job-queries.ts runs; PostgreSQL gets the same index, its planner is not asserted.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqlite } from '../../src/storage/sqlite.js';
import { T0 } from './contract.js';

const dir = mkdtempSync(join(tmpdir(), 'countersign-jobs-index-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function plan(db: Database.Database, sql: string, ...params: unknown[]): string {
  const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
  return rows.map((r) => r.detail).join('; ');
}

describe('jobs lookups', () => {
  it("seek a submission's jobs in order, and read only the running ones", async () => {
    const path = join(dir, 'plan.sqlite');
    const storage = openSqlite(path);
    const t = T0.getTime();
    try {
      for (let i = 0; i < 200; i++) {
        await storage.jobs.insert({
          id: `job_${String(i).padStart(3, '0')}`,
          kind: 'verify',
          owner: 'acme',
          submission: `sub${i % 20}`,
          state: i % 50 === 0 ? 'running' : 'succeeded',
          progress: {},
          result: null,
          error: null,
          createdAt: t + i,
          updatedAt: t + i,
          heartbeatAt: t + i,
          finishedAt: i % 50 === 0 ? null : t + i,
        });
      }
      const mine = await storage.jobs.ofSubmission('sub3', 3);
      assert.deepEqual(
        mine.map((j) => j.id),
        ['job_183', 'job_163', 'job_143']
      );
      assert.equal((await storage.jobs.running(100)).length, 4);
    } finally {
      await storage.close();
    }
    const db = new Database(path, { readonly: true });
    try {
      const bySubmission = plan(
        db,
        'SELECT * FROM jobs WHERE submission = ? ORDER BY created_at DESC, id DESC LIMIT ?',
        'sub3',
        20
      );
      assert.match(bySubmission, /USING INDEX jobs_submission \(submission=\?\)/);
      assert.doesNotMatch(bySubmission, /TEMP B-TREE/, 'no sort: the index gives the order');
      const running = plan(
        db,
        "SELECT * FROM jobs WHERE state = 'running' ORDER BY created_at DESC, id DESC LIMIT ?",
        100
      );
      assert.match(running, /USING INDEX jobs_running \(state=\?\)/);
    } finally {
      db.close();
    }
  });
});
