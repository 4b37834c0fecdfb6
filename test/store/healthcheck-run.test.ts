/**
 * healthcheck-run as a job of the submission (docs/store.md "Health checks run in a sandbox"),
 * in process with the real runc, umoci, skopeo and docker-registry (a busybox image built here),
 * every store API answer checked against the OpenAPI description:
 *
 * - verification records the check pending with its job's id; the job is read by a reviewer
 *   (not by another publisher), reports `platform 1/1 linux/amd64: probe N …` while it runs, and
 *   ends `succeeded` with the verdict it recorded;
 * - the verdict replaces the pending entry: every probe, the sizes and the user, audited as
 *   `submission.policy_decided`; it is then waivable with a reason;
 * - while pending (held so here: its job `running`, its heartbeat fresh on the manual clock) the
 *   check can be neither waived nor approved over;
 * - a server that stopped mid-run leaves a pending entry whose job stops beating: the next
 *   instance's job sweep fails the job and the entry is failed with it ("interrupted"), which
 *   can then be waived with a reason.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PolicyCheckRecord, SubmissionView } from '../../src/store/submission.js';
import { ManualClock } from '../../src/util/clock.js';
import { ImageLayout } from '../helpers/images.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { buildBusyboxImage } from '../sandbox/busybox-images.js';
import { startStore, type StoreApp } from './fixture.js';
import { signIntoStaging } from './registry-fixture.js';

interface Job {
  id: string;
  kind: string;
  state: string;
  owner: string;
  submission?: string;
  progress: { phase?: string; step?: string; probe?: number; text?: string };
  result?: { submission: string; passed: boolean; recorded: boolean; detail: string };
}

const GUN = 'staging.store.test/acme/hc';

describe('healthcheck-run as a job of the submission', { timeout: 300_000 }, () => {
  let registry: TestRegistry;
  let layout: ImageLayout;
  let base: string;
  let s: StoreApp;
  const clock = new ManualClock();
  const storeConfig = () => ({
    autoPublish: false,
    registries: { staging: { url: registry.url, repositoryPrefix: 'staging/' } },
    policy: {
      runHealthcheck: {
        timeout: '60s',
        probe: { interval: '1s', timeout: '10s', retries: 3 },
        workDir: join(base, 'sandbox'),
      },
    },
  });
  const extra = { jobs: { staleAfter: '2s' } };

  before(async () => {
    base = mkdtempSync(join(tmpdir(), 'countersign-hcjob-'));
    // The container's mapped root must traverse every parent of its rootfs (docs/store.md).
    chmodSync(base, 0o711);
    mkdirSync(join(base, 'store'));
    registry = await startRegistry();
    layout = await ImageLayout.create();
    s = await startStore(storeConfig(), { clock, extra, dir: join(base, 'store') });
  });
  after(async () => {
    await s?.close();
    await registry?.stop();
    await layout?.remove();
    rmSync(base, { recursive: true, force: true });
  });

  const as = (user: string) => ({ Authorization: s.auth(user) });
  const checkOf = (sub: SubmissionView): PolicyCheckRecord =>
    sub.policy.checks.find((c) => c.name === 'healthcheck-run')!;

  let id: string;
  let jobId: string;

  it('verification records the check pending, with the id of the job that runs it', async () => {
    const d = await buildBusyboxImage(layout, 'hc', {
      entrypoint: ['/bin/sleep', '1000'],
      user: 'app',
      // Fails twice, then passes: the job is seen probing before the verdict.
      healthcheck: {
        Test: ['CMD-SHELL', 'echo try >> /tmp/n; test $(wc -l < /tmp/n) -ge 3 && echo up'],
      },
    });
    await layout.push(registry.host, 'hc', 'staging/acme/hc:1.0');
    await signIntoStaging(s.app.storage, GUN, await layout.readBlob(d.digest));
    const res = await s.http
      .post('/api/v1/submissions')
      .set(as('acme'))
      .send({ gun: GUN, tag: '1.0' })
      .expect(201);
    const sub = res.body as SubmissionView;
    id = sub.id;
    assert.equal(sub.state, 'verified');
    const check = checkOf(sub);
    assert.equal(check.pending, true);
    assert.equal(check.passed, false);
    assert.match(check.job!, /^job_[0-9a-f]{32}$/);
    jobId = check.job!;
    // Approval waits for the verdict.
    const refused = await s.http
      .post(`/api/v1/submissions/${id}/reviews`)
      .set(as('rev1'))
      .send({ decision: 'approve' })
      .expect(409);
    assert.equal(refused.body.error.code, 'policy_failed');
  });

  it('the job is read by a reviewer, shows the probe it is at, and ends with the verdict it recorded', async () => {
    const texts = new Set<string>();
    let job: Job;
    for (let i = 0; ; i++) {
      job = (await s.http.get(`/api/v1/jobs/${jobId}`).set(as('rev1')).expect(200)).body as Job;
      if (job.progress.text) texts.add(job.progress.text);
      if (job.state !== 'running') break;
      assert.ok(i < 1200, 'the job ends within 60 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(job.kind, 'healthcheck');
    assert.equal(job.owner, 'countersign');
    assert.equal(job.submission, id);
    assert.equal(job.state, 'succeeded', JSON.stringify(job));
    assert.deepEqual(
      { passed: job.result!.passed, recorded: job.result!.recorded },
      { passed: true, recorded: true }
    );
    assert.ok(
      [...texts].some((t) => /^platform 1\/1 linux\/amd64: probe [23] \(unhealthy after 3/.test(t)),
      `progress seen: ${[...texts].join(' | ')}`
    );
    // Another publisher learns nothing from the id.
    await s.http.get(`/api/v1/jobs/${jobId}`).set(as('other')).expect(404);
  });

  it('the verdict replaced the pending entry: every probe, the sizes and the user, audited', async () => {
    const sub = (await s.http.get(`/api/v1/submissions/${id}`).set(as('rev1')).expect(200))
      .body as SubmissionView;
    const check = checkOf(sub);
    assert.equal(check.pending, undefined);
    assert.equal(check.passed, true, check.detail);
    assert.equal(check.job, jobId);
    const run = check.evidence!.platforms[0]!;
    assert.deepEqual(
      run.probes.map((p) => [p.exitCode, p.output]),
      [
        [1, ''],
        [1, ''],
        [0, 'up\n'],
      ]
    );
    assert.deepEqual(run.user, { declared: 'app', uid: 1000, inPasswd: true });
    assert.ok(run.unpackedBytes! > run.compressedBytes!, JSON.stringify(run));
    assert.match(
      check.detail,
      /unpacked \d+ bytes \(compressed \d+\); User "app" is in \/etc\/passwd/
    );
    const audit = await s.app.storage.audit.list({ gun: GUN });
    const entry = audit.find((e) => e.action === 'submission.policy_decided')!;
    assert.deepEqual(
      [entry.actor, entry.details.job, entry.details.passed],
      ['countersign', jobId, true]
    );
  });

  it('while pending: no waiver, no approval; a server stopped mid-run: the next one fails the job that stopped beating, and its entry', async () => {
    // What a killed server leaves: the job `running`, its heartbeat old, the entry pending.
    const now = clock.now().getTime();
    const dead = `job_${'d'.repeat(32)}`;
    await s.app.storage.jobs.insert({
      id: dead,
      kind: 'healthcheck',
      owner: 'countersign',
      submission: id,
      state: 'running',
      progress: {},
      result: null,
      error: null,
      createdAt: now,
      updatedAt: now,
      heartbeatAt: now,
      finishedAt: null,
    });
    await s.app.storage.transaction(async (tx) => {
      const sub = (await tx.submissions.get(id))!;
      const details = sub.details as unknown as SubmissionView;
      const checks = details.policy.checks.map((c) =>
        c.name === 'healthcheck-run'
          ? { name: c.name, passed: false, pending: true, detail: 'pending', job: dead }
          : c
      );
      await tx.submissions.update(id, sub.revision, {
        state: sub.state,
        updatedAt: sub.updatedAt,
        details: { ...sub.details, policy: { checks } },
      });
    });
    const early = await s.http
      .post(`/api/v1/submissions/${id}/waivers`)
      .set(as('rev1'))
      .send({ check: 'healthcheck-run', reason: 'not yet' })
      .expect(409);
    assert.match(early.body.error.message, /healthcheck-run is still running/);
    const approval = await s.http
      .post(`/api/v1/submissions/${id}/reviews`)
      .set(as('rev1'))
      .send({ decision: 'approve' })
      .expect(409);
    assert.match(approval.body.error.message, /healthcheck-run \(pending\)/);
    await s.close();
    clock.advance(10_000);
    s = await startStore(storeConfig(), { clock, extra, dir: join(base, 'store') });
    const sub = (await s.http.get(`/api/v1/submissions/${id}`).set(as('rev1')).expect(200))
      .body as SubmissionView;
    const check = checkOf(sub);
    assert.equal(check.pending, undefined);
    assert.equal(check.passed, false);
    assert.match(
      check.detail,
      /^interrupted: the run ended without a verdict \(the job was interrupted/
    );
    const job = (await s.http.get(`/api/v1/jobs/${dead}`).set(as('rev1')).expect(200)).body as Job;
    assert.equal(job.state, 'failed');
    // Failed, it is now waivable with a reason.
    const waived = await s.http
      .post(`/api/v1/submissions/${id}/waivers`)
      .set(as('rev1'))
      .send({ check: 'healthcheck-run', reason: 'run again by hand: healthy' })
      .expect(200);
    assert.equal(checkOf(waived.body as SubmissionView).waived?.by, 'rev1');
  });
});
