/**
 * Lifetimes of what the server signs (docs/interfaces.md "Expiry and re-signing"): timestamp 14 days,
 * snapshot and store-signed targets 1095 days by default, overridable per GUN prefix (the
 * longest prefix wins), and the fraction of a lifetime left below which the server re-signs.
 */
import { DAY_MS } from '../util/duration.js';

export interface Lifetimes {
  readonly timestamp: number;
  readonly snapshot: number;
  readonly targets: number;
}

export interface ExpiryPolicy {
  lifetimes(gun: string): Lifetimes;
  /** Re-sign once less than this fraction of the lifetime is left (0 < f < 1). */
  readonly resignBefore: number;
}

export const DEFAULT_LIFETIMES: Lifetimes = {
  timestamp: 14 * DAY_MS,
  snapshot: 1095 * DAY_MS,
  targets: 1095 * DAY_MS,
};

export function expiryPolicy(
  opts: {
    base?: Partial<Lifetimes>;
    resignBefore?: number;
    gunPrefixes?: Record<string, Partial<Lifetimes>>;
  } = {}
): ExpiryPolicy {
  const base: Lifetimes = { ...DEFAULT_LIFETIMES, ...defined(opts.base) };
  const prefixes = Object.entries(opts.gunPrefixes ?? {})
    .map(([p, l]) => [p, defined(l)] as const)
    .sort((a, b) => b[0].length - a[0].length);
  return {
    resignBefore: opts.resignBefore ?? 0.5,
    lifetimes(gun) {
      const hit = prefixes.find(([p]) => gun.startsWith(p));
      return hit ? { ...base, ...hit[1] } : base;
    },
  };
}

/** Drops undefined members, so an unset lifetime never overrides a default. */
function defined(l: Partial<Lifetimes> | undefined): Partial<Lifetimes> {
  return Object.fromEntries(Object.entries(l ?? {}).filter(([, v]) => v !== undefined));
}
