/**
 * healthcheck-run's sandbox with the real runc, umoci and skopeo (Debian): busybox images built
 * here and pushed to the Debian docker-registry, run by digest through HealthcheckRunner (a
 * runner process per run). A passing image records its probes; an always-failing check, an
 * entrypoint that exits at once, a probe that sleeps past the run's timeout, a probe that tries
 * to reach a listener on the host's 127.0.0.1, one that fills its disk, and a fork bomb each
 * fail with their reason.
 * After every run no container is left in runc's state dir, no run directory, and no mount of it.
 * The file ends once its tests do: the test's own listener closes its connections (below).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { HealthcheckRunner, RUNNER_NICENESS } from '../../src/sandbox/runner.js';
import { parseRunHealthcheck, type HealthcheckRunSettings } from '../../src/sandbox/settings.js';
import type { ImageSource } from '../../src/sandbox/unpack.js';
import { silentLogger } from '../../src/util/log.js';
import { Cleanup } from '../helpers/cleanup.js';
import { ImageLayout } from '../helpers/images.js';
import { run } from '../helpers/proc.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { buildBusyboxImage, type BusyboxImage } from './busybox-images.js';

const SECOND = 1_000_000_000;
const SLEEP = ['/bin/sleep', '1000'];
const FAST = { interval: '1s', timeout: '5s', retries: 2 };

describe('healthcheck-run sandbox (runc)', { timeout: 600_000 }, () => {
  const cleanup = new Cleanup();
  let registry: TestRegistry;
  let layout: ImageLayout;
  let stateDir: string;

  before(async () => {
    registry = cleanup.add(await startRegistry());
    layout = await ImageLayout.create();
    cleanup.defer(() => layout.remove());
    stateDir = cleanup.tempDir('countersign-sandbox-');
  });
  // Bounded: a cleanup step that hangs fails the file instead of keeping it alive.
  after(() => cleanup.run(), { timeout: 60_000 });

  /** Builds, pushes and runs one image; the report of its (single) platform. */
  async function runImage(name: string, image: BusyboxImage, config: Record<string, unknown>) {
    await buildBusyboxImage(layout, name, image);
    await layout.push(registry.host, name, `sandbox/${name}:1.0`);
    const digest = (await layout.descriptor(name)).digest;
    const source: ImageSource = {
      registryUrl: registry.url,
      repository: `sandbox/${name}`,
      digest,
    };
    const settings = parseRunHealthcheck(config, 'runHealthcheck') as HealthcheckRunSettings;
    const runner = new HealthcheckRunner({ settings, stateDir, log: silentLogger });
    await runner.start();
    const started = Date.now();
    const report = await runner.run(source, 'linux/amd64');
    await assertNothingLeft();
    return { report, seconds: (Date.now() - started) / 1000 };
  }

  async function assertNothingLeft(): Promise<void> {
    const list = await run('runc', ['--root', join(stateDir, 'runc'), 'list', '-q']);
    assert.equal(list.stdout.trim(), '', 'runc lists no container');
    assert.deepEqual(readdirSync(join(stateDir, 'runc')), [], "runc's state dir is empty");
    assert.deepEqual(readdirSync(join(stateDir, 'work')), [], 'no run directory is left');
    const mounts = readFileSync('/proc/mounts', 'utf8');
    assert.ok(!mounts.includes(stateDir), `no mount under ${stateDir}`);
  }

  it('passes an httpd image whose wget probe succeeds, and records the probes', async () => {
    const { report } = await runImage(
      'httpd',
      {
        entrypoint: ['/bin/httpd', '-f', '-p', '127.0.0.1:8080', '-h', '/www'],
        user: 'app',
        healthcheck: {
          Test: ['CMD', '/bin/wget', '-q', '-O', '-', 'http://127.0.0.1:8080/'],
          Interval: 1 * SECOND,
          Retries: 3,
        },
      },
      { timeout: '60s' }
    );
    assert.equal(report.passed, true, report.reason);
    assert.ok(report.probes.length >= 1);
    const last = report.probes.at(-1)!;
    assert.equal(last.exitCode, 0);
    assert.equal(last.output, 'healthy\n');
    assert.ok(!Number.isNaN(Date.parse(last.at)));
    assert.deepEqual(report.user, { declared: 'app', uid: 1000, inPasswd: true });
    assert.ok(report.unpackedBytes! > readFileSync('/bin/busybox').length - 1);
    assert.ok(report.compressedBytes! > 0 && report.compressedBytes! < report.unpackedBytes!);
  });

  it('fails a check that always fails, after its retries, with the probe output', async () => {
    const { report } = await runImage(
      'broken',
      {
        entrypoint: SLEEP,
        user: '1000',
        healthcheck: { Test: ['CMD-SHELL', 'echo not ready; exit 3'] },
      },
      { timeout: '60s', probe: FAST }
    );
    assert.equal(report.passed, false);
    assert.match(report.reason, /2 probe\(s\) in a row failed .*exit status 3/);
    assert.equal(report.probes.length, 2);
    for (const p of report.probes) {
      assert.equal(p.exitCode, 3);
      assert.equal(p.output, 'not ready\n');
    }
  });

  it('fails an image whose entrypoint exits at once', async () => {
    const { report } = await runImage(
      'exits',
      {
        entrypoint: ['/bin/sh', '-c', 'echo starting; exit 1'],
        healthcheck: { Test: ['CMD', '/bin/true'] },
      },
      { timeout: '60s', probe: FAST }
    );
    assert.equal(report.passed, false);
    assert.match(report.reason, /the main process exited/);
    assert.equal(report.probes.length, 0, 'no probe ran');
    assert.equal(report.mainOutput, 'starting\n');
  });

  it('fails a probe that sleeps past the run timeout, within that timeout', async () => {
    const { report, seconds } = await runImage(
      'sleeper',
      { entrypoint: SLEEP, healthcheck: { Test: ['CMD', '/bin/sleep', '1000'] } },
      { timeout: '15s', probe: { interval: '1s', timeout: '60s', retries: 1 } }
    );
    assert.equal(report.passed, false);
    assert.match(report.reason, /timed out|timeout/);
    assert.equal(report.probes[0]?.exitCode, -1);
    assert.ok(seconds < 15 + 30, `ended in ${seconds} s`);
  });

  it("cannot reach a listener on the host's 127.0.0.1 from inside", async () => {
    let connections = 0;
    const sockets = new Set<net.Socket>();
    const listener = net.createServer((s) => {
      connections++;
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      // Read the request: a socket whose input is never consumed never sees the client's FIN,
      // stays open, and listener.close() would wait for it forever (the file never ended).
      s.resume();
      s.end('HTTP/1.0 200 OK\r\n\r\nhost\n');
    });
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    cleanup.defer(() => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => listener.close(r));
    });
    const port = (listener.address() as net.AddressInfo).port;
    // The same probe from the host reaches it: the port is open.
    const host = await run('/bin/busybox', ['wget', '-q', '-O', '-', `http://127.0.0.1:${port}/`]);
    assert.equal(host.stdout, 'host\n');
    assert.equal(connections, 1);
    const { report } = await runImage(
      'outward',
      {
        entrypoint: SLEEP,
        // (busybox's wget -T crashes: Debian bug; without it a refused connection fails at once.)
        healthcheck: { Test: ['CMD', '/bin/wget', '-O', '-', `http://127.0.0.1:${port}/`] },
      },
      { timeout: '60s', probe: FAST }
    );
    assert.equal(report.passed, false);
    assert.match(report.probes[0]!.output, /refused/i);
    assert.equal(connections, 1, 'the sandbox never connected to the host listener');
  });

  it('keeps an image that fills its disk inside its tmpfs; its check then fails', async () => {
    const { report } = await runImage(
      'filler',
      {
        entrypoint: ['/bin/sh', '-c', 'cat /dev/zero > /tmp/fill; exec /bin/sleep 1000'],
        healthcheck: { Test: ['CMD-SHELL', 'echo ok > /tmp/probe && cat /tmp/probe'] },
      },
      { timeout: '60s', diskMiB: 1, probe: FAST }
    );
    assert.equal(report.passed, false);
    assert.match(report.reason, /2 probe\(s\) in a row failed/);
    assert.match(report.probes[0]!.output, /No space left on device|too large/i);
  });

  it('stops a fork bomb at the pids limit', async () => {
    const { report } = await runImage(
      'forkbomb',
      {
        // Every child sleeps on, so the processes pile up until fork fails.
        entrypoint: ['/bin/sh', '-c', 'while :; do /bin/sleep 1000 & done'],
        healthcheck: { Test: ['CMD', '/bin/true'] },
      },
      { timeout: '30s', pids: 16, probe: FAST }
    );
    assert.equal(report.passed, false);
    assert.match(report.reason, /it reached its pids limit of 16 \(\d+ fork\(s\) refused\)/);
  });

  it('cleans up after a runner killed mid-run, and sweeps what a dead server left at start', async () => {
    await buildBusyboxImage(layout, 'victim', {
      entrypoint: SLEEP,
      healthcheck: { Test: ['CMD', '/bin/sleep', '1000'] },
    });
    await layout.push(registry.host, 'victim', 'sandbox/victim:1.0');
    const digest = (await layout.descriptor('victim')).digest;
    const settings = parseRunHealthcheck({ timeout: '60s', probe: { timeout: '60s' } }, 'k')!;
    const runner = new HealthcheckRunner({ settings, stateDir, log: silentLogger });
    await runner.start();
    const runcRoot = join(stateDir, 'runc');
    const pending = runner.run(
      { registryUrl: registry.url, repository: 'sandbox/victim', digest },
      'linux/amd64'
    );
    // Wait until the container runs, then SIGKILL the runner: it cannot clean up itself.
    let listed = '';
    for (let i = 0; i < 120 && !listed.includes('running'); i++) {
      await new Promise((r) => setTimeout(r, 250));
      listed = (await run('runc', ['--root', runcRoot, 'list'])).stdout;
    }
    assert.match(listed, /countersign-hc-\w+\s+\d+\s+running/);
    const [pid] = runner.runnerPids();
    // The runner and what it started (the container's own processes too) yield the CPU to the server.
    const niceOf = (p: number) => {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    };
    assert.equal(niceOf(pid!), RUNNER_NICENESS);
    const containerPid = Number(
      (await run('runc', ['--root', runcRoot, 'list', '--format', 'json'])).stdout.match(
        /"pid":(\d+)/
      )![1]
    );
    assert.equal(niceOf(containerPid), RUNNER_NICENESS);
    process.kill(pid!, 'SIGKILL');
    const report = await pending;
    assert.equal(report.passed, false);
    assert.match(
      report.reason,
      /the sandbox runner stopped without a verdict \(killed by SIGKILL\)/
    );
    await assertNothingLeft();

    // A dead server's leftovers: a container (runc's own) and a run directory; start() sweeps them.
    const bundle = join(stateDir, 'work', 'countersign-hc-leftover');
    await run('mkdir', ['-p', join(bundle, 'rootfs', 'bin')]);
    await run('cp', ['/bin/busybox', join(bundle, 'rootfs', 'bin', 'sleep')]);
    const spec = JSON.parse(
      await run('runc', ['spec', '--bundle', bundle]).then(() =>
        readFileSync(join(bundle, 'config.json'), 'utf8')
      )
    );
    spec.process.terminal = false;
    spec.process.args = ['/bin/sleep', '1000'];
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
    // The container keeps runc's stdio: give it none, so this call returns at once.
    const created = await run('sh', [
      '-c',
      `runc --root ${runcRoot} run --detach --bundle ${bundle} countersign-hc-leftover </dev/null >/dev/null 2>&1`,
    ]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(
      (await run('runc', ['--root', runcRoot, 'list', '-q'])).stdout,
      /countersign-hc-leftover/
    );
    await new HealthcheckRunner({ settings, stateDir, log: silentLogger }).start();
    await assertNothingLeft();
  });
});
