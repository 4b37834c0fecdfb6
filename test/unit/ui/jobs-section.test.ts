/**
 * What the submission page's Jobs section and the queue's marker say about a job (src/ui/pages/
 * jobs.ts): the job page's words for each kind and outcome, escaping, and an unknown kind.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredJob } from '../../../src/storage/work-types.js';
import { jobsSection, runningMarker, runningNotice } from '../../../src/ui/pages/jobs.js';
import { storedJob } from './stored-job.js';

const AT = Date.UTC(2031, 0, 10, 8, 30);

const job = (o: Partial<StoredJob>): StoredJob =>
  storedJob(AT, { id: `job_${'b'.repeat(32)}`, ...o });

/** The text of markup, whitespace collapsed. */
const words = (html: string) =>
  html
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

describe("a submission's jobs on its page and the queue", () => {
  it('names each running kind on the queue, linking to the job; an unknown kind generically', () => {
    const marks = ['review', 'publish', 'verify', 'healthcheck', 'submit'].map((kind) =>
      runningMarker(job({ kind })).toString()
    );
    assert.deepEqual(marks.map(words), [
      'publishing…',
      'publishing…',
      'verifying…',
      'running the health check…',
      'a job is running…',
    ]);
    assert.ok(marks.every((m) => m.includes(`href="/ui/jobs/job_${'b'.repeat(32)}"`)));
  });

  it('lists rows with the job page words: running with progress, published, failed, done', () => {
    const jobs = [
      job({
        kind: 'publish',
        progress: { phase: 'copy', text: 'blobs 2/5, 3.1 kB', blobs: { done: 2, total: 5 } },
      }),
      job({
        kind: 'review',
        state: 'succeeded',
        finishedAt: AT + 60_000,
        result: {
          state: 'published',
          publicGun: 'store.test/acme/web',
          tag: '1.0',
          published: { targetsVersion: 3 },
        },
      }),
      job({
        kind: 'verify',
        owner: 'acme',
        state: 'failed',
        finishedAt: AT,
        error: { code: 'conflict', message: 'a published submission is not verified again' },
      }),
      job({ kind: 'verify', state: 'succeeded', finishedAt: AT, result: { state: 'verified' } }),
    ];
    const section = jobsSection(jobs, 20).toString();
    const rows = section
      .split('<tr')
      .slice(2)
      .map((r) => words(`<tr${r}`));
    assert.deepEqual(rows, [
      'Publish Running, copying the image into the public registry: blobs 2/5, 3.1 kB. rev2 2031-01-10 08:30:00Z not yet',
      'Approval and publish Ended: Published store.test/acme/web:1.0 into store.test/acme/web (targets version 3). rev2 2031-01-10 08:30:00Z 2031-01-10 08:31:00Z',
      'Verification Ended: Failed (conflict): a published submission is not verified again acme 2031-01-10 08:30:00Z 2031-01-10 08:30:00Z',
      'Verification Ended: Verification finished: the submission is verified. rev2 2031-01-10 08:30:00Z 2031-01-10 08:30:00Z',
    ]);
    assert.match(words(section), /The newest jobs you may see, newest first; 1 running/);
    assert.match(jobsSection(jobs, 4).toString(), /The newest 4 jobs you may see/);
    assert.equal(section.split('<tr class="job-running">').length, 2);
    // The notice at the top names the running one only.
    assert.equal(
      words(runningNotice(jobs).toString()),
      'Running now: Publish , started by rev2 2031-01-10 08:30:00Z .'
    );
    assert.equal(runningNotice(jobs.slice(1)).toString(), '');
  });

  it('escapes what the job row holds', () => {
    const hostile = job({ owner: '<img src=x onerror=alert(1)>', kind: '<b>k</b>' });
    const html = jobsSection([hostile], 20).toString() + runningNotice([hostile]).toString();
    assert.equal(/<img|<b>/.test(html), false);
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'));
    assert.match(words(html), /^Jobs .* Job Running: waiting for the first blob\./);
  });
});
