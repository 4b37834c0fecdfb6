/**
 * The in-memory picture of every repository's expiry: its roles (facts.ts), which re-signer
 * manages each and when it falls due, and the earliest such moment per repository ("next due").
 *
 * Kept current without re-reading every repository on every wake-up:
 * - when the storage generation has not moved, nothing was written and nothing is read;
 * - otherwise the changefeed since the last change seen names the repositories written (every
 *   write adds a timestamp, every delete a deletion record), and only those are read again;
 * - every `rescanMs` all repositories are listed again, re-reading only those whose current
 *   timestamp differs from the one their facts came from (a backstop, and how the first scan
 *   happens).
 */
import { isCountersignError } from '../errors.js';
import type { ExpiryPolicy } from '../notary/expiry.js';
import type { Signer } from '../signer/types.js';
import type { Storage } from '../storage/types.js';
import type { Logger } from '../util/log.js';
import type { ParsedMetadata } from '../notary/parsed.js';
import { readGunFacts, type GunFacts, type RoleFacts } from './facts.js';
import type { KeyHolder, PlannedRole, Resigner } from './resigner.js';

/** A role as status and the scheduler see it. */
export interface RoleView extends RoleFacts {
  readonly keyHolder: KeyHolder;
  /** The re-signer that keeps it fresh; absent when nobody does (the producer must). */
  readonly managedBy?: string;
  /** Epoch ms after which it is due for re-signing (managed roles only). */
  readonly resignAt?: number;
}

export interface GunEntry {
  readonly gun: string;
  readonly stateId: string;
  /** What the roles were planned from. */
  readonly facts: GunFacts;
  readonly roles: readonly RoleView[];
  /** Planned roles grouped by re-signer name. */
  readonly plans: ReadonlyMap<string, readonly PlannedRole[]>;
  /** The earliest `resignAt` of any managed role; Infinity when none. */
  readonly nextDue: number;
}

export interface ExpiryIndexOptions {
  readonly storage: Storage;
  readonly signer: Signer;
  readonly policy: ExpiryPolicy;
  /** The app's parsed files (src/notary/caches.ts). */
  readonly parsed: ParsedMetadata;
  readonly rescanMs: number;
  readonly log: Logger;
}

const PAGE = 500;
/** Past this many repositories named by the changefeed, one rescan is cheaper than reading each. */
const MAX_INCREMENTAL = 5_000;

export class ExpiryIndex {
  private readonly entries = new Map<string, GunEntry>();
  private readonly resigners: Resigner[] = [];
  private generation: number | undefined;
  private lastChangeId = 0;
  private lastScan = -Infinity;
  private running: Promise<void> | undefined;

  constructor(private readonly o: ExpiryIndexOptions) {}

  /** Registers a re-signer; every repository is planned again (no I/O). */
  addResigner(r: Resigner): void {
    if (this.resigners.some((x) => x.name === r.name))
      throw new Error(`a re-signer named ${r.name} is already registered`);
    this.resigners.push(r);
    for (const e of this.entries.values()) this.entries.set(e.gun, this.plan(e.facts));
  }

  resigner(name: string): Resigner | undefined {
    return this.resigners.find((r) => r.name === name);
  }

  get size(): number {
    return this.entries.size;
  }

  get(gun: string): GunEntry | undefined {
    return this.entries.get(gun);
  }

  all(): IterableIterator<GunEntry> {
    return this.entries.values();
  }

  /** Whether a first scan has happened (before it the index knows nothing). */
  get scanned(): boolean {
    return this.lastScan > -Infinity;
  }

