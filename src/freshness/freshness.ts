/**
 * Freshness, assembled: settings, the expiry index, the scheduler with the snapshot/timestamp
 * re-signer registered, and its metrics. The composition root builds one; `serve` starts it.
 */
import type { MetricsRegistry } from '../metrics/metrics.js';
import type { ExpiryPolicy } from '../notary/expiry.js';
import type { NotaryCaches } from '../notary/caches.js';
import type { RefreshDeps } from '../notary/refresh.js';
import type { Signer } from '../signer/types.js';
import type { Storage } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { schedulerSettings, type SchedulerConfig, type SchedulerSettings } from './config.js';
import { ExpiryIndex } from './expiry-index.js';
import { freshnessMetrics } from './metrics.js';
import { FreshnessScheduler } from './scheduler.js';
import { ServerMetadataResigner } from './server-resigner.js';

export interface Freshness {
  readonly settings: SchedulerSettings;
  readonly index: ExpiryIndex;
  readonly scheduler: FreshnessScheduler;
  /** Starts the scheduler unless `countersign.scheduler.enabled` is false. */
  start(): void;
  stop(): Promise<void>;
}

export interface FreshnessDeps {
  readonly storage: Storage;
  readonly signer: Signer;
  readonly expiry: ExpiryPolicy;
  /** The app's parsed files, checked roots and imported keys (src/notary/caches.ts). */
  readonly caches: NotaryCaches;
  readonly clock: Clock;
  readonly log: Logger;
  /** The server's Prometheus registry (src/metrics/metrics.ts). */
  readonly registry?: MetricsRegistry;
  /**
   * Whether a GUN may appear as a metrics label: anonymous `/metrics` must not name repositories
   * an anonymous client could not read. Default: none does.
   */
  readonly exposeGun?: (gun: string) => boolean;
  /** Runs inside each snapshot/timestamp re-sign's transaction (the audit log's entry). */
  readonly onServerResigned?: RefreshDeps['onResigned'];
}

export function createFreshness(config: SchedulerConfig, deps: FreshnessDeps): Freshness {
  const settings = schedulerSettings(config);
  const log = deps.log.child({ component: 'freshness' });
  const index = new ExpiryIndex({
    storage: deps.storage,
    signer: deps.signer,
    policy: deps.expiry,
    parsed: deps.caches.parsed,
    rescanMs: settings.rescanMs,
    log,
  });
  const metrics = deps.registry
    ? freshnessMetrics(deps.registry, {
        index,
        clock: deps.clock,
        warnWithinMs: settings.warnWithinMs,
        maxGaugeRepositories: settings.maxGaugeRepositories,
        exposeGun: deps.exposeGun ?? (() => false),
      })
    : undefined;
  const scheduler = new FreshnessScheduler({
    storage: deps.storage,
    index,
    clock: deps.clock,
    log,
    intervalMs: settings.intervalMs,
    leaseTtlMs: settings.leaseTtlMs,
    warnWithinMs: settings.warnWithinMs,
    ...(metrics ? { metrics } : {}),
  });
  scheduler.addResigner(
    new ServerMetadataResigner({
      storage: deps.storage,
      signer: deps.signer,
      expiry: deps.expiry,
      caches: deps.caches,
      ...(deps.onServerResigned ? { onResigned: deps.onServerResigned } : {}),
    })
  );
  return {
    settings,
    index,
    scheduler,
    start() {
      if (settings.enabled) scheduler.start();
    },
    stop: () => scheduler.stop(),
  };
}
