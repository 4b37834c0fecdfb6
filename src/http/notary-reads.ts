/**
 * The metadata GETs (current, by checksum, by version) and the read cache behind them: a miss is
 * read from storage — the current timestamp and snapshot through the freshness-aware read
 * (src/notary/fresh-read.ts), which re-signs one near its expiry — and remembered with its
 * response headers, so the next request is a lookup. After a write, `prewarm` refills what
 * clients fetch next.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { Signer } from '../signer/types.js';
import type { NewMeta, Storage, StoredMeta } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { loadCurrentRole } from '../notary/current.js';
import type { ExpiryPolicy } from '../notary/expiry.js';
import { readServerRole } from '../notary/fresh-read.js';
import type { RefreshDeps } from '../notary/refresh.js';
import type { NotaryCaches } from '../notary/caches.js';
import { goRfc1123 } from './go-format.js';
import type { CachePolicy, MetadataMatch } from './notary-routes.js';
import { ReadCache, type CachedResponse } from './read-cache.js';

export interface CachingConfig {
  /** max-age of current metadata in seconds (notary default 300); 0 disables caching headers. */
  readonly currentMaxAge: number;
  /** max-age of by-checksum and by-version metadata (notary default 30 days). */
  readonly consistentMaxAge: number;
}

/** A committed change the rest of the server hears about (audit, store hooks). */
export interface NotaryChange {
  readonly gun: string;
  readonly kind: 'update' | 'delete' | 'resign';
  readonly written?: readonly NewMeta[];
  readonly subject?: string;
}

export interface MetadataReadsOptions {
  readonly storage: Storage;
  readonly signer: Signer;
  readonly clock: Clock;
  readonly expiry: ExpiryPolicy;
  readonly log: Logger;
  readonly caching: CachingConfig;
  /** The app's parsed files, checked roots and imported keys (src/notary/caches.ts). */
  readonly caches: NotaryCaches;
  readonly onResigned?: RefreshDeps['onResigned'];
  readonly onChange?: (event: NotaryChange) => void;
}

export const NO_CACHE = 'max-age=0, no-cache, no-store';

/**
 * Files written at least this large are not prewarmed: reading a 1 MB row back right after the
 * upload, twice (current and by checksum), costs the event loop copies that only a client which
 * asks for them needs, and the garbage collector more work while reads are being served.
 */
export const PREWARM_MAX_BYTES = 64 * 1024;

/** What a client reads after a publish, in the order it asks (docs/protocol.md §1.2). */
const PREWARMED_ROLES = ['root', 'timestamp', 'snapshot', 'targets'] as const;

export class MetadataReads {
  readonly cache: ReadCache;
  private readonly o: MetadataReadsOptions;
  private readonly cacheControl: Readonly<Record<CachePolicy, OutgoingHttpHeaders>>;

  constructor(o: MetadataReadsOptions) {
    this.o = o;
    this.cache = new ReadCache(() => o.storage.generation());
    this.cacheControl = {
      current: cacheHeaders(o.caching.currentMaxAge, true),
      consistent: cacheHeaders(o.caching.consistentMaxAge, false),
      'no-store': { 'Cache-Control': NO_CACHE },
      none: {},
    };
  }

  /** The Cache-Control headers of a route's cache policy. */
  headersFor(policy: CachePolicy): OutgoingHttpHeaders {
    return this.cacheControl[policy];
  }

  static key(m: MetadataMatch): string {
    switch (m.name) {
      case 'current':
        return ReadCache.key(m.gun, 'current', m.role);
      case 'byHash':
        return ReadCache.key(m.gun, 'sha', m.role, m.checksum);
      case 'byVersion':
        return ReadCache.key(m.gun, 'version', m.role, m.version);
    }
  }

