/**
 * The server's side of healthcheck runs: a bounded queue (`concurrency` at once), one runner
 * process per run (src/sandbox/runner-main.ts) under a hard wall-clock limit, and cleanup that
 * does not trust the runner to have done it: after every run, however it ended, the container
 * is deleted and the run's directory removed. At start, containers and directories a crashed
 * server left behind are swept by their name prefix.
 *
 * As a job (the jobs framework): `run()` is the job's body; the queue becomes the job queue
 * and the report its result.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setPriority } from 'node:os';
import { chmod, lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail } from '../errors.js';
import type { Logger } from '../util/log.js';
import { CONTAINER_PREFIX, Runc } from './runc.js';
import type { RunReport, RunRequest, RunStep } from './run.js';
import type { HealthcheckRunSettings } from './settings.js';
import { capped, lineSplitter, runTool } from './tools.js';
import type { ImageSource } from './unpack.js';

/** Host programs a run needs; a missing one stops the server at start. */
const TOOLS: readonly (readonly [string, string])[] = [
  ['runc', '--version'],
  ['umoci', '--version'],
  ['skopeo', '--version'],
  ['nsenter', '--version'],
  ['ip', '-V'],
];

/** Time the runner gets beyond the run's own limit to clean up and report. */
const GRACE_MS = 30_000;
/**
 * The runner's niceness, inherited by everything it starts (skopeo, umoci, runc, the container):
 * the server keeps the CPU first when a run competes with requests (docs/store.md "Cost to the
 * server").
 */
export const RUNNER_NICENESS = 10;
/** The runner's stdout kept: its steps and one report (every probe's output is capped). */
const MAX_RUNNER_OUTPUT = 4 * 1024 * 1024;
/** Runs waiting beyond this many are failed at once rather than queued. */
export const MAX_QUEUED = 64;

export interface RunnerOptions {
  readonly settings: HealthcheckRunSettings;
  /** The runner's own directory (`<data dir>/sandbox`): runc state and one folder per run. */
  readonly stateDir: string;
  readonly log: Logger;
}

export class HealthcheckRunner {
  private readonly runc: Runc;
  private readonly workRoot: string;
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly running = new Set<Promise<unknown>>();
  private readonly children = new Set<ChildProcess>();
  private stopped = false;

  constructor(private readonly o: RunnerOptions) {
    this.runc = new Runc(join(o.stateDir, 'runc'));
    this.workRoot = join(o.stateDir, 'work');
  }

  /** Checks the host programs, then removes what an earlier process left behind. */
  async start(): Promise<void> {
    for (const [tool, flag] of TOOLS) {
      const r = await runTool(tool, [flag], { timeoutMs: 30_000 });
      if (r.code !== 0)
        fail(
          'CONFIG_INVALID',
          `countersign.store.policy.runHealthcheck needs ${tool} on this host (${r.stderr.trim() || `exit ${r.code}`})`
        );
    }
    await prepareStateDir(this.o.stateDir);
    await mkdir(this.runc.root, { recursive: true, mode: 0o700 });
    await mkdir(this.workRoot, { recursive: true, mode: 0o711 });
    await chmod(this.workRoot, 0o711);
    await this.sweep();
  }

  /** Deletes every sandbox container and run directory (nothing may be running). */
  async sweep(): Promise<number> {
    const leftovers = (await this.runc.list()).filter((id) => id.startsWith(CONTAINER_PREFIX));
    for (const id of leftovers) await this.runc.remove(id);
    const dirs = await readdir(this.workRoot).catch(() => [] as string[]);
    for (const d of dirs) await rm(join(this.workRoot, d), { recursive: true, force: true });
    if (leftovers.length + dirs.length > 0)
      this.o.log.warn(
        { containers: leftovers, dirs: dirs.length },
        'removed leftovers of healthcheck runs'
      );
    return leftovers.length;
  }

  /**
   * Runs one platform of an image; resolves with a report, failed ones included. `onStep` hears
   * where the run is (pulling, unpacking, starting, which probe).
   */
  async run(
    source: ImageSource,
    platform: string,
    onStep: (s: RunStep) => void = () => {}
  ): Promise<RunReport> {
    if (this.waiting.length >= MAX_QUEUED)
      return {
        platform,
        passed: false,
        probes: [],
        reason: `more than ${MAX_QUEUED} runs are waiting; verify again later`,
      };
    await this.slot();
    if (this.stopped) {
      this.active--;
      return { platform, passed: false, probes: [], reason: 'the server stopped before the run' };
    }
    const p = this.runInProcess(source, platform, onStep);
    this.running.add(p);
    try {
      return await p;
    } finally {
      this.running.delete(p);
      this.active--;
      this.waiting.shift()?.();
    }
  }