  /** Brings the index up to date with storage; concurrent callers share one run. */
  sync(now: Date): Promise<void> {
    this.running ??= this.doSync(now.getTime()).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /**
   * Reads one repository again (after a re-sign, for a status request); undefined when it has no
   * trust data. Stored files that do not parse keep the previous picture (logged); a storage
   * failure is thrown, so a sync that meets one is retried from where it was.
   */
  async refresh(gun: string): Promise<GunEntry | undefined> {
    let facts: GunFacts | null;
    try {
      facts = await readGunFacts(this.o.storage.meta, this.o.signer, gun, this.o.parsed);
    } catch (err) {
      if (!(isCountersignError(err) && err.code.startsWith('META_'))) throw err;
      this.o.log.warn({ gun, err: err.message }, 'cannot read repository metadata for expiry');
      return this.entries.get(gun);
    }
    if (!facts) {
      this.entries.delete(gun);
      return undefined;
    }
    const entry = this.plan(facts);
    this.entries.set(gun, entry);
    return entry;
  }

  private async doSync(t: number): Promise<void> {
    if (t - this.lastScan >= this.o.rescanMs) return this.rescan(t);
    const generation = this.o.storage.generation();
    if (generation === this.generation) return;
    // Advanced only once every named repository was read: a failure is retried next time.
    let lastChangeId = this.lastChangeId;
    const guns = new Set<string>();
    for (;;) {
      const page = await this.o.storage.meta.changes(null, lastChangeId, PAGE);
      for (const c of page) {
        guns.add(c.gun);
        lastChangeId = Math.max(lastChangeId, c.id);
      }
      if (guns.size > MAX_INCREMENTAL) return this.rescan(t);
      if (page.length < PAGE) break;
    }
    for (const gun of guns) await this.refresh(gun);
    this.lastChangeId = lastChangeId;
    this.generation = generation;
  }

  private async rescan(t: number): Promise<void> {
    // Generation and newest change first: a write landing during the scan is seen next time.
    const generation = this.o.storage.generation();
    const newest = await this.o.storage.meta.changes(null, -1, 1);
    const guns = await this.o.storage.meta.listGuns();
    const present = new Set(guns);
    for (const gun of [...this.entries.keys()]) if (!present.has(gun)) this.entries.delete(gun);
    for (const gun of guns) {
      const known = this.entries.get(gun);
      if (
        known &&
        (await this.o.storage.meta.getLatest(gun, 'timestamp'))?.sha256 === known.stateId
      )
        continue;
      await this.refresh(gun);
    }
    this.generation = generation;
    this.lastChangeId = newest.at(-1)?.id ?? 0;
    this.lastScan = t;
  }

  private plan(facts: GunFacts): GunEntry {
    const claims = new Map<string, { resigner: string; planned: PlannedRole }>();
    const plans = new Map<string, PlannedRole[]>();
    for (const r of this.resigners) {
      let planned: readonly PlannedRole[];
      try {
        planned = r.plan(facts, this.o.policy);
      } catch (err) {
        this.o.log.error(
          {
            gun: facts.gun,
            resigner: r.name,
            err: err instanceof Error ? err.message : String(err),
          },
          're-signer plan failed'
        );
        continue;
      }
      for (const p of planned) {
        if (claims.has(p.role) || !facts.roles.some((f) => f.role === p.role)) continue;
        claims.set(p.role, { resigner: r.name, planned: p });
        const list = plans.get(r.name) ?? [];
        list.push(p);
        plans.set(r.name, list);
      }
    }
    let nextDue = Infinity;
    const roles = facts.roles.map((f): RoleView => {
      const claim = claims.get(f.role);
      if (!claim) return { ...f, keyHolder: unmanagedHolder(f) };
      nextDue = Math.min(nextDue, claim.planned.resignAt);
      return {
        ...f,
        keyHolder: claim.planned.keyHolder,
        managedBy: claim.resigner,
        resignAt: claim.planned.resignAt,
      };
    });
    return { gun: facts.gun, stateId: facts.stateId, facts, roles, plans, nextDue };
  }
}

/**
 * Key holder of a role no re-signer manages: the producer's unless the server holds its keys;
 * the server only ever holds a root or targets key as the store's.
 */
function unmanagedHolder(f: RoleFacts): KeyHolder {
  if (!f.held) return 'client';
  return f.role === 'snapshot' || f.role === 'timestamp' ? 'server' : 'store';
}
