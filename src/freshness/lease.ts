/**
 * One scheduler at a time across every instance sharing a database: a lease row in `settings`,
 * `{"holder": ID, "until": epoch ms}`, taken or renewed inside a storage transaction (serialized
 * with every other writer on both backends: BEGIN IMMEDIATE on SQLite, the exclusive writers'
 * advisory lock on PostgreSQL), so two instances can never both take a free lease.
 *
 * Why a row and not a PostgreSQL session advisory lock: it works unchanged on SQLite (several
 * processes on one file) and on PostgreSQL, needs no connection held open for ever, and a holder
 * that dies (crash, lost network) loses it after `ttlMs` without anybody noticing a socket.
 *
 * The lease is an efficiency measure, not what keeps re-signs single: every re-sign runs in the
 * GUN's locked transaction and re-reads what is due there. If clocks disagree or a holder stalls
 * past its lease, two schedulers may briefly both run, and still only one new version is made.
 *
 * Renewal writes (and so empties every instance's read cache) at most once per third of `ttlMs`;
 * checking a lease someone else holds is one read.
 */
import type { Storage } from '../storage/types.js';

export const LEASE_SETTING = 'freshness.scheduler.lease';

interface LeaseValue {
  readonly holder: string;
  readonly until: number;
}

export class Lease {
  /** End of the lease as this holder last wrote it; 0 when it does not hold it. */
  private until = 0;

  constructor(
    private readonly storage: Storage,
    readonly holder: string,
    private readonly ttlMs: number
  ) {}

  /** Whether this holder holds the lease at `now` (taking or renewing it when it can). */
  async acquire(now: Date): Promise<boolean> {
    const t = now.getTime();
    if (this.until - t > (2 * this.ttlMs) / 3) return true;
    const seen = parse(await this.storage.settings.get(LEASE_SETTING));
    if (seen && seen.holder !== this.holder && seen.until > t) {
      this.until = 0;
      return false;
    }
    const until = t + this.ttlMs;
    const got = await this.storage.transaction(async (tx) => {
      const current = parse(await tx.settings.get(LEASE_SETTING));
      if (current && current.holder !== this.holder && current.until > t) return false;
      await tx.settings.put(
        LEASE_SETTING,
        JSON.stringify({ holder: this.holder, until } satisfies LeaseValue)
      );
      return true;
    });
    this.until = got ? until : 0;
    return got;
  }

  /** Whether it held the lease when last asked (no I/O). */
  get held(): boolean {
    return this.until > 0;
  }

  /** Gives the lease up (on shutdown), so another instance takes over at its next wake-up. */
  async release(): Promise<void> {
    if (this.until === 0) return;
    this.until = 0;
    await this.storage.transaction(async (tx) => {
      const current = parse(await tx.settings.get(LEASE_SETTING));
      if (current?.holder === this.holder)
        await tx.settings.put(
          LEASE_SETTING,
          JSON.stringify({ holder: '', until: 0 } satisfies LeaseValue)
        );
    });
  }
}

function parse(text: string | null): LeaseValue | undefined {
  if (text === null) return undefined;
  try {
    const v = JSON.parse(text) as Partial<LeaseValue>;
    return typeof v.holder === 'string' && typeof v.until === 'number'
      ? { holder: v.holder, until: v.until }
      : undefined;
  } catch {
    return undefined;
  }
}
