/**
 * The re-signing scheduler (docs/interfaces.md "Expiry and re-signing"): wakes at least every
 * `intervalMs` (and exactly when the next role falls due), and on each wake-up (`tick`):
 *   1. takes or renews the single-instance lease (lease.ts); without it, only step 2 runs;
 *   2. brings the expiry index up to date (expiry-index.ts: changefeed, periodic rescan), which
 *      also feeds the gauges and the status routes on every instance;
 *   3. asks the re-signer of every role past its re-sign time to re-sign it, then reads that
 *      repository again; a failure is logged, counted and retried after `retryDelay`;
 *   4. logs a warning, once per role per day, for each role nobody re-signs that is expiring or
 *      expired (a producer's root, targets, delegation or snapshot; a store key without a store).
 * Tests call `tick(now)` directly with a ManualClock; `serve` calls `start()` and `stop()`.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Storage } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { DAY_MS } from '../util/duration.js';
import type { Logger } from '../util/log.js';
import type { ExpiryIndex, GunEntry } from './expiry-index.js';
import { effectiveExpiry } from './facts.js';
import { Lease } from './lease.js';
import type { FreshnessMetrics } from './metrics.js';
import type { ResignEvent, Resigner } from './resigner.js';
import { roleState } from './status.js';

export interface SchedulerOptions {
  readonly storage: Storage;
  readonly index: ExpiryIndex;
  readonly clock: Clock;
  readonly log: Logger;
  readonly intervalMs: number;
  readonly leaseTtlMs: number;
  readonly warnWithinMs: number;
  readonly metrics?: FreshnessMetrics;
  /** Lease holder name (default host/pid/random). */
  readonly holder?: string;
}

export interface TickResult {
  /** This instance held the lease, so it re-signed and warned. */
  readonly leader: boolean;
  readonly resigned: readonly ResignEvent[];
  readonly failed: readonly { gun: string; resigner: string; error: string }[];
  readonly warned: readonly { gun: string; role: string; state: string }[];
}

const WARN_EVERY_MS = DAY_MS;

