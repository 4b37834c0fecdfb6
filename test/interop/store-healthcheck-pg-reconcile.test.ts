/**
 * A healthcheck-run interrupted on one instance is failed by another (docs/store.md "Health
 * checks run in a sandbox", "Jobs"): two `countersign serve` processes on one PostgreSQL
 * database, each with its own data dir and sandbox directory, the same TLS certificate and key
 * passphrase, with docker-registry, skopeo, umoci and runc for the runs.
 *
 *   1. a run on A that lasts longer than `jobs.staleAfter` while B sweeps and reconciles every
 *      `staleAfter / 2` is left alone: its job still beats, it ends with the real verdict;
 *   2. a run on A whose server is SIGKILLed mid-probe: B fails the job once its heartbeat is
 *      stale and fails the pending entry ("interrupted: …; verify again"), so the submission is
 *      not pending forever;
 *   3. verified again on B, the check runs to a real verdict there;
 *   4. A's container outlived the kill (its own PID namespace); A started again sweeps it.
 *
 * The image's probe sleeps 3 s and fails; two failures in a row make it unhealthy, so a run takes
 * some 8 s after the container starts and A is killed while its first probe runs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import { httpsCall, startCountersign, type StartedCountersign } from '../helpers/countersign.js';
import { startPostgres } from '../helpers/postgres.js';
import { run } from '../helpers/proc.js';
import { signBusyboxIntoStaging } from '../helpers/store-busybox.js';
import { startStoreFixture, STORE_USERS, type StoreFixture } from '../helpers/store-fixture.js';

const STAGING = 'staging.store.test/acme/web';
const STALE_AFTER_MS = 4_000;
/** How long B may take to fail what A left: staleness, a sweep and a reconcile, with slack. */
const RECOVERY_WAIT_MS = 30_000;
/** How long a run may take, pull and unpack included, on a loaded host. */
const RUN_WAIT_MS = 60_000;

interface Check {
  name: string;
  passed: boolean;
  detail: string;
  pending?: boolean;
  job?: string;
  evidence?: {
    platforms?: readonly { probes: readonly { exitCode: number; output: string }[] }[];
  };
}
interface JobView {
  id: string;
  kind: string;
  state: string;
  submission?: string;
  progress: { step?: string; probe?: number; text?: string };
  result?: { passed: boolean; recorded: boolean };
  error?: { code: string; message: string };
  createdAt: string;
  finishedAt?: string;
}

const INTERRUPTED_VERDICT =
  /^interrupted: the run ended without a verdict \(the job was interrupted: the server running it stopped before it finished; .*\); verify again$/;
const UNHEALTHY = /linux\/amd64: failed: unhealthy: 2 probe\(s\) in a row failed/;