  /**
   * Loads metadata for a GET from storage (re-signing an expired timestamp/snapshot) and caches
   * it. The cache generation is read before the storage reads, so a commit in between makes the
   * entry unused rather than stale.
   */
  async fill(m: MetadataMatch, key: string): Promise<CachedResponse | null> {
    const meta = this.o.storage.meta;
    let gen = this.cache.currentGenerationForFill();
    switch (m.name) {
      case 'byHash': {
        if (m.checksum.length !== 64) return null; // only sha256 is indexed, as in notary
        const row = await meta.getByChecksum(m.gun, m.role, m.checksum);
        return row && this.remember(m.gun, key, row, 'consistent', Infinity, gen);
      }
      case 'byVersion': {
        const version = Number(m.version);
        if (!Number.isSafeInteger(version)) return null;
        const row = await meta.getByVersion(m.gun, m.role, version);
        return row && this.remember(m.gun, key, row, 'consistent', Infinity, gen);
      }
      case 'current':
        break;
    }
    const { gun, role } = m;
    if (role !== 'timestamp' && role !== 'snapshot') {
      const row = await loadCurrentRole(meta, gun, role, this.o.caches.parsed);
      return row && this.remember(gun, key, row, 'current', Infinity, gen);
    }
    const read = await readServerRole(this.refreshDeps(), gun, role, this.o.clock.now(), (w) => {
      if (w.length > 0) {
        this.cache.invalidate(gun);
        this.o.onChange?.({ gun, kind: 'resign', written: w });
      }
      gen = this.cache.currentGenerationForFill();
    });
    return read && this.remember(gun, key, read.row, 'current', read.validUntil, gen);
  }

  /**
   * After a write, refills the cache with what clients fetch next (the current roles, and the
   * files just written by checksum), once the response is on its way: the writer's own client
   * and everyone polling the timestamp then hit memory instead of each paying a miss. Uses the
   * same fill as a GET, so it is exactly as correct; a failure only means a later miss.
   */
  prewarm(gun: string, written: readonly NewMeta[]): void {
    // A large file is left for its first GET (docs/performance.md "Reads during large uploads").
    const large = new Set(
      written.filter((w) => w.data.length >= PREWARM_MAX_BYTES).map((w) => w.role)
    );
    setImmediate(() => {
      const matches: MetadataMatch[] = [
        ...PREWARMED_ROLES.filter((role) => !large.has(role)).map((role): MetadataMatch => ({
          name: 'current',
          gun,
          role,
        })),
        ...written
          .filter((w) => !large.has(w.role))
          .map((w): MetadataMatch => ({
            name: 'byHash',
            gun,
            role: w.role,
            checksum: w.sha256,
          })),
      ];
      Promise.all(matches.map((m) => this.fill(m, MetadataReads.key(m)))).catch((err: unknown) =>
        this.o.log.debug(
          { gun, err: err instanceof Error ? err.message : String(err) },
          'cache prewarm failed'
        )
      );
    });
  }

  private refreshDeps(): RefreshDeps {
    const { storage, signer, expiry, caches, onResigned } = this.o;
    return { storage, signer, expiry, caches, ...(onResigned ? { onResigned } : {}) };
  }

  /**
   * The response for `row`, cached. First waits until every commit that changed `gun` is
   * durable (Storage.settled; docs/design.md "Durability of SQLite commits"): what a client
   * reads, or the cache keeps, can never be taken back by a power cut.
   */
  private async remember(
    gun: string,
    key: string,
    row: StoredMeta,
    policy: 'current' | 'consistent',
    validUntil: number,
    generation: number
  ): Promise<CachedResponse> {
    const unsettled = this.o.storage.settled(gun);
    if (unsettled) await unsettled;
    const cacheControl = this.cacheControl[policy];
    const headers: OutgoingHttpHeaders = {
      'Content-Type': 'application/json',
      'Content-Length': row.data.length,
      ...cacheControl,
    };
    if (cacheControl['Cache-Control'] !== NO_CACHE)
      headers['Last-Modified'] = goRfc1123(row.createdAt);
    const entry: CachedResponse = { body: row.data, headers, validUntil };
    this.cache.set(key, entry, generation);
    return entry;
  }
}

function cacheHeaders(maxAge: number, current: boolean): OutgoingHttpHeaders {
  if (maxAge === 0) return { 'Cache-Control': NO_CACHE, Pragma: 'no-cache' };
  return {
    'Cache-Control': current
      ? `public, max-age=${maxAge}, s-maxage=${maxAge}, must-revalidate`
      : `public, max-age=${maxAge}, s-maxage=${maxAge}`,
  };
}
