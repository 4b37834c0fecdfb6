/**
 * Docker's HEALTHCHECK semantics (src/sandbox/healthcheck.ts) on a scripted container and a
 * manual clock: forms, defaults and overrides, the first probe one interval after the start,
 * the start period, retries, the main process exiting, the run's deadline; and the image's User
 * resolved as Docker resolves it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  planHealthcheck,
  runHealthcheck,
  type HealthcheckPlan,
  type ProbeDriver,
  type ProbeResult,
} from '../../../src/sandbox/healthcheck.js';
import { parseRunHealthcheck } from '../../../src/sandbox/settings.js';
import { resolveUser } from '../../../src/sandbox/user.js';

const S = 1_000_000_000;

describe('planHealthcheck', () => {
  it('reads CMD and CMD-SHELL, and refuses NONE, nothing and other forms', () => {
    const cmd = planHealthcheck({ Test: ['CMD', '/bin/true', '-x'] }, {});
    assert.ok(!('none' in cmd));
    assert.deepEqual(cmd.argv, ['/bin/true', '-x']);
    const shell = planHealthcheck({ Test: ['CMD-SHELL', 'wget -q localhost || exit 1'] }, {});
    assert.ok(!('none' in shell));
    assert.deepEqual(shell.argv, ['/bin/sh', '-c', 'wget -q localhost || exit 1']);
    assert.match((planHealthcheck({ Test: ['NONE'] }, {}) as { none: string }).none, /NONE/);
    assert.ok('none' in planHealthcheck(undefined, {}));
    assert.ok('none' in planHealthcheck({ Test: [] }, {}));
    assert.ok('none' in planHealthcheck({ Test: ['CMD'] }, {}));
    assert.ok('none' in planHealthcheck({ Test: ['CMD-SHELL', 'a', 'b'] }, {}));
    assert.ok('none' in planHealthcheck({ Test: ['SHELL', 'x'] }, {}));
  });

  it("takes Docker's defaults for 0 or absent timings, the image's otherwise, overrides first", () => {
    const d = planHealthcheck({ Test: ['CMD', 'x'], Interval: 0 }, {}) as HealthcheckPlan;
    assert.deepEqual(
      [d.intervalMs, d.timeoutMs, d.retries, d.startPeriodMs],
      [30_000, 30_000, 3, 0]
    );
    const image = {
      Test: ['CMD', 'x'],
      Interval: 5 * S,
      Timeout: 2 * S,
      Retries: 7,
      StartPeriod: 9 * S,
    };
    const i = planHealthcheck(image, {}) as HealthcheckPlan;
    assert.deepEqual(
      [i.intervalMs, i.timeoutMs, i.retries, i.startPeriodMs],
      [5000, 2000, 7, 9000]
    );
    const o = planHealthcheck(image, { intervalMs: 1000, retries: 2 }) as HealthcheckPlan;
    assert.deepEqual(
      [o.intervalMs, o.timeoutMs, o.retries, o.startPeriodMs],
      [1000, 2000, 2, 9000]
    );
  });
});

/** A container whose probe exit codes and main-process life are scripted; time is manual. */
function scripted(codes: number[], o: { mainDiesAt?: number; probeMs?: number } = {}) {
  let now = 0;
  const probedAt: number[] = [];
  const driver: ProbeDriver = {
    now: () => now,
    sleep: (ms) => {
      now += ms;
      return Promise.resolve();
    },
    probe: (_argv, timeoutMs) => {
      probedAt.push(now);
      const code = codes.shift() ?? 1;
      const took = Math.min(o.probeMs ?? 10, timeoutMs);
      now += took;
      const timedOut = took >= timeoutMs && (o.probeMs ?? 10) >= timeoutMs;
      return Promise.resolve({
        at: new Date(now).toISOString(),
        exitCode: timedOut ? -1 : code,
        durationMs: took,
        output: `code ${code}`,
      });
    },
    mainExited: () =>
      Promise.resolve(
        o.mainDiesAt !== undefined && now >= o.mainDiesAt ? 'the main process exited' : null
      ),
  };
  return { driver, probedAt };
}

const plan = (p: Partial<HealthcheckPlan> = {}): HealthcheckPlan => ({
  argv: ['x'],
  test: ['CMD', 'x'],
  intervalMs: 1000,
  timeoutMs: 500,
  retries: 3,
  startPeriodMs: 0,
  ...p,
});