describe(
  'healthcheck-run interrupted on one PostgreSQL instance, failed by another',
  { timeout: 300_000 },
  () => {
    const cleanup = new Cleanup();
    let f: StoreFixture;
    let b: StartedCountersign;
    let sandboxA: string;
    let id: string;

    /** GET /api/v1/PATH on instance B as the reviewer (B shares A's TLS certificate). */
    const onB = async <T>(path: string): Promise<T> => {
      const r = await httpsCall(`${b.sut.url}/api/v1/${path}`, b.sut.caFile!, {
        basic: { user: 'rev1', password: STORE_USERS.rev1.password },
      });
      assert.equal(r.status, 200, `B: ${path}: ${r.body.toString()}`);
      return JSON.parse(r.body.toString()) as T;
    };
    /** POST /api/v1/submissions/ID/verify as the publisher on the server at URL. */
    const verifyAgain = async (url: string): Promise<Check> => {
      const r = await httpsCall(`${url}/api/v1/submissions/${id}/verify`, b.sut.caFile!, {
        method: 'POST',
        basic: { user: 'acme', password: STORE_USERS.acme.password },
      });
      assert.equal(r.status, 200, r.body.toString());
      const sub = JSON.parse(r.body.toString()) as { state: string; policy: { checks: Check[] } };
      assert.equal(sub.state, 'verified');
      return pendingCheck(sub.policy.checks);
    };
    const checkOnB = async (): Promise<Check> => {
      const sub = await onB<{ policy: { checks: Check[] } }>(`submissions/${id}`);
      return sub.policy.checks.find((c) => c.name === 'healthcheck-run')!;
    };
    /** Polls B every 250 ms until `done` holds of what `read` answers; fails naming `what`. */
    const pollB = async <T>(
      what: string,
      waitMs: number,
      read: () => Promise<T>,
      done: (v: T) => boolean
    ): Promise<T> => {
      const until = Date.now() + waitMs;
      let v = await read();
      while (!done(v)) {
        if (Date.now() > until)
          assert.fail(`B: ${what} not within ${waitMs / 1000} s; last: ${JSON.stringify(v)}`);
        await new Promise((r) => setTimeout(r, 250));
        v = await read();
      }
      return v;
    };
    const jobOnB = (job: string) => () => onB<JobView>(`jobs/${job}`);
    /**
     * Waits for JOB to end and asserts it ran the check to the real verdict — unhealthy, both
     * probes' output — and recorded it as the submission's entry; the job as B answers it.
     */
    const realVerdict = async (job: string): Promise<JobView> => {
      const done = await pollB(
        `job ${job} finished`,
        RUN_WAIT_MS,
        jobOnB(job),
        (j) => j.state !== 'running'
      );
      assert.equal(done.state, 'succeeded', JSON.stringify(done));
      assert.deepEqual([done.result?.passed, done.result?.recorded], [false, true]);
      const check = await checkOnB();
      assert.deepEqual([check.pending, check.passed, check.job], [undefined, false, job]);
      assert.match(check.detail, UNHEALTHY);
      const probes = check.evidence!.platforms![0]!.probes;
      assert.deepEqual(
        probes.map((p) => [p.exitCode, p.output]),
        [
          [1, 'down\n'],
          [1, 'down\n'],
        ]
      );
      return done;
    };

    before(async () => {
      const cluster = cleanup.add(await startPostgres());
      const dbUrl = await cluster.createDatabase();
      const sandboxBase = cleanup.tempDir('store-hc-pg-sandbox-');
      // The container's mapped root must traverse every parent of its rootfs (docs/store.md).
      chmodSync(sandboxBase, 0o711);
      sandboxA = join(sandboxBase, 'a');
      const runHealthcheck = (workDir: string) => ({
        timeout: '60s',
        probe: { interval: '1s', timeout: '10s', retries: 2 },
        workDir,
      });
      f = await startStoreFixture(cleanup, {
        name: 'store-hc-pg-a',
        registry: 'staging',
        storage: { backend: 'postgres', db_url: dbUrl },
        store: { policy: { runHealthcheck: runHealthcheck(sandboxA) } },
        countersign: {
          keys: { passphrase: 'one passphrase for both instances' },
          jobs: { staleAfter: `${STALE_AFTER_MS / 1000}s` },
        },
      });
      // B: its own data dir holding A's TLS files (one certificate for both), its own sandbox.
      const dataB = join(cleanup.tempDir('store-hc-pg-b-'), 'data');
      mkdirSync(dataB, { recursive: true });
      cpSync(join(f.dataDir, 'tls'), join(dataB, 'tls'), { recursive: true });
      const configB = structuredClone(f.config) as {
        countersign: { store: { policy: { runHealthcheck: unknown } } };
      };
      configB.countersign.store.policy.runHealthcheck = runHealthcheck(join(sandboxBase, 'b'));
      b = cleanup.add(await startCountersign({ dataDir: dataB, config: configB }));
      // A dies by SIGKILL below: should the test stop before A starts again and sweeps what its
      // run left in runc, it is removed here (B never sees A's sandbox directory).
      cleanup.defer(async () => {
        const root = join(sandboxA, 'runc');
        const left = (await run('runc', ['--root', root, 'list', '-q'])).stdout.split('\n');
        for (const c of left.filter((c) => c.startsWith('countersign-hc-')))
          await run('runc', ['--root', root, 'delete', '--force', c]);
      });
    });
    after(() => cleanup.run());

    it('the publisher pushes an image whose probe sleeps 3 s and fails, and signs it into staging', async () => {
      await signBusyboxIntoStaging(f, {
        gun: STAGING,
        repoTag: 'staging/acme/web:1.0',
        tag: '1.0',
        probe: 'sleep 3; echo down; exit 1',
      });
    });

    it('a run on A that outlasts staleAfter is left alone by B: it ends with the real verdict', async () => {
      const sub = await f.submit(`${STAGING}:1.0`);
      id = sub.id;
      assert.equal(sub.state, 'verified');
      const job = pendingCheck(sub.policy.checks).job!;
      const done = await realVerdict(job);
      // Not vacuous: B swept and reconciled more than once while the job ran.
      const ranMs = Date.parse(done.finishedAt!) - Date.parse(done.createdAt);
      assert.ok(ranMs > STALE_AFTER_MS, `the run took ${ranMs} ms, not over ${STALE_AFTER_MS}`);
    });

    it('A is killed mid-run: B fails the job once its heartbeat is stale, then the pending entry', async () => {
      const job = (await verifyAgain(f.url)).job!;
      const probing = await pollB(
        `job ${job} probing on A`,
        RUN_WAIT_MS,
        jobOnB(job),
        (j) => j.state !== 'running' || j.progress.step === 'probe'
      );
      assert.equal(probing.state, 'running', JSON.stringify(probing));
      assert.equal(probing.progress.probe, 1, JSON.stringify(probing));
      await f.stop({ kill: true });

      const failed = await pollB(
        `job ${job} failed`,
        RECOVERY_WAIT_MS,
        jobOnB(job),
        (j) => j.state !== 'running'
      );
      assert.equal(failed.state, 'failed', JSON.stringify(failed));
      assert.equal(failed.error?.code, 'unavailable');
      assert.match(failed.error.message, /^the job was interrupted: the server running it stopped/);

      const check = await pollB(
        `the entry of ${job} decided`,
        RECOVERY_WAIT_MS,
        checkOnB,
        (c) => !c.pending
      );
      assert.deepEqual([check.passed, check.job], [false, job]);
      assert.match(check.detail, INTERRUPTED_VERDICT);
    });

    it('verified again on B, the check runs to a real verdict there', async () => {
      await realVerdict((await verifyAgain(b.sut.url)).job!);
    });

    it("A's container outlives the kill; A started again sweeps it and its run directory", async () => {
      const root = join(sandboxA, 'runc');
      const containers = async () =>
        (await run('runc', ['--root', root, 'list', '-q'])).stdout.split('\n').filter(Boolean);
      const left = await containers();
      assert.equal(left.length, 1, `one container left by A: ${left.join(', ')}`);
      assert.match(left[0]!, /^countersign-hc-/);
      assert.deepEqual(readdirSync(join(sandboxA, 'work')), left);
      await f.start();
      assert.deepEqual(await containers(), []);
      assert.deepEqual(readdirSync(join(sandboxA, 'work')), []);
    });
  }
);

/** The pending healthcheck-run entry a verification answered, with the id of its job. */
function pendingCheck(checks: readonly Check[]): Check {
  const check = checks.find((c) => c.name === 'healthcheck-run');
  assert.ok(check, 'a healthcheck-run entry');
  assert.equal(check.pending, true, JSON.stringify(check));
  assert.match(check.job ?? '', /^job_[0-9a-f]{32}$/);
  return check;
}
