/**
 * The job read rule (docs/ui.md "Long work", docs/store.md "Jobs") in JobRunner, over real SQLite
 * storage and a submission rule the test controls: a job of a submission is read by whoever may
 * read the submission, besides its starter and admins; a job tied to no submission only by those
 * two. A list asks the submission rule once per submission, and a failing rule is not taken for
 * "may not read".
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Principal } from '../../../src/auth/principal.js';
import { JobRunner } from '../../../src/jobs/runner.js';
import { openStorage } from '../../../src/storage/index.js';
import type { Storage } from '../../../src/storage/types.js';
import type { StoredJob } from '../../../src/storage/work-types.js';
import { ManualClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/log.js';
import { Cleanup } from '../../helpers/cleanup.js';

const reviewer: Principal = { name: 'rev2', role: 'reviewer', namespaces: [] };
const starter: Principal = { name: 'rev1', role: 'reviewer', namespaces: [] };
const admin: Principal = { name: 'root', role: 'admin', namespaces: [] };

describe('job read rule', () => {
  const cleanup = new Cleanup();
  const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'));
  let storage: Storage;
  /** The submissions `rev2` may read, and every question the runner asked, in order. */
  const readableByReviewer = new Set(['subA']);
  const asked: string[] = [];
  let failing = false;
  let runner: JobRunner;
  const ids: Record<string, string> = {};

  before(async () => {
    storage = await openStorage({
      backend: 'sqlite',
      path: join(cleanup.tempDir('job-read-'), 'db.sqlite'),
    });
    cleanup.defer(() => storage.close());
    runner = new JobRunner({
      storage,
      clock,
      log: silentLogger,
      settings: { staleAfterMs: 60_000 },
      submissionReadable: (p, id) => {
        asked.push(`${p.name}:${id}`);
        if (failing) return Promise.reject(new Error('database unavailable'));
        return Promise.resolve(p.name === 'rev2' && readableByReviewer.has(id));
      },
    });
    // Oldest first: each later job is newer by a second.
    const rows: [string, string, string | null][] = [
      ['byStarterOnA', 'rev1', 'subA'],
      ['byPublisherOnA', 'acme', 'subA'],
      ['byPublisherOnB', 'acme', 'subB'],
      ['byStarterOnNone', 'rev1', null],
      ['byAdminOnA', 'root', 'subA'],
    ];
    const t = clock.now().getTime();
    for (const [i, [label, owner, submission]] of rows.entries()) {
      const job: StoredJob = {
        id: `job_${i.toString(16).padStart(32, '0')}`,
        kind: 'verify',
        owner,
        submission,
        state: 'running',
        progress: {},
        result: null,
        error: null,
        createdAt: t + i * 1000,
        updatedAt: t + i * 1000,
        heartbeatAt: t,
        finishedAt: null,
      };
      await storage.jobs.insert(job);
      ids[label] = job.id;
    }
  });
  after(() => cleanup.run());

  const readable = async (p: Principal) => {
    const seen: string[] = [];
    for (const [label, id] of Object.entries(ids))
      if ((await runner.readableBy(p, id)) !== null) seen.push(label);
    return seen;
  };

  it('a reader of a submission reads all its jobs, whoever started them; nothing of another', async () => {
    asked.length = 0;
    assert.deepEqual(await readable(reviewer), ['byStarterOnA', 'byPublisherOnA', 'byAdminOnA']);
    // Asked about each job tied to a submission; never about the one tied to none.
    assert.deepEqual(asked, ['rev2:subA', 'rev2:subA', 'rev2:subB', 'rev2:subA']);
  });

  it('the starter and admins read without asking; a job tied to no submission only them', async () => {
    asked.length = 0;
    assert.deepEqual(await readable(admin), Object.keys(ids));
    assert.deepEqual(await readable(starter), ['byStarterOnA', 'byStarterOnNone']);
    // rev1 reads no submission here: asked for the jobs it did not start, refused each.
    assert.deepEqual(asked, ['rev1:subA', 'rev1:subB', 'rev1:subA']);
  });

  it('a list asks about each submission once, and keeps the order newest first', async () => {
    asked.length = 0;
    const running = await runner.running(reviewer, 10);
    assert.deepEqual(
      running.map((j) => j.id),
      [ids.byAdminOnA, ids.byPublisherOnA, ids.byStarterOnA]
    );
    assert.deepEqual([...asked].sort(), ['rev2:subA', 'rev2:subB']);
    asked.length = 0;
    const listed = await runner.ofSubmission(reviewer, 'subA', 2);
    assert.deepEqual(
      listed.map((j) => j.id),
      [ids.byAdminOnA, ids.byPublisherOnA]
    );
    assert.deepEqual(asked, ['rev2:subA']);
    assert.deepEqual(await runner.ofSubmission(reviewer, 'subB', 20), []);
  });

  it('a submission rule that fails is an error, not a refusal', async () => {
    failing = true;
    try {
      await assert.rejects(
        runner.readableBy(reviewer, ids.byPublisherOnA!),
        /database unavailable/
      );
      await assert.rejects(runner.running(reviewer, 10), /database unavailable/);
      // Its starter and admins are not asked: they read it still.
      assert.notEqual(await runner.readableBy(admin, ids.byPublisherOnA!), null);
    } finally {
      failing = false;
    }
  });
});
