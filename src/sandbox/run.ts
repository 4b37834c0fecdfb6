/**
 * One healthcheck run, inside the runner process (src/sandbox/runner-main.ts): pull the digest,
 * unpack it, start the entrypoint in runc, probe it with Docker's semantics, and remove the
 * container — whatever happens — before reporting.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { processFor } from './container.js';
import {
  PROBE_OUTPUT_BYTES,
  planHealthcheck,
  runHealthcheck,
  type HealthcheckPlan,
  type ProbeDriver,
  type ProbeResult,
} from './healthcheck.js';
import { runtimeSpec } from './oci-spec.js';
import { cgroupPathOf, limitsHit, Runc } from './runc.js';
import type { HealthcheckRunSettings } from './settings.js';
import { firstLines, runToolChecked } from './tools.js';
import {
  layoutConfig,
  layoutLayerBytes,
  pullImage,
  unpackImage,
  unpackedBytes,
  type ImageSource,
} from './unpack.js';

export interface RunRequest {
  readonly source: ImageSource;
  /** `linux/amd64`, for the report. */
  readonly platform: string;
  readonly containerId: string;
  /** The run's private directory (made by the caller, removed by both). */
  readonly workDir: string;
  readonly runcRoot: string;
  readonly settings: HealthcheckRunSettings;
}

export interface RunReport {
  readonly platform: string;
  readonly passed: boolean;
  readonly reason: string;
  readonly healthcheck?: readonly string[];
  readonly probes: readonly ProbeResult[];
  readonly compressedBytes?: number;
  readonly unpackedBytes?: number;
  readonly user?: { readonly declared: string; readonly uid: number; readonly inPasswd: boolean };
  /** The first bytes the main process wrote. */
  readonly mainOutput?: string;
}

type Facts = {
  -readonly [K in keyof RunReport]?: RunReport[K];
};

/** Where a run is, for the job's progress (the runner process streams these to the server). */
export type RunStep =
  | { readonly step: 'pull' | 'unpack' | 'start' }
  | { readonly step: 'probe'; readonly probe: number; readonly retries: number };

/** What one run carries through its stages. */
interface RunState {
  readonly deadline: number;
  readonly facts: Facts;
  readonly probes: ProbeResult[];
  readonly runc: Runc;
  readonly onStep: (s: RunStep) => void;
}

/** Runs it; never throws (a failure is a failed report), always removes the container. */
export async function runOnce(
  req: RunRequest,
  onStep: (s: RunStep) => void = () => {}
): Promise<RunReport> {
  const state: RunState = {
    deadline: performance.now() + req.settings.timeoutMs,
    facts: {},
    probes: [],
    runc: new Runc(req.runcRoot),
    onStep,
  };
  const { facts, probes } = state;
  try {
    const verdict = await pullAndRun(req, state);
    return { platform: req.platform, probes, ...facts, ...verdict };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return { platform: req.platform, probes, ...facts, passed: false, reason };
  } finally {
    await state.runc.remove(req.containerId);
  }
}

