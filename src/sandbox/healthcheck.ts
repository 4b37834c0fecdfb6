/**
 * Docker's HEALTHCHECK semantics (moby daemon/health.go), independent of how a probe is run:
 *
 * - `Test`: `["CMD", arg…]` runs the arguments, `["CMD-SHELL", cmd]` runs `/bin/sh -c cmd`,
 *   `["NONE"]` (or nothing) means no health check;
 * - timings in nanoseconds in the image config, 0 meaning the default: interval 30 s,
 *   timeout 30 s, retries 3, start period 0;
 * - the first probe runs one interval after the start, each next one an interval after the
 *   previous one ended; a probe that outlives its timeout failed;
 * - a failure inside the start period does not count, a success there counts;
 * - healthy on the first success; unhealthy after `retries` counted failures in a row.
 *
 * On top, as the review needs it: the main process exiting, or the run's deadline, ends it failed.
 */
import type { ProbeOverrides } from './settings.js';

export const DOCKER_DEFAULTS = {
  intervalMs: 30_000,
  timeoutMs: 30_000,
  retries: 3,
  startPeriodMs: 0,
} as const;

/** Docker keeps this much of a probe's output; so do we. */
export const PROBE_OUTPUT_BYTES = 4096;

export interface HealthcheckPlan {
  /** The argv to exec inside the container. */
  readonly argv: readonly string[];
  /** The image's Test as declared, for the report. */
  readonly test: readonly string[];
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly startPeriodMs: number;
}

/** The plan for an image config's `Healthcheck`, or a reason why there is nothing to run. */
export function planHealthcheck(
  healthcheck: unknown,
  overrides: ProbeOverrides
): HealthcheckPlan | { readonly none: string } {
  if (typeof healthcheck !== 'object' || healthcheck === null)
    return { none: 'the image declares no HEALTHCHECK' };
  const hc = healthcheck as Record<string, unknown>;
  const test = hc.Test;
  if (!Array.isArray(test) || test.length === 0 || !test.every((t) => typeof t === 'string'))
    return { none: 'the image declares no HEALTHCHECK' };
  const [kind, ...rest] = test;
  let argv: string[];
  if (kind === 'NONE') return { none: 'the image disables its health check (HEALTHCHECK NONE)' };
  if (kind === 'CMD' && rest.length > 0) argv = rest;
  else if (kind === 'CMD-SHELL' && rest.length === 1) argv = ['/bin/sh', '-c', rest[0]!];
  else return { none: `the HEALTHCHECK ${JSON.stringify(test)} is not CMD or CMD-SHELL form` };
  const fromImage = (field: string, fallback: number) => {
    const ns = hc[field];
    return typeof ns === 'number' && Number.isFinite(ns) && ns > 0
      ? Math.ceil(ns / 1_000_000)
      : fallback;
  };
  const retries = hc.Retries;
  return {
    argv,
    test: test,
    intervalMs: overrides.intervalMs ?? fromImage('Interval', DOCKER_DEFAULTS.intervalMs),
    timeoutMs: overrides.timeoutMs ?? fromImage('Timeout', DOCKER_DEFAULTS.timeoutMs),
    retries:
      overrides.retries ??
      (typeof retries === 'number' && Number.isSafeInteger(retries) && retries > 0
        ? retries
        : DOCKER_DEFAULTS.retries),
    startPeriodMs:
      overrides.startPeriodMs ?? fromImage('StartPeriod', DOCKER_DEFAULTS.startPeriodMs),
  };
}

export interface ProbeResult {
  /** ISO 8601 start of the probe. */
  readonly at: string;
  /** Exit status; -1 when it timed out or could not be run. */
  readonly exitCode: number;
  readonly durationMs: number;
  /** The first PROBE_OUTPUT_BYTES of stdout and stderr together. */
  readonly output: string;
  /** Inside the start period: a failure here does not count. */
  readonly inStartPeriod: boolean;
}

export type HealthVerdict =
  | { readonly healthy: true; readonly reason: string }
  | { readonly healthy: false; readonly reason: string };

/** What the loop needs from the container and from time (real ones in src/sandbox/run.ts). */
export interface ProbeDriver {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Runs the probe once within `timeoutMs`; exitCode -1 on a timeout. */
  probe(argv: readonly string[], timeoutMs: number): Promise<Omit<ProbeResult, 'inStartPeriod'>>;
  /** null while the main process runs, else a sentence on how it ended. */
  mainExited(): Promise<string | null>;
}

/**
 * Runs the plan until a verdict; `deadline` (on the driver's clock) ends it failed. Every probe
 * is pushed to `probes` as it ends, so a caller that gives up early still has them.
 */
export async function runHealthcheck(
  plan: HealthcheckPlan,
  driver: ProbeDriver,
  deadline: number,
  probes: ProbeResult[]
): Promise<HealthVerdict> {
  const started = driver.now();
  let failures = 0;
  for (;;) {
    const exited = await waitOrExit(driver, plan.intervalMs, deadline);
    if (exited) return { healthy: false, reason: exited };
    const inStartPeriod = driver.now() - started < plan.startPeriodMs;
    const timeoutMs = Math.max(1, Math.min(plan.timeoutMs, deadline - driver.now()));
    const result = { ...(await driver.probe(plan.argv, timeoutMs)), inStartPeriod };
    probes.push(result);
    // The main process may have died while the probe ran; a success then does not count.
    const exitedDuring = await driver.mainExited();
    if (exitedDuring) return { healthy: false, reason: exitedDuring };
    if (result.exitCode === 0) return { healthy: true, reason: `probe ${probes.length} succeeded` };
    if (!inStartPeriod) failures++;
    if (failures >= plan.retries)
      return {
        healthy: false,
        reason: `unhealthy: ${failures} probe(s) in a row failed (retries ${plan.retries}), the last with ${describeExit(result)}`,
      };
  }
}

/** Waits `ms`, checking the main process; a reason when it exited or the deadline passed. */
async function waitOrExit(
  driver: ProbeDriver,
  ms: number,
  deadline: number
): Promise<string | null> {
  const until = driver.now() + ms;
  for (;;) {
    const exited = await driver.mainExited();
    if (exited) return exited;
    const now = driver.now();
    if (now >= deadline) return 'the run timed out before the health check passed';
    if (now >= until) return null;
    await driver.sleep(Math.min(250, until - now, deadline - now));
  }
}

export function describeExit(p: Pick<ProbeResult, 'exitCode' | 'durationMs'>): string {
  return p.exitCode === -1 ? `a timeout after ${p.durationMs} ms` : `exit status ${p.exitCode}`;
}