  /** PIDs of the runner processes alive now (for operators' diagnostics and the crash test). */
  runnerPids(): number[] {
    return [...this.children].map((c) => c.pid).filter((pid): pid is number => pid !== undefined);
  }

  /**
   * Server shutdown: runs not started fail, runners in progress get SIGTERM (each removes its
   * container) and are waited for; cleanup here runs after each as always.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const child of this.children) child.kill('SIGTERM');
    await Promise.allSettled([...this.running]);
  }

  private slot(): Promise<void> {
    if (this.active < this.o.settings.concurrency) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.waiting.push(() => {
        this.active++;
        resolve();
      })
    );
  }

  private async runInProcess(
    source: ImageSource,
    platform: string,
    onStep: (s: RunStep) => void
  ): Promise<RunReport> {
    const containerId = `${CONTAINER_PREFIX}${randomBytes(8).toString('hex')}`;
    const workDir = join(this.workRoot, containerId);
    await mkdir(workDir, { mode: 0o711 });
    const req: RunRequest = {
      source,
      platform,
      containerId,
      workDir,
      runcRoot: this.runc.root,
      settings: this.o.settings,
    };
    try {
      const outcome = await this.spawnRunner(req, onStep);
      if (outcome.report) return outcome.report;
      this.o.log.error({ container: containerId, why: outcome.why }, 'healthcheck runner failed');
      return {
        platform,
        passed: false,
        probes: [],
        reason: `the sandbox runner stopped without a verdict (${outcome.why})`,
      };
    } finally {
      await this.runc.remove(containerId);
      await rm(workDir, { recursive: true, force: true });
    }
  }

  private spawnRunner(
    req: RunRequest,
    onStep: (s: RunStep) => void
  ): Promise<{ report?: RunReport; why: string }> {
    const script = fileURLToPath(new URL('./runner-main.js', import.meta.url));
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
      this.children.add(child);
      // Before it has read its request, so before it starts anything.
      if (child.pid !== undefined) setPriority(child.pid, RUNNER_NICENESS);
      let report: RunReport | undefined;
      const out = lineSplitter(MAX_RUNNER_OUTPUT, (line) => {
        const message = parseRunnerLine(line);
        if (message && 'report' in message) report = message.report;
        else if (message) onStep(message);
      });
      const err = capped(8 * 1024);
      child.stdout.on('data', out.push);
      child.stderr.on('data', err.push);
      const timer = setTimeout(() => child.kill('SIGKILL'), req.settings.timeoutMs + GRACE_MS);
      child.on('error', (e) => resolve({ why: e.message }));
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        this.children.delete(child);
        out.end();
        if (code === 0 && report && typeof report.passed === 'boolean')
          return resolve({ report, why: '' });
        resolve({
          why: signal ? `killed by ${signal}` : `exit ${code}: ${err.text().trim().slice(0, 300)}`,
        });
      });
      child.stdin.end(JSON.stringify(req));
    });
  }
}

/** One line of the runner's stdout: a step, the report, or null for anything else. */
function parseRunnerLine(line: string): RunStep | { report: RunReport } | null {
  try {
    const v = JSON.parse(line) as unknown;
    if (typeof v !== 'object' || v === null) return null;
    if ('report' in v) return v as { report: RunReport };
    if ('step' in v) return v as RunStep;
  } catch {
    // not a line of ours
  }
  return null;
}

/**
 * The container's root (an unprivileged host UID) must reach its rootfs inside this directory:
 * the directory is ours and traversable but not listable (0711), every parent traversable; a
 * directory someone else owns, or a link, is refused (we run as root: no planted paths).
 */
async function prepareStateDir(dir: string): Promise<void> {
  const abs = resolve(dir);
  await mkdir(abs, { recursive: true, mode: 0o711 });
  const st = await lstat(abs);
  const uid = process.getuid?.() ?? 0;
  if (!st.isDirectory() || st.uid !== uid)
    fail(
      'CONFIG_INVALID',
      `the sandbox directory ${abs} must be a directory owned by this user, not a link`
    );
  await chmod(abs, 0o711);
  for (let d = dirname(abs); ; d = dirname(d)) {
    const parent = await lstat(d);
    if ((parent.mode & 0o001) === 0)
      fail(
        'CONFIG_INVALID',
        `the sandbox directory ${abs} is inside ${d}, which others may not traverse (mode ${(parent.mode & 0o777).toString(8)}): the container's mapped root could not reach its rootfs; set runHealthcheck.workDir elsewhere`
      );
    if (d === dirname(d)) break;
  }
}