async function pullAndRun(
  req: RunRequest,
  state: RunState
): Promise<{ passed: boolean; reason: string }> {
  const { deadline, facts, runc } = state;
  const left = () => {
    const ms = Math.floor(deadline - performance.now());
    if (ms <= 0) throw new Error('the run timed out before the container started');
    return ms;
  };
  state.onStep({ step: 'pull' });
  const layout = await pullImage(req.source, req.workDir, left());
  facts.compressedBytes = await layoutLayerBytes(layout);
  if (facts.compressedBytes > req.settings.maxImageBytes)
    return {
      passed: false,
      reason: `the image's layers (${facts.compressedBytes} bytes) exceed maxImageMiB`,
    };
  const config = await layoutConfig(layout);
  const runConfig = (config.config ?? {}) as Record<string, unknown>;
  const plan = planHealthcheck(runConfig.Healthcheck, req.settings.probe);
  if ('none' in plan) return { passed: false, reason: `${plan.none}: there is nothing to run` };
  facts.healthcheck = plan.test;
  const bundle = join(req.workDir, 'bundle');
  const rootfs = join(bundle, 'rootfs');
  await mkdir(bundle, { mode: 0o711 });
  state.onStep({ step: 'unpack' });
  await unpackImage(layout, rootfs, req.settings.uidBase, left());
  await rm(layout, { recursive: true, force: true });
  facts.unpackedBytes = await unpackedBytes(rootfs);
  const proc = await processFor(runConfig, rootfs);
  if (proc.user)
    facts.user = { declared: proc.user.declared, uid: proc.user.uid, inPasswd: proc.user.inPasswd };
  if ('error' in proc) return { passed: false, reason: proc.error };
  const spec = runtimeSpec({
    process: proc.process,
    limits: req.settings.limits,
    uidBase: req.settings.uidBase,
    hostname: 'healthcheck-run',
    cgroupsPath: cgroupPathOf(req.containerId),
  });
  await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
  const logPath = join(req.workDir, 'main.log');
  state.onStep({ step: 'start' });
  const main = await startContainer(runc, req.containerId, bundle, logPath, left());
  const verdict = await probeUntilVerdict(plan, req.containerId, main, state);
  facts.mainOutput = await readHead(logPath, PROBE_OUTPUT_BYTES);
  if (verdict.healthy) return { passed: true, reason: verdict.reason };
  const hit = await limitsHit(req.containerId);
  return {
    passed: false,
    reason: hit.length ? `${verdict.reason}; ${hit.join('; ')}` : verdict.reason,
  };
}

interface MainProcess {
  readonly pid: number;
  /** Field 22 of /proc/PID/stat: tells our process from a later one with the same PID. */
  readonly startTime: string;
  readonly startedAt: number;
}

/**
 * `runc create` (stdio → the log file: the container's writes to it are capped by its
 * RLIMIT_FSIZE), `lo` up inside its network namespace, then `runc start`.
 */
async function startContainer(
  runc: Runc,
  id: string,
  bundle: string,
  logPath: string,
  timeoutMs: number
): Promise<MainProcess> {
  const pidFile = join(bundle, '..', 'main.pid');
  const fd = openSync(logPath, 'a', 0o600);
  try {
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(
        'runc',
        ['--root', runc.root, 'create', '--bundle', bundle, '--pid-file', pidFile, id],
        {
          stdio: ['ignore', fd, fd],
        }
      );
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', () => resolve(-1));
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    if (code !== 0)
      throw new Error(`runc create failed: ${firstLines(await readHead(logPath, 2048))}`);
  } finally {
    closeSync(fd);
  }
  const pid = Number((await readFile(pidFile, 'utf8')).trim());
  await runToolChecked('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', 'link', 'set', 'lo', 'up'], {
    timeoutMs: 15_000,
  });
  const startTime = (await procStat(pid))?.startTime ?? '';
  await runc.start(id);
  return { pid, startTime, startedAt: performance.now() };
}

async function probeUntilVerdict(
  plan: HealthcheckPlan,
  id: string,
  main: MainProcess,
  { runc, deadline, probes, onStep }: RunState
) {
  const driver: ProbeDriver = {
    now: () => performance.now(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    async probe(argv, timeoutMs) {
      onStep({ step: 'probe', probe: probes.length + 1, retries: plan.retries });
      const at = new Date().toISOString();
      const r = await runc.exec(id, argv, timeoutMs, PROBE_OUTPUT_BYTES);
      const output = (r.stdout + r.stderr).slice(0, PROBE_OUTPUT_BYTES);
      return { at, exitCode: r.timedOut ? -1 : r.code, durationMs: r.durationMs, output };
    },
    async mainExited() {
      const st = await procStat(main.pid);
      if (st && st.startTime === main.startTime && st.state !== 'Z') return null;
      const secs = ((performance.now() - main.startedAt) / 1000).toFixed(1);
      return `the main process exited ${secs} s after it started`;
    },
  };
  return runHealthcheck(plan, driver, deadline, probes);
}

async function procStat(pid: number): Promise<{ state: string; startTime: string } | null> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '', startTime: rest[19] ?? '' };
  } catch {
    return null;
  }
}

async function readHead(path: string, bytes: number): Promise<string> {
  try {
    const h = await open(path, 'r');
    try {
      const buf = Buffer.alloc(bytes);
      const { bytesRead } = await h.read(buf, 0, bytes, 0);
      return buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await h.close();
    }
  } catch {
    return '';
  }
}
