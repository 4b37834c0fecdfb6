/**
 * `countersign.store.policy.runHealthcheck` (docs/store.md "Health checks run in a sandbox"):
 * `true` for every default, or an object of limits and probe-timing overrides. The schema
 * (src/config/schema.ts) has already checked types and ranges; this fills in the defaults.
 */
import { createHash } from 'node:crypto';
import { fail } from '../errors.js';
import { parseDuration } from '../util/duration.js';

/** Docker's HEALTHCHECK timings; each absent one falls back to the image's, then Docker's default. */
export interface ProbeOverrides {
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  readonly retries?: number;
  readonly startPeriodMs?: number;
}

export interface SandboxLimits {
  readonly memoryBytes: number;
  /** CPUs, as a CFS quota over a 100 ms period. */
  readonly cpus: number;
  readonly pids: number;
  /** Size of each writable tmpfs. */
  readonly diskBytes: number;
}

export interface HealthcheckRunSettings {
  /** Wall-clock limit of one run, pull and unpack included. */
  readonly timeoutMs: number;
  readonly limits: SandboxLimits;
  /** Largest compressed image the run pulls and unpacks. */
  readonly maxImageBytes: number;
  readonly probe: ProbeOverrides;
  readonly concurrency: number;
  /** First host UID/GID of the container's user namespace (65536 IDs). */
  readonly uidBase: number;
  /** Runc state and run directories (absolute); undefined = beside the data dir's hash in /var/tmp. */
  readonly workDir?: string;
}

const MIB = 1024 * 1024;

/** The settings, or undefined when the check is off (absent, null or false). */
export function parseRunHealthcheck(
  value: unknown,
  key: string,
  resolvePath: (p: string) => string = (p) => p
): HealthcheckRunSettings | undefined {
  if (value === undefined || value === null || value === false) return undefined;
  const o: Record<string, unknown> = value === true ? {} : asObject(value, key);
  const probe = o.probe === undefined || o.probe === null ? {} : asObject(o.probe, `${key}.probe`);
  const ms = (v: unknown, k: string) =>
    v === undefined || v === null
      ? undefined
      : parseDuration(typeof v === 'string' ? v : JSON.stringify(v), `${key}.${k}`);
  const overrides: ProbeOverrides = {
    ...defined('intervalMs', ms(probe.interval, 'probe.interval')),
    ...defined('timeoutMs', ms(probe.timeout, 'probe.timeout')),
    ...defined('retries', probe.retries as number | undefined),
    ...defined('startPeriodMs', ms(probe.startPeriod, 'probe.startPeriod')),
  };
  const timeoutMs = ms(o.timeout, 'timeout') ?? 120_000;
  if (timeoutMs < 5_000) fail('CONFIG_INVALID', `${key}.timeout must be at least 5s`);
  return {
    timeoutMs,
    limits: {
      memoryBytes: num(o.memoryMiB, 256) * MIB,
      cpus: num(o.cpus, 0.5),
      pids: num(o.pids, 64),
      diskBytes: num(o.diskMiB, 16) * MIB,
    },
    maxImageBytes: num(o.maxImageMiB, 1024) * MIB,
    probe: overrides,
    concurrency: num(o.concurrency, 1),
    uidBase: num(o.uidBase, 1_000_000_000),
    ...(typeof o.workDir === 'string' && o.workDir !== ''
      ? { workDir: resolvePath(o.workDir) }
      : {}),
  };
}

function asObject(value: unknown, key: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail('CONFIG_INVALID', `${key} must be true, false or an object`);
  return value as Record<string, unknown>;
}

function num(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}

function defined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}

/** The default work directory of a server whose data dir is `dataDir` (absolute). */
export function defaultWorkDir(dataDir: string): string {
  return `/var/tmp/countersign-sandbox-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`;
}