export class FreshnessScheduler {
  readonly lease: Lease;
  private readonly listeners = new Set<(e: ResignEvent) => void>();
  /** GUN → epoch ms before which a failed re-sign is not tried again. */
  private readonly retryAt = new Map<string, number>();
  /** `gun\0role` → when its warning was last logged. */
  private readonly warnedAt = new Map<string, number>();
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly o: SchedulerOptions) {
    this.lease = new Lease(
      o.storage,
      o.holder ?? `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`,
      o.leaseTtlMs
    );
  }

  get index(): ExpiryIndex {
    return this.o.index;
  }

  addResigner(r: Resigner): void {
    this.o.index.addResigner(r);
  }

  /** Calls `listener` after every re-sign this instance makes (audit log, cache invalidation). */
  onResign(listener: (e: ResignEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts waking up on timers (idempotent). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops the timers, waits for a running tick and gives the lease up. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.chain;
    try {
      await this.lease.release();
    } catch (err) {
      this.o.log.warn(
        { err: message(err) },
        'could not release the scheduler lease; another instance takes over when it lapses'
      );
    }
    this.o.metrics?.leader(false);
  }

  /** One wake-up at `now`; ticks run one at a time. */
  tick(now: Date = this.o.clock.now()): Promise<TickResult> {
    const run = this.chain.then(() => this.doTick(now));
    this.chain = run.then(
      () => undefined,
      () => undefined
    );
    return run;
  }

  private async doTick(now: Date): Promise<TickResult> {
    const t = now.getTime();
    let leader = false;
    try {
      leader = await this.lease.acquire(now);
    } catch (err) {
      this.o.log.error({ err: message(err) }, 'cannot take the scheduler lease');
    }
    this.o.metrics?.leader(leader);
    await this.o.index.sync(now);
    const result = {
      leader,
      resigned: [] as ResignEvent[],
      failed: [] as TickResult['failed'][number][],
      warned: [] as TickResult['warned'][number][],
    };
    if (!leader) return result;
    for (const entry of [...this.o.index.all()]) {
      let e: GunEntry | undefined = entry;
      if (e.nextDue < t && (this.retryAt.get(e.gun) ?? -Infinity) <= t)
        e = await this.resignGun(e, now, result);
      if (e) this.warn(e, t, result);
    }
    for (const key of this.warnedAt.keys()) {
      if (!this.o.index.get(key.slice(0, key.indexOf('\u0000')))) this.warnedAt.delete(key);
    }
    return result;
  }

  private async resignGun(
    e: GunEntry,
    now: Date,
    result: { resigned: ResignEvent[]; failed: TickResult['failed'][number][] }
  ): Promise<GunEntry | undefined> {
    const t = now.getTime();
    let failed = false;
    for (const [name, planned] of e.plans) {
      const due = planned.filter((p) => p.resignAt < t);
      const resigner = this.o.index.resigner(name);
      if (due.length === 0 || !resigner) continue;
      try {
        const written = await resigner.resign({ gun: e.gun, now, planned, due });
        if (written.length === 0) continue;
        const event: ResignEvent = { gun: e.gun, resigner: name, written, at: now };
        result.resigned.push(event);
        for (const w of written) this.o.metrics?.resigned(name, w.role);
        this.o.log.info(
          { gun: e.gun, resigner: name, files: written.map((w) => `${w.role} v${w.version}`) },
          'metadata re-signed before expiry'
        );
        for (const listener of this.listeners) {
          try {
            listener(event);
          } catch (err) {
            this.o.log.error({ gun: e.gun, err: message(err) }, 're-sign listener failed');
          }
        }
      } catch (err) {
        failed = true;
        result.failed.push({ gun: e.gun, resigner: name, error: message(err) });
        this.o.metrics?.failed(name);
        this.o.log.error(
          { gun: e.gun, resigner: name, roles: due.map((d) => d.role), err: message(err) },
          're-sign failed; will retry'
        );
      }
    }
    const after = await this.o.index.refresh(e.gun);
    // Still due right after re-signing means it cannot be re-signed now: wait before retrying.
    if (failed || (after && after.nextDue < t)) this.retryAt.set(e.gun, t + this.retryDelay());
    else this.retryAt.delete(e.gun);
    return after;
  }

  private warn(e: GunEntry, t: number, result: { warned: TickResult['warned'][number][] }): void {
    for (const r of e.roles) {
      if (r.managedBy !== undefined) continue;
      const key = `${e.gun}\u0000${r.role}`;
      const state = roleState(r, t, this.o.warnWithinMs);
      if (state === 'valid') {
        this.warnedAt.delete(key);
        continue;
      }
      const last = this.warnedAt.get(key);
      if (last !== undefined && t - last < WARN_EVERY_MS) continue;
      this.warnedAt.set(key, t);
      result.warned.push({ gun: e.gun, role: r.role, state });
      this.o.log.warn(
        {
          gun: e.gun,
          role: r.role,
          version: r.version,
          expires: r.expiresText,
          keyHolder: r.keyHolder,
          secondsLeft: Math.floor((effectiveExpiry(r) - t) / 1000),
          ...(r.certificatesExpire
            ? { certificatesExpire: r.certificatesExpire.toISOString() }
            : {}),
        },
        `${r.role} of ${e.gun} ${state === 'expired' ? 'has expired' : 'expires soon'} and the server does not re-sign it: ${renewalAdvice(r.role, e.gun)}`
      );
    }
  }

  private retryDelay(): number {
    return Math.min(300_000, 10 * this.o.intervalMs);
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.loop();
    }, delayMs);
    this.timer.unref();
  }

  private async loop(): Promise<void> {
    try {
      await this.tick(this.o.clock.now());
    } catch (err) {
      this.o.log.error({ err: message(err) }, 'scheduler wake-up failed');
    }
    if (this.running) this.schedule(this.nextDelay());
  }

  /** Until the next wake-up: the interval, or sooner when this leader has a role falling due. */
  private nextDelay(): number {
    const now = this.o.clock.now().getTime();
    let wake = now + this.o.intervalMs;
    if (this.lease.held) {
      for (const e of this.o.index.all()) {
        const at = Math.max(e.nextDue, this.retryAt.get(e.gun) ?? -Infinity) + 1;
        if (at < wake) wake = at;
      }
    }
    return Math.max(10, Math.min(this.o.intervalMs, wake - now));
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * What renews a role the server cannot re-sign. Root, targets and a client-held snapshot are
 * signed by the repository's owner, who publishes a new version. A timestamp never is: Notary
 * clients do not hold timestamp keys, so a timestamp the server cannot re-sign means the server
 * lacks the key (a repository whose timestamp key stayed in notary-signer, say). Then either
 * the owner moves the timestamp key to this server with the root key, or the operator imports
 * the server keys from notary-signer.
 */
export function renewalAdvice(role: string, gun: string): string {
  if (role !== 'timestamp') return 'its owner must publish a new version';
  return (
    `the server does not hold its timestamp key; the owner can rotate it to the server with the root key ` +
    `(notary key rotate ${gun} timestamp -r), or the operator can import the server keys ` +
    `(countersign import-notary --signer-db, docs/migrate.md)`
  );
}
