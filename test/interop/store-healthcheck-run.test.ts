/**
 * healthcheck-run in the store's chain, Countersign running as operators run it (`countersign
 * serve` with TLS) with the real notary CLI, docker-registry, skopeo, umoci and runc:
 *
 *   1. a busybox image whose HEALTHCHECK always fails is pushed to staging/acme/web:1.0 and its
 *      manifest signed into staging with the notary CLI;
 *   2. `countersign submit` answers at once: verified, `healthcheck-run` pending with the id of
 *      the job that runs it; approval is refused (policy_failed);
 *   3. the verdict arrives in the background: failed, with its probes; the job that ran it
 *      (read by the reviewer) ended `succeeded` with that verdict recorded; approval still refused;
 *   4. a reviewer waives it with a reason; `countersign approve` publishes;
 *   5. nothing of the run is left in the sandbox's directory or runc's state.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import { run } from '../helpers/proc.js';
import { signBusyboxIntoStaging } from '../helpers/store-busybox.js';
import { startStoreFixture, type StoreFixture } from '../helpers/store-fixture.js';

const STAGING = 'staging.store.test/acme/web';

interface Check {
  name: string;
  passed: boolean;
  detail: string;
  pending?: boolean;
  job?: string;
  waived?: { by: string; reason: string };
  evidence?: { platforms?: { probes: { exitCode: number; output: string }[] }[] };
}

describe(
  'store chain with healthcheck-run (runc sandbox, notary CLI)',
  { timeout: 600_000 },
  () => {
    const cleanup = new Cleanup();
    let f: StoreFixture;
    let sandboxDir: string;
    let id: string;
    let jobId: string;

    const asReviewer = (path: string): Promise<unknown> => f.okJson(`/api/v1/${path}`, 'rev1');
    const healthcheckRun = async (): Promise<Check> => {
      const sub = (await asReviewer(`submissions/${id}`)) as { policy: { checks: Check[] } };
      return sub.policy.checks.find((c) => c.name === 'healthcheck-run')!;
    };

    before(async () => {
      const sandboxBase = cleanup.tempDir('store-hcrun-sandbox-');
      sandboxDir = join(sandboxBase, 'sandbox');
      // The container's mapped root must traverse every parent of its rootfs (docs/store.md).
      chmodSync(sandboxBase, 0o711);
      f = await startStoreFixture(cleanup, {
        name: 'store-hcrun',
        registry: 'staging',
        store: {
          policy: {
            runHealthcheck: {
              timeout: '60s',
              // Two probes 5 s apart: the verdict comes well after the approval tried
              // below (a waiver while pending is refused: test/store/healthcheck-run.test.ts).
              probe: { interval: '5s', timeout: '10s', retries: 2 },
              workDir: sandboxDir,
            },
          },
        },
      });
    });
    after(() => cleanup.run());

    it('the publisher pushes an image whose health check always fails and signs it into staging', async () => {
      await signBusyboxIntoStaging(f, {
        gun: STAGING,
        repoTag: 'staging/acme/web:1.0',
        tag: '1.0',
        probe: 'echo down; exit 1',
      });
    });

    it('countersign submit answers with healthcheck-run pending; approval is refused meanwhile', async () => {
      const sub = await f.submit(`${STAGING}:1.0`);
      id = sub.id;
      assert.equal(sub.state, 'verified');
      const check = sub.policy.checks.find((c) => c.name === 'healthcheck-run')!;
      assert.equal(check.pending, true);
      assert.equal(check.passed, false);
      assert.match(check.job!, /^job_[0-9a-f]{32}$/);
      jobId = check.job!;
      const refused = await f.store('rev1', ['approve', id]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /policy_failed[\s\S]*healthcheck-run \(pending/);
    });

    it('the verdict arrives in the background: failed, with every probe; approval is still refused', async () => {
      let check = await healthcheckRun();
      for (let i = 0; i < 240 && check.pending; i++) {
        await new Promise((r) => setTimeout(r, 500));
        check = await healthcheckRun();
      }
      assert.equal(check.pending, undefined, 'a verdict within 120 s');
      assert.equal(check.passed, false);
      assert.match(check.detail, /linux\/amd64: failed: unhealthy: 2 probe\(s\) in a row failed/);
      assert.match(check.detail, /User "app" is in \/etc\/passwd/);
      const probes = check.evidence!.platforms![0]!.probes;
      assert.deepEqual(
        probes.map((p) => [p.exitCode, p.output]),
        [
          [1, 'down\n'],
          [1, 'down\n'],
        ]
      );
      assert.equal(check.job, jobId);
      const job = (await asReviewer(`jobs/${jobId}`)) as {
        kind: string;
        state: string;
        submission: string;
        result: { passed: boolean; recorded: boolean };
      };
      assert.deepEqual(
        [job.kind, job.state, job.submission, job.result.passed, job.result.recorded],
        ['healthcheck', 'succeeded', id, false, true]
      );
      const refused = await f.store('rev1', ['approve', id]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /policy_failed[\s\S]*healthcheck-run/);
    });

    it('a reviewer waives it with a reason; countersign approve then publishes', async () => {
      const waived = await f.store('rev1', [
        'waive',
        id,
        '--check',
        'healthcheck-run',
        '--reason',
        'the probe needs a database the sandbox cannot offer',
      ]);
      assert.equal(waived.code, 0, waived.stderr + waived.stdout);
      assert.equal((await healthcheckRun()).waived?.by, 'rev1');
      const approved = await f.store('rev1', ['approve', id, '--json']);
      assert.equal(approved.code, 0, approved.stderr + approved.stdout);
      assert.equal((JSON.parse(approved.stdout) as { state: string }).state, 'published');
    });

    it('nothing of the run is left: no container, no run directory', async () => {
      const list = await run('runc', ['--root', join(sandboxDir, 'runc'), 'list', '-q']);
      assert.equal(list.stdout.trim(), '');
      assert.deepEqual(readdirSync(join(sandboxDir, 'work')), []);
    });
  }
);
