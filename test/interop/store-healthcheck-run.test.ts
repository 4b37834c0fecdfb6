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
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusyboxImage } from '../sandbox/busybox-images.js';
import { Cleanup } from '../helpers/cleanup.js';
import {
  addAccounts,
  countersignCli,
  httpsCall,
  startCountersign,
  type StartedCountersign,
} from '../helpers/countersign.js';
import { ImageLayout } from '../helpers/images.js';
import { NotaryClient } from '../helpers/notary-cli.js';
import { run } from '../helpers/proc.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { makeDelegationCert } from '../helpers/tls.js';

const STAGING = 'staging.store.test/acme/web';
const USERS = {
  acme: { role: 'publisher', namespace: 'staging.store.test/acme/', password: 'acme password' },
  rev1: { role: 'reviewer', password: 'reviewer one password' },
} as const;
type User = keyof typeof USERS;

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
    let registry: TestRegistry;
    let layout: ImageLayout;
    let server: StartedCountersign;
    let acme: NotaryClient;
    let work: string;
    let sandboxDir: string;
    let id: string;
    let jobId: string;

    const store = (user: User, args: string[]) =>
      countersignCli(
        [...args, '--server', server.sut.url, '--ca', server.sut.caFile!, '--user', user],
        {
          COUNTERSIGN_PASSWORD: USERS[user].password,
        }
      );
    const asReviewer = async (path: string): Promise<unknown> => {
      const r = await httpsCall(`${server.sut.url}/api/v1/${path}`, server.sut.caFile!, {
        basic: { user: 'rev1', password: USERS.rev1.password },
      });
      assert.equal(r.status, 200, r.body.toString());
      return JSON.parse(r.body.toString());
    };
    const healthcheckRun = async (): Promise<Check> => {
      const sub = (await asReviewer(`submissions/${id}`)) as { policy: { checks: Check[] } };
      return sub.policy.checks.find((c) => c.name === 'healthcheck-run')!;
    };

    before(async () => {
      const base = cleanup.tempDir('store-hcrun-');
      const dataDir = join(base, 'data');
      work = join(base, 'work');
      sandboxDir = join(base, 'sandbox');
      // The container's mapped root must traverse every parent of its rootfs (docs/store.md).
      chmodSync(base, 0o711);
      mkdirSync(work, { recursive: true });
      registry = cleanup.add(await startRegistry());
      layout = await ImageLayout.create();
      cleanup.defer(() => layout.remove());
      await addAccounts(dataDir, USERS);
      server = cleanup.add(
        await startCountersign({
          dataDir,
          config: {
            countersign: {
              store: {
                zones: [{ staging: 'staging.store.test/', public: 'store.test/' }],
                registries: { staging: { url: registry.url, repositoryPrefix: 'staging/' } },
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
            },
          },
        })
      );
      acme = cleanup.add(
        await NotaryClient.create({
          server: server.sut,
          auth: { username: 'acme', password: USERS.acme.password },
        })
      );
    });
    after(() => cleanup.run());

    it('the publisher pushes an image whose health check always fails and signs it into staging', async () => {
      const d = await buildBusyboxImage(layout, 'web', {
        entrypoint: ['/bin/sleep', '1000'],
        user: 'app',
        healthcheck: { Test: ['CMD-SHELL', 'echo down; exit 1'] },
      });
      await layout.push(registry.host, 'web', 'staging/acme/web:1.0');
      writeFileSync(join(work, 'manifest.json'), await layout.readBlob(d.digest));
      const releases = await makeDelegationCert(work, { name: 'acme-releases' });
      await acme.init(STAGING, { publish: true });
      await acme.keyRotate(STAGING, 'snapshot', { serverManaged: true });
      await acme.delegationAdd(STAGING, 'targets/releases', [releases.certFile], { publish: true });
      await acme.keyImport(releases.keyFile, { role: 'targets/releases', gun: STAGING });
      await acme.add(STAGING, '1.0', join(work, 'manifest.json'), {
        roles: ['targets/releases'],
        publish: true,
      });
    });

    it('countersign submit answers with healthcheck-run pending; approval is refused meanwhile', async () => {
      const r = await store('acme', ['submit', `${STAGING}:1.0`, '--json']);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const sub = JSON.parse(r.stdout) as {
        id: string;
        state: string;
        policy: { checks: Check[] };
      };
      id = sub.id;
      assert.equal(sub.state, 'verified');
      const check = sub.policy.checks.find((c) => c.name === 'healthcheck-run')!;
      assert.equal(check.pending, true);
      assert.equal(check.passed, false);
      assert.match(check.job!, /^job_[0-9a-f]{32}$/);
      jobId = check.job!;
      const refused = await store('rev1', ['approve', id]);
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
      const refused = await store('rev1', ['approve', id]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /policy_failed[\s\S]*healthcheck-run/);
    });

    it('a reviewer waives it with a reason; countersign approve then publishes', async () => {
      const waived = await store('rev1', [
        'waive',
        id,
        '--check',
        'healthcheck-run',
        '--reason',
        'the probe needs a database the sandbox cannot offer',
      ]);
      assert.equal(waived.code, 0, waived.stderr + waived.stdout);
      assert.equal((await healthcheckRun()).waived?.by, 'rev1');
      const approved = await store('rev1', ['approve', id, '--json']);
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
