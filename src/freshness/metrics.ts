/**
 * Freshness metrics on the server's Prometheus registry (src/metrics/metrics.ts):
 *
 * - `countersign_metadata_seconds_until_expiry{gun,role}`: seconds until each top-level role
 *   (root, targets, snapshot, timestamp) of each repository expires, negative once expired; a
 *   root counts its certificates' expiry too. Computed at scrape time from the scheduler's
 *   in-memory index, so it is exact to the second without a query per scrape. Cardinality: four
 *   series per repository, delegations never; a deleted repository's series go with it. Above
 *   `maxGaugeRepositories` repositories only roles that are expiring or expired are exported.
 *   Only repositories `exposeGun` accepts get series: `/metrics` is anonymous, so only public
 *   repositories anonymous clients may pull are named there (src/auth/setup.ts
 *   `metricsMayName`).
 * - `countersign_metadata_unlisted_roles{state}`: how many top-level roles of the repositories
 *   left out above are `expiring` or `expired` (both series always present), so an alert still
 *   fires for them without naming them; `countersign expiring` and the store API's status
 *   routes, behind accounts, say which.
 * - `countersign_resigns_total{resigner,role}`: files this instance re-signed.
 * - `countersign_resign_failures_total{resigner}`: re-sign attempts that failed.
 * - `countersign_scheduler_leader`: 1 while this instance holds the scheduler lease.
 */
import { collectedGauge, counter, gauge, type MetricsRegistry } from '../metrics/metrics.js';
import type { Clock } from '../util/clock.js';
import { effectiveExpiry } from './facts.js';
import type { ExpiryIndex } from './expiry-index.js';
import { roleState } from './status.js';

const TOP_LEVEL = new Set(['root', 'targets', 'snapshot', 'timestamp']);

export interface FreshnessMetrics {
  resigned(resigner: string, role: string): void;
  failed(resigner: string): void;
  leader(isLeader: boolean): void;
}

export function freshnessMetrics(
  registry: MetricsRegistry,
  o: {
    index: ExpiryIndex;
    clock: Clock;
    warnWithinMs: number;
    maxGaugeRepositories: number;
    exposeGun: (gun: string) => boolean;
  }
): FreshnessMetrics {
  collectedGauge(registry, {
    name: 'countersign_metadata_seconds_until_expiry',
    help: 'Seconds until each top-level role of each repository expires (negative once expired).',
    labelNames: ['gun', 'role'],
    collect(emit) {
      const now = o.clock.now().getTime();
      const all = o.index.size <= o.maxGaugeRepositories;
      for (const e of o.index.all()) {
        if (!o.exposeGun(e.gun)) continue;
        for (const r of e.roles) {
          if (!TOP_LEVEL.has(r.role)) continue;
          if (!all && roleState(r, now, o.warnWithinMs) === 'valid') continue;
          emit({ gun: e.gun, role: r.role }, Math.floor((effectiveExpiry(r) - now) / 1000));
        }
      }
    },
  });
  collectedGauge(registry, {
    name: 'countersign_metadata_unlisted_roles',
    help: 'Top-level roles expiring or expired in repositories /metrics does not name, by state.',
    labelNames: ['state'],
    collect(emit) {
      const now = o.clock.now().getTime();
      const counts = { expiring: 0, expired: 0 };
      for (const e of o.index.all()) {
        if (o.exposeGun(e.gun)) continue;
        for (const r of e.roles) {
          if (!TOP_LEVEL.has(r.role)) continue;
          const state = roleState(r, now, o.warnWithinMs);
          if (state !== 'valid') counts[state]++;
        }
      }
      emit({ state: 'expiring' }, counts.expiring);
      emit({ state: 'expired' }, counts.expired);
    },
  });
  const resigns = counter(registry, {
    name: 'countersign_resigns_total',
    help: 'Metadata files this instance re-signed before they expired, by re-signer and role.',
    labelNames: ['resigner', 'role'],
  });
  const failures = counter(registry, {
    name: 'countersign_resign_failures_total',
    help: 'Re-sign attempts that failed, by re-signer.',
    labelNames: ['resigner'],
  });
  const leader = gauge(registry, {
    name: 'countersign_scheduler_leader',
    help: '1 while this instance holds the re-signing scheduler lease.',
  });
  leader.set(0);
  return {
    resigned: (resigner, role) => resigns.inc({ resigner, role }),
    failed: (resigner) => failures.inc({ resigner }),
    leader: (isLeader) => leader.set(isLeader ? 1 : 0),
  };
}