describe('runHealthcheck', () => {
  it('probes one interval after the start, then an interval after each probe; healthy on the first success', async () => {
    const { driver, probedAt } = scripted([1, 1, 0]);
    const probes: ProbeResult[] = [];
    const v = await runHealthcheck(plan(), driver, 60_000, probes);
    assert.deepEqual(v, { healthy: true, reason: 'probe 3 succeeded' });
    assert.deepEqual(probedAt, [1000, 2010, 3020]);
    assert.deepEqual(
      probes.map((p) => p.exitCode),
      [1, 1, 0]
    );
  });

  it('is unhealthy after `retries` failures in a row, naming the last exit status', async () => {
    const probes: ProbeResult[] = [];
    const v = await runHealthcheck(
      plan({ retries: 2 }),
      scripted([4, 5, 0]).driver,
      60_000,
      probes
    );
    assert.equal(v.healthy, false);
    assert.match(
      v.reason,
      /2 probe\(s\) in a row failed \(retries 2\), the last with exit status 5/
    );
    assert.equal(probes.length, 2);
  });

  it('does not count failures inside the start period', async () => {
    const probes: ProbeResult[] = [];
    const v = await runHealthcheck(
      plan({ retries: 1, startPeriodMs: 2500 }),
      scripted([1, 1, 1]).driver,
      60_000,
      probes
    );
    assert.equal(v.healthy, false);
    assert.deepEqual(
      probes.map((p) => p.inStartPeriod),
      [true, true, false]
    );
  });

  it('counts a probe that outlives its timeout as failed (-1)', async () => {
    const probes: ProbeResult[] = [];
    const v = await runHealthcheck(
      plan({ retries: 1 }),
      scripted([0], { probeMs: 10_000 }).driver,
      60_000,
      probes
    );
    assert.equal(v.healthy, false);
    assert.equal(probes[0]!.exitCode, -1);
    assert.match(v.reason, /a timeout after 500 ms/);
  });

  it('fails when the main process exits, even if a probe would succeed', async () => {
    const probes: ProbeResult[] = [];
    const v = await runHealthcheck(
      plan(),
      scripted([1, 0], { mainDiesAt: 1500 }).driver,
      60_000,
      probes
    );
    assert.deepEqual(v, { healthy: false, reason: 'the main process exited' });
    assert.equal(probes.length, 1);
  });

  it('fails at the deadline', async () => {
    const probes: ProbeResult[] = [];
    const v = await runHealthcheck(plan({ retries: 100 }), scripted([]).driver, 5000, probes);
    assert.equal(v.healthy, false);
    assert.match(v.reason, /timed out/);
    assert.ok(probes.length >= 3 && probes.length <= 5);
  });
});

describe('resolveUser (Docker semantics over the image files)', () => {
  const passwd = 'root:x:0:0::/:/bin/sh\napp:x:1000:1001::/:/bin/sh\n# comment\nbad line\n';
  const group = 'root:x:0:\nstaff:x:50:\n';
  it('resolves names, IDs and groups, and says whether the user is in /etc/passwd', () => {
    assert.deepEqual(resolveUser('app', passwd, group), {
      uid: 1000,
      gid: 1001,
      declared: 'app',
      inPasswd: true,
    });
    assert.deepEqual(resolveUser('', passwd, group), {
      uid: 0,
      gid: 0,
      declared: '',
      inPasswd: true,
    });
    assert.deepEqual(resolveUser('4242', passwd, group), {
      uid: 4242,
      gid: 0,
      declared: '4242',
      inPasswd: false,
    });
    assert.deepEqual(resolveUser('app:staff', passwd, group), {
      uid: 1000,
      gid: 50,
      declared: 'app:staff',
      inPasswd: true,
    });
    assert.deepEqual(resolveUser('1000:7', passwd, null), {
      uid: 1000,
      gid: 7,
      declared: '1000:7',
      inPasswd: true,
    });
  });
  it('refuses what Docker refuses to start, and IDs the sandbox does not map', () => {
    assert.match(
      (resolveUser('ghost', passwd, group) as { error: string }).error,
      /unable to find user ghost/
    );
    assert.match(
      (resolveUser('app:wheel', passwd, group) as { error: string }).error,
      /unable to find group wheel/
    );
    assert.match(
      (resolveUser('70000', passwd, group) as { error: string }).error,
      /outside the 65536/
    );
    assert.match(
      (resolveUser('app', null, null) as { error: string }).error,
      /unable to find user app/
    );
  });
});

describe('parseRunHealthcheck', () => {
  it('is off when absent or false, takes every default with true, and reads overrides', () => {
    assert.equal(parseRunHealthcheck(undefined, 'k'), undefined);
    assert.equal(parseRunHealthcheck(false, 'k'), undefined);
    const d = parseRunHealthcheck(true, 'k')!;
    assert.equal(d.timeoutMs, 120_000);
    assert.deepEqual(d.limits, {
      memoryBytes: 256 << 20,
      cpus: 0.5,
      pids: 64,
      diskBytes: 16 << 20,
    });
    assert.deepEqual(d.probe, {});
    const o = parseRunHealthcheck(
      { timeout: '30s', pids: 10, probe: { interval: '2s', retries: 5 }, workDir: 'sb' },
      'k',
      (p) => `/etc/cs/${p}`
    )!;
    assert.deepEqual(
      [o.timeoutMs, o.limits.pids, o.probe, o.workDir],
      [30_000, 10, { intervalMs: 2000, retries: 5 }, '/etc/cs/sb']
    );
  });
  it('refuses a timeout under 5s and a non-object', () => {
    assert.throws(
      () => parseRunHealthcheck({ timeout: '1s' }, 'k'),
      /k.timeout must be at least 5s/
    );
    assert.throws(() => parseRunHealthcheck('yes', 'k'), /k must be true, false or an object/);
  });
});
