/**
 * `countersign.scheduler` (docs/freshness.md): whether this instance runs the re-signing
 * scheduler, and the timings derived from `countersign.expiry`. Read from the raw `countersign`
 * section here, next to the only code that uses it.
 */
import type { Config } from '../config/types.js';
import { fail } from '../errors.js';
import { DEFAULT_LIFETIMES } from '../notary/expiry.js';
import { DAY_MS, parseDuration } from '../util/duration.js';

export interface SchedulerSettings {
  /** `countersign.scheduler.enabled` (default true): `serve` starts the scheduler. */
  readonly enabled: boolean;
  /** How often the scheduler wakes at most apart: min(60 s, shortest lifetime / 10), or `intervalMs` if smaller. */
  readonly intervalMs: number;
  /** `countersign.scheduler.warnWithin` (default 30d): roles nobody re-signs are logged and flagged from here on. */
  readonly warnWithinMs: number;
  /** How often every repository is looked at again, besides following the changefeed. */
  readonly rescanMs: number;
  /** How long the single-instance lease lasts unless renewed. */
  readonly leaseTtlMs: number;
  /**
   * `countersign.scheduler.maxGaugeRepositories` (default 10 000): above this many repositories
   * the expiry gauge only carries roles that are expiring or expired.
   */
  readonly maxGaugeRepositories: number;
}

/**
 * What the settings are derived from. `rootLifetimeMs` is the store's public root lifetime, when
 * a store is configured: its roots are re-signed by the scheduler too.
 */
export type SchedulerConfig = Pick<Config, 'expiry' | 'countersign'> & {
  readonly rootLifetimeMs?: number;
};

const MAX_INTERVAL_MS = 60_000;
const MIN_INTERVAL_MS = 10;

export function schedulerSettings(config: SchedulerConfig): SchedulerSettings {
  const raw = config.countersign.scheduler;
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
    fail('CONFIG_INVALID', 'countersign.scheduler must be an object');
  }
  const s = (raw ?? {}) as Record<string, unknown>;
  const enabled = s.enabled ?? true;
  if (typeof enabled !== 'boolean')
    fail('CONFIG_INVALID', 'countersign.scheduler.enabled must be true or false');
  const floor = s.intervalMs;
  if (
    floor !== undefined &&
    (typeof floor !== 'number' || !Number.isSafeInteger(floor) || floor < MIN_INTERVAL_MS)
  ) {
    fail(
      'CONFIG_INVALID',
      `countersign.scheduler.intervalMs must be an integer of at least ${MIN_INTERVAL_MS}`
    );
  }
  if (s.warnWithin !== undefined && typeof s.warnWithin !== 'string')
    fail('CONFIG_INVALID', 'countersign.scheduler.warnWithin must be a DURATION such as 30d');
  const warnWithin =
    s.warnWithin === undefined
      ? 30 * DAY_MS
      : parseDuration(s.warnWithin, 'countersign.scheduler.warnWithin');
  const maxGauge = s.maxGaugeRepositories ?? 10_000;
  if (typeof maxGauge !== 'number' || !Number.isSafeInteger(maxGauge) || maxGauge < 0) {
    fail(
      'CONFIG_INVALID',
      'countersign.scheduler.maxGaugeRepositories must be a non-negative integer'
    );
  }
  let intervalMs = Math.max(
    MIN_INTERVAL_MS,
    Math.min(
      MAX_INTERVAL_MS,
      Math.floor(Math.min(shortestLifetime(config.expiry), config.rootLifetimeMs ?? Infinity) / 10)
    )
  );
  if (typeof floor === 'number') intervalMs = Math.min(intervalMs, floor);
  return {
    enabled,
    intervalMs,
    warnWithinMs: warnWithin,
    // The changefeed already tells about every write; the rescan is a backstop, so it may be rare.
    rescanMs: Math.max(15 * 60_000, intervalMs),
    // Three wake-ups: a leader that misses one tick (a long GC pause, a slow database) keeps it.
    leaseTtlMs: Math.min(90_000, Math.max(1_000, 3 * intervalMs)),
    maxGaugeRepositories: maxGauge,
  };
}

/** The shortest lifetime the policy gives anything the server signs (base and every prefix override). */
export function shortestLifetime(expiry: Config['expiry']): number {
  const all: number[] = [
    expiry.timestamp ?? DEFAULT_LIFETIMES.timestamp,
    expiry.snapshot ?? DEFAULT_LIFETIMES.snapshot,
    expiry.targets ?? DEFAULT_LIFETIMES.targets,
  ];
  for (const p of Object.values(expiry.gunPrefixes ?? {})) {
    for (const v of [p.timestamp, p.snapshot, p.targets]) if (v !== undefined) all.push(v);
  }
  return Math.min(...all);
}
