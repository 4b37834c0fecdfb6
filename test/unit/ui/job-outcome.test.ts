import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredJob } from '../../../src/storage/work-types.js';
import type { SubmissionView } from '../../../src/store/submission.js';
import { jobOutcome, outcomeText } from '../../../src/ui/job-outcome.js';
import { reviewPublishes } from '../../../src/ui/job-routes.js';
import { jobPage, jobTitle } from '../../../src/ui/pages/job.js';
import { submissionView } from './submission-view.js';
import { storedJob } from './stored-job.js';

const AT = Date.UTC(2031, 0, 10);

const job = (o: Partial<StoredJob>): StoredJob => storedJob(AT, o);

const PUBLISHED = {
  state: 'published',
  publicGun: 'store.test/acme/web',
  tag: '1.0',
  published: { targetsVersion: 3, at: '2031-01-10T00:00:00.000Z', by: 'rev2' },
};

describe('a job page\u2019s outcome', () => {
  it('running: waiting before the first blob, then the phase and the blobs', () => {
    assert.deepEqual(jobOutcome(job({})), {
      kind: 'running',
      text: 'Running: waiting for the first blob.',
    });
    const copying = jobOutcome(
      job({
        progress: {
          phase: 'copy',
          blobs: { done: 37, total: 120 },
          bytes: { done: 1_203_000_000, total: 3_900_000_000 },
          text: 'blobs 37/120, 1.2 GB',
        },
      })
    );
    assert.deepEqual(copying, {
      kind: 'running',
      text: 'Running, copying the image into the public registry: blobs 37/120, 1.2 GB.',
      blobs: { done: 37, total: 120 },
    });
  });

  it('succeeded: published with the public repository and its targets version', () => {
    const o = jobOutcome(job({ state: 'succeeded', result: PUBLISHED }));
    assert.deepEqual(o, {
      kind: 'published',
      publicGun: 'store.test/acme/web',
      tag: '1.0',
      targetsVersion: 3,
    });
    assert.equal(
      outcomeText(o),
      'Published store.test/acme/web:1.0 into store.test/acme/web (targets version 3).'
    );
  });

  it('a publish the store refused is a failure with its reason, though the job succeeded', () => {
    const o = jobOutcome(
      job({
        state: 'succeeded',
        result: { state: 'approved', publishError: { at: 'x', message: 'staging changed' } },
      })
    );
    assert.deepEqual(o, { kind: 'failed', code: 'publish_refused', message: 'staging changed' });
  });

  it('failed: the code and message the synchronous request would have answered', () => {
    const o = jobOutcome(
      job({ state: 'failed', error: { code: 'forbidden', status: 403, message: 'admins only' } })
    );
    assert.equal(outcomeText(o), 'Failed (forbidden): admins only');
    assert.equal(jobTitle(job({ kind: 'publish' }), o), 'Publish: failed');
    // An error row without the fields still reads as a failure.
    assert.deepEqual(jobOutcome(job({ state: 'failed', error: null })), {
      kind: 'failed',
      code: 'internal',
      message: 'the job failed',
    });
  });

  it('a finished verification names the state it left the submission in', () => {
    const o = jobOutcome(
      job({ kind: 'verify', state: 'succeeded', result: { state: 'submitted' } })
    );
    assert.equal(outcomeText(o), 'Verification finished: the submission is submitted.');
    assert.equal(jobTitle(job({ kind: 'verify' }), o), 'Verification: finished');
  });

  it('the page escapes what the job carries and has no script once the job ended', () => {
    const hostile = '<img src=x onerror=alert(1)>';
    const ended = job({ state: 'failed', error: { code: 'conflict', message: hostile } });
    const text = jobPage({
      job: ended,
      outcome: jobOutcome(ended),
      submissionLabel: hostile,
    }).toString();
    assert.equal(text.includes('<img'), false);
    assert.ok(text.includes('&lt;img src=x onerror=alert(1)&gt;'));
    assert.equal(text.includes('<script'), false);
    const running = job({});
    const live = jobPage({ job: running, outcome: jobOutcome(running) }).toString();
    assert.match(live, /role="status" data-progress="\/ui\/jobs\/job_a{32}\/progress"/);
    assert.match(live, /<script src="\/ui\/assets\/job\.js" defer><\/script>/);
  });
});

describe('which approvals publish (and so run as jobs)', () => {
  const sub = (o: Partial<SubmissionView>) => submissionView('hT2abcdefghijklmnopqrs', o);
  const approve = { decision: 'approve', note: '' } as const;
  const one = [
    { reviewer: 'rev1', decision: 'approve', note: '', at: '2031-01-09T01:00:00.000Z' },
  ] as const;
  const quorum2 = { approvals: 2, autoPublish: true };

  it('the approval that completes the quorum, with autoPublish, of a verified submission', () => {
    assert.equal(reviewPublishes(approve, sub({}), quorum2), false);
    assert.equal(reviewPublishes(approve, sub({ reviews: [...one] }), quorum2), true);
    assert.equal(reviewPublishes(approve, sub({}), { approvals: 1, autoPublish: true }), true);
  });

  it('never a rejection, nor without autoPublish, nor in another state', () => {
    assert.equal(
      reviewPublishes({ decision: 'reject', note: 'no' }, sub({ reviews: [...one] }), quorum2),
      false
    );
    assert.equal(
      reviewPublishes(approve, sub({ reviews: [...one] }), { approvals: 2, autoPublish: false }),
      false
    );
    assert.equal(
      reviewPublishes(approve, sub({ state: 'approved', reviews: [...one] }), quorum2),
      false
    );
  });
});

describe('job page of a healthcheck-run job', () => {
  const hc = (o: Partial<StoredJob>) => job({ kind: 'healthcheck', owner: 'countersign', ...o });

  it('runs with its step line (no blobs), then ends with the verdict it recorded', () => {
    const running = jobOutcome(
      hc({ progress: { phase: 'healthcheck', text: 'platform 1/1 linux/amd64: probe 2' } })
    );
    assert.deepEqual(running, {
      kind: 'running',
      text: 'Running the image in the sandbox: platform 1/1 linux/amd64: probe 2.',
    });
    const failed = hc({
      state: 'succeeded',
      result: { passed: false, recorded: true, detail: 'linux/amd64: failed: unhealthy' },
    });
    assert.equal(
      outcomeText(jobOutcome(failed)),
      'Health check run finished: healthcheck-run failed: linux/amd64: failed: unhealthy.'
    );
    assert.equal(jobTitle(failed, jobOutcome(failed)), 'Health check run: finished');
    const dropped = hc({
      state: 'succeeded',
      result: {
        recorded: false,
        reason: 'the verification that started this run was not recorded',
      },
    });
    assert.match(outcomeText(jobOutcome(dropped)), /not recorded: the verification that started/);
  });
});
