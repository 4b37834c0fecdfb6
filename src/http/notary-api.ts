/**
 * The Notary API over plain node:http (no framework on this path: every pull reads
 * timestamp.json, and a cache hit must cost a lookup, not a middleware stack).
 *
 * Order of checks for every request, as notary-server: clean path (301) → route (405 / catch-all
 * 404) → GUN prefix filter → access (401 with a Bearer challenge) → handler. Every response is
 * counted and logged once, by `finish`.
 */
import type { IncomingMessage, ServerResponse, OutgoingHttpHeaders } from 'node:http';
import {
  CountersignError,
  STORAGE_FULL_RETRY_AFTER_S,
  explain,
  type NotaryCode,
} from '../errors.js';
import type { Signer } from '../signer/types.js';
import type { Storage, StoredMeta } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { gunProblem } from '../tuf/names.js';
import { applyUpdate, type UpdateLimits, type UpdateResult } from '../notary/update.js';
import type { PartPreparer } from '../notary/validate-worker.js';
import { loadCurrent, loadCurrentRole } from '../notary/current.js';
import { storedRoot } from '../notary/parsed.js';
import { refreshServerMetadata, type RefreshDeps } from '../notary/refresh.js';
import { getServerKey, keyBody, rotateServerKey, type ServerRole } from '../notary/keys.js';
import type { ExpiryPolicy } from '../notary/expiry.js';
import {
  CATALOG,
  repository,
  type AccessControl,
  type AccessDecision,
  type RequiredAccess,
} from '../auth/access.js';
import { goJson, goRfc1123, goRfc3339Nano } from './go-format.js';
import { readMultipart, type UploadLimits } from './multipart.js';
import {
  DEFAULT_UPLOAD_BUDGET,
  RETRY_AFTER_SECONDS,
  UploadBudget,
  type UploadBudgetOptions,
} from './upload-budget.js';
import { matchRoute, cleanPath, type RouteMatch, type Operation } from './notary-routes.js';
import { notaryErrorBody, writeNotaryError } from './notary-errors.js';
import { ReadCache, type CachedResponse } from './read-cache.js';
import type { MetricSlot, RequestMetrics } from '../metrics/metrics.js';
import { LIVE_BODY, readinessBody, type Readiness } from './health.js';
import { clientAddressResolver, userAgentOf, type ClientAddress } from './client-address.js';

export interface CachingConfig {
  /** max-age of current metadata in seconds (notary default 300); 0 disables caching headers. */
  readonly currentMaxAge: number;
  /** max-age of by-checksum and by-version metadata (notary default 30 days). */
  readonly consistentMaxAge: number;
}

export interface NotaryApiOptions {
  readonly storage: Storage;
  readonly signer: Signer;
  readonly clock: Clock;
  readonly expiry: ExpiryPolicy;
  readonly log: Logger;
  readonly metrics: RequestMetrics;
  /** /readyz's checks (src/http/health.ts). */
  readonly readiness: () => Promise<Readiness>;
  readonly access: AccessControl;
  readonly caching: CachingConfig;
  readonly uploadLimits: UploadLimits;
  /** The bound on upload bytes in flight across all requests (src/http/upload-budget.ts). */
  readonly uploadBudget?: UploadBudgetOptions;
  readonly updateLimits?: UpdateLimits;
  /** Parses large uploads off the event loop (src/notary/validate-worker.ts); inline without it. */
  readonly prepareParts?: PartPreparer;
  /** `repositories.gun_prefixes`: when set, only GUNs under one of these are served. */
  readonly gunPrefixes?: readonly string[];
  /** Log one line per request (on by default). */
  readonly requestLog?: boolean;
  /** The client address of a request for its log line (default: the socket's peer). */
  readonly clientAddress?: ClientAddress;
  /**
   * Runs inside the transaction of a read-triggered re-sign (the audit log's entry), so the
   * re-sign and its record commit together.
   */
  readonly onResigned?: RefreshDeps['onResigned'];
  /** Called after an update, delete or read-triggered re-sign committed (audit, store hooks). */
  readonly onChange?: (event: {
    gun: string;
    kind: 'update' | 'delete' | 'resign';
    written?: UpdateResult['written'];
    subject?: string;
  }) => void;
}

interface Ctx {
  /** performance.now() when the request arrived. */
  readonly start: number;
  readonly id: string;
  readonly method: string;
  readonly path: string;
  operation?: Operation;
  gun?: string;
  role?: string;
  subject?: string;
  requestBytes: number;
  /** Where a 200 of this request is counted, when known in advance (the hot path). */
  okSlot?: MetricSlot;
  /** The request, kept only when it is logged (client address and user agent). */
  readonly req?: IncomingMessage;
}

let requestCounter = 0;
const ID_PREFIX = process.pid.toString(36);

/** The 503s a client should simply retry, and after how many seconds (Retry-After). */
const RETRY_AFTER: Partial<Record<NotaryCode, number>> = {
  BUSY: RETRY_AFTER_SECONDS,
  STORAGE_FULL: STORAGE_FULL_RETRY_AFTER_S,
};
/**
 * A metadata GET URL already routed and checked once: its cache key and required access. The
 * routing result depends only on the URL and the (fixed) configuration, so a repeat of the same
 * URL skips decoding, path cleaning, the route regexes and the GUN checks.
 */
interface HotRoute {
  readonly key: string;
  /** A response that never changes (the ping), served without asking the cache. */
  readonly fixed?: CachedResponse;
  readonly required: readonly RequiredAccess[];
  readonly operation?: Operation;
  readonly path: string;
  readonly gun?: string;
  readonly role?: string;
  readonly okSlot?: MetricSlot;
}

const MAX_HOT_ROUTES = 20_000;

export class NotaryApi {
  readonly cache: ReadCache;
  private readonly o: NotaryApiOptions;
  private readonly hot = new Map<string, HotRoute>();
  /** One log line per request, unless turned off or below the log level (then nothing is built). */
  private readonly logRequests: boolean;
  private readonly clientAddress: ClientAddress;
  private readonly currentCacheControl: OutgoingHttpHeaders;
  private readonly consistentCacheControl: OutgoingHttpHeaders;
  readonly uploads: UploadBudget;

  constructor(options: NotaryApiOptions) {
    this.o = options;
    this.uploads = new UploadBudget(options.uploadBudget ?? DEFAULT_UPLOAD_BUDGET);
    this.logRequests = options.requestLog !== false && options.log.enabled('info');
    this.clientAddress = options.clientAddress ?? clientAddressResolver(undefined);
    this.cache = new ReadCache(() => options.storage.generation());
    this.currentCacheControl = cacheHeaders(options.caching.currentMaxAge, true);
    this.consistentCacheControl = cacheHeaders(options.caching.consistentMaxAge, false);
  }

  /** Handles a request; never throws. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method === 'GET' && this.serveHot(req, res)) return;
    const ctx: Ctx = {
      start: performance.now(),
      id: this.logRequests ? requestId(req) : '',
      ...(this.logRequests ? { req } : {}),
      method: req.method ?? 'GET',
      path: '',
      requestBytes: Number(req.headers['content-length'] ?? 0) || 0,
    };
    try {
      this.route(req, res, ctx);
    } catch (err) {
      this.fail(res, ctx, err);
    }
  }

  /** The fast path: a repeated metadata GET whose response is cached. Returns false to fall through. */
  private serveHot(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url ?? '/';
    const hot = this.hot.get(url);
    if (!hot) return false;
    const entry = hot.fixed ?? this.cache.get(hot.key, this.o.clock.now().getTime());
    if (!entry) return false;
    const decision = this.o.access.authorize(req, hot.required);
    if (decision instanceof Promise || !decision.ok) return false; // the full path answers it
    const ctx: Ctx = {
      start: performance.now(),
      id: this.logRequests ? requestId(req) : '',
      ...(this.logRequests ? { req } : {}),
      method: 'GET',
      path: hot.path,
      operation: hot.operation,
      gun: hot.gun,
      role: hot.role,
      subject: decision.subject,
      requestBytes: 0,
      okSlot: hot.okSlot,
    };
    this.sendCached(res, ctx, entry);
    return true;
  }

  private rememberHot(url: string, hot: Omit<HotRoute, 'okSlot'>): void {
    if (this.hot.size >= MAX_HOT_ROUTES) this.hot.clear();
    const okSlot = hot.operation && this.o.metrics.slot(hot.operation, 'GET', 200);
    this.hot.set(url, okSlot ? { ...hot, okSlot } : hot);
  }

  private route(req: IncomingMessage, res: ServerResponse, ctx: Ctx): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    let path: string;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      throw new CountersignError('INVALID_NAME', undefined, {
        detail: 'the path is not valid percent-encoding',
      });
    }
    (ctx as { path: string }).path = path;
    const clean = cleanPath(path);
    if (clean !== path) {
      // gorilla/mux: 301 to the cleaned path, query kept, empty body.
      this.send(res, ctx, 301, {
        Location: encodeURI(clean) + (q < 0 ? '' : url.slice(q)),
        'Content-Length': 0,
      });
      return;
    }
    const d = matchRoute(ctx.method, path);
    if (d.kind === 'methodNotAllowed') {
      this.send(res, ctx, 405, { 'Content-Length': 0 });
      return;
    }
    if (d.kind === 'catchAll') {
      this.authorized(req, res, ctx, [CATALOG], () =>
        this.fail(res, ctx, new CountersignError('METADATA_NOT_FOUND'))
      );
      return;
    }
    const m = d.match;
    ctx.operation = m.operation;
    ctx.gun = m.gun;
    ctx.role = m.role;
    if (m.gun !== undefined && !this.gunAllowed(res, ctx, m)) return;
    const required = requiredAccess(m);
    this.authorized(req, res, ctx, required, () =>
      this.dispatch(req, res, ctx, m, q < 0 ? '' : url.slice(q + 1), url, required)
    );
  }

  /** The GUN prefix filter (before auth, as notary) and Countersign's own name rules. */
  private gunAllowed(res: ServerResponse, ctx: Ctx, m: RouteMatch): boolean {
    const gun = m.gun as string;
    const prefixes = this.o.gunPrefixes;
    const isWrite = m.name === 'update';
    if (prefixes && prefixes.length > 0 && !prefixes.some((p) => gun.startsWith(p))) {
      this.fail(
        res,
        ctx,
        isWrite
          ? new CountersignError('INVALID_GUN', undefined, {
              detail: `Require GUNs with prefix: [${prefixes.join(' ')}]`,
            })
          : new CountersignError('METADATA_NOT_FOUND')
      );
      return false;
    }
    const problem = gunProblem(gun);
    if (problem) {
      const reads =
        m.name === 'current' ||
        m.name === 'byHash' ||
        m.name === 'byVersion' ||
        m.name === 'changefeed';
      this.fail(
        res,
        ctx,
        reads
          ? new CountersignError('METADATA_NOT_FOUND', undefined, { detail: {} })
          : new CountersignError('INVALID_GUN', undefined, { detail: problem })
      );
      return false;
    }
    return true;
  }

  private authorized(
    req: IncomingMessage,
    res: ServerResponse,
    ctx: Ctx,
    required: readonly RequiredAccess[],
    next: () => void
  ): void {
    const decision = this.o.access.authorize(req, required);
    const go = (d: AccessDecision) => {
      if (d.ok) {
        ctx.subject = d.subject;
        next();
      } else {
        this.fail(
          res,
          ctx,
          new CountersignError('UNAUTHORIZED', undefined, { detail: d.detail }),
          d.headers
        );
      }
    };
    if (decision instanceof Promise) decision.then(go, (err: unknown) => this.fail(res, ctx, err));
    else go(decision);
  }

  private dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    ctx: Ctx,
    m: RouteMatch,
    query: string,
    url: string,
    required: readonly RequiredAccess[]
  ): void {
    const gun = m.gun as string;
    const role = m.role as string;
    switch (m.name) {
      case 'ping':
        if (ctx.method === 'GET')
          this.rememberHot(url, { key: '', fixed: PING, required, path: ctx.path });
        return this.sendCached(res, ctx, PING);
      case 'current':
      case 'byHash':
      case 'byVersion': {
        const key =
          m.name === 'current'
            ? ReadCache.key(gun, 'current', role)
            : m.name === 'byHash'
              ? ReadCache.key(gun, 'sha', role, m.checksum)
              : ReadCache.key(gun, 'version', role, m.version);
        this.rememberHot(url, {
          key,
          required,
          operation: m.operation,
          path: ctx.path,
          gun,
          role,
        });
        const hit = this.cache.get(key, this.o.clock.now().getTime());
        if (hit) return this.sendCached(res, ctx, hit);
        return this.async(res, ctx, async () => {
          const entry = await this.fillMetadata(m, key);
          if (!entry) throw new CountersignError('METADATA_NOT_FOUND', undefined, { detail: {} });
          this.sendCached(res, ctx, entry);
        });
      }
      case 'update':
        return this.async(res, ctx, async () => {
          const result = await this.acceptUpload(req, gun);
          this.cache.invalidate(gun);
          this.o.onChange?.({ gun, kind: 'update', written: result.written, subject: ctx.subject });
          this.sendBody(res, ctx, 200, EMPTY, {});
          this.prewarm(gun, result.written);
        });
      case 'getKey':
        return this.async(res, ctx, async () => {
          const key = await getServerKey(
            this.o.storage.meta,
            this.o.signer,
            gun,
            role as ServerRole
          );
          this.sendBody(res, ctx, 200, keyBody(key), { 'Content-Type': 'application/json' });
        });
      case 'rotateKey':
        return this.async(res, ctx, async () => {
          const key = await rotateServerKey(this.o.signer, gun, role as ServerRole);
          this.sendBody(res, ctx, 200, keyBody(key), { 'Content-Type': 'application/json' });
        });
      case 'delete':
        return this.async(res, ctx, async () => {
          const existed = await this.o.storage.meta.deleteGun(gun, this.o.clock.now());
          this.cache.invalidate(gun);
          if (existed) this.o.onChange?.({ gun, kind: 'delete', subject: ctx.subject });
          this.sendBody(res, ctx, 200, EMPTY, {});
        });
      case 'changefeed':
      case 'globalChangefeed':
        return this.async(res, ctx, async () => {
          const { changeId, records } = changefeedParams(query);
          const rows = await this.o.storage.meta.changes(
            m.name === 'changefeed' ? gun : null,
            changeId,
            records
          );
          const body = goJson(
            {
              count: rows.length,
              records: rows.map((r) => ({
                ID: String(r.id),
                CreatedAt: goRfc3339Nano(r.createdAt),
                GUN: r.gun,
                Version: r.version,
                SHA256: r.sha256,
                Category: r.category,
              })),
            },
            false
          );
          this.sendBody(res, ctx, 200, Buffer.from(body), { 'Content-Type': 'application/json' });
        });
      case 'health':
        return this.async(res, ctx, async () => {
          try {
            await this.o.storage.ping();
            this.sendBody(res, ctx, 200, Buffer.from('{}'), {
              'Content-Type': 'application/json; charset=utf-8',
            });
          } catch (err) {
            const body = JSON.stringify({
              'DB operational': err instanceof Error ? err.message : 'database unavailable',
            });
            this.sendBody(res, ctx, 503, Buffer.from(body), {
              'Content-Type': 'application/json; charset=utf-8',
            });
          }
        });
      case 'healthz':
        this.sendBody(res, ctx, 200, Buffer.from(LIVE_BODY), JSON_UTF8);
        return;
      case 'readyz':
        return this.async(res, ctx, async () => {
          const r = await this.o.readiness();
          this.sendBody(res, ctx, r.ready ? 200 : 503, Buffer.from(readinessBody(r)), {
            ...JSON_UTF8,
            'Cache-Control': NO_CACHE,
          });
        });
      case 'metrics':
        return this.async(res, ctx, async () => {
          const { contentType, body } = await this.o.metrics.render();
          this.sendBody(res, ctx, 200, Buffer.from(body), { 'Content-Type': contentType });
        });
    }
  }

  /**
   * After a write, refills the cache with what clients fetch next (the current roles, and the
   * files just written by checksum), once the response is on its way: the writer's own client
   * and everyone polling the timestamp then hit memory instead of each paying a miss. Uses the
   * same fill as a GET, so it is exactly as correct; a failure only means a later miss.
   */
  private prewarm(gun: string, written: UpdateResult['written']): void {
    setImmediate(() => {
      const fills: Promise<unknown>[] = PREWARMED_ROLES.map((role) =>
        this.fillMetadata({ name: 'current', gun, role }, ReadCache.key(gun, 'current', role))
      );
      for (const w of written) {
        fills.push(
          this.fillMetadata(
            { name: 'byHash', gun, role: w.role, checksum: w.sha256 },
            ReadCache.key(gun, 'sha', w.role, w.sha256)
          )
        );
      }
      Promise.all(fills).catch((err: unknown) =>
        this.o.log.debug(
          { gun, err: err instanceof Error ? err.message : String(err) },
          'cache prewarm failed'
        )
      );
    });
  }

  /** Loads metadata for a GET from storage (re-signing an expired timestamp/snapshot) and caches it. */
  private async fillMetadata(m: RouteMatch, key: string): Promise<CachedResponse | null> {
    const gun = m.gun as string;
    const role = m.role as string;
    const meta = this.o.storage.meta;
    if (m.name === 'byHash') {
      if ((m.checksum as string).length !== 64) return null; // only sha256 is indexed, as in notary
      const gen = this.cache.currentGenerationForFill();
      const row = await meta.getByChecksum(gun, role, m.checksum as string);
      return row && this.remember(key, row, this.consistentCacheControl, Infinity, gen);
    }
    if (m.name === 'byVersion') {
      const version = Number(m.version);
      if (!Number.isSafeInteger(version)) return null;
      const gen = this.cache.currentGenerationForFill();
      const row = await meta.getByVersion(gun, role, version);
      return row && this.remember(key, row, this.consistentCacheControl, Infinity, gen);
    }
    if (role !== 'timestamp' && role !== 'snapshot') {
      const gen = this.cache.currentGenerationForFill();
      const row = await loadCurrentRole(meta, gun, role);
      return row && this.remember(key, row, this.currentCacheControl, Infinity, gen);
    }
    let gen = this.cache.currentGenerationForFill();
    let state = await loadCurrent(meta, gun);
    if (!state) return null;
    const now = this.o.clock.now();
    // A timestamp is re-signed (and its cached copy dropped) a little before it expires, so none
    // is handed out that expires while still in flight to the client.
    const lifetimes = this.o.expiry.lifetimes(gun);
    const tsMargin = readMargin(lifetimes.timestamp);
    // A server-held snapshot gets the same head start; a client-held one can only be used to its
    // end. Whether the server holds it is asked only near expiry; until then the cache assumes so.
    const nearSnapshotExpiry =
      state.snapshotFile.signed.expires.getTime() < now.getTime() + readMargin(lifetimes.snapshot);
    const snapshotHeld = nearSnapshotExpiry ? await this.serverHoldsSnapshotKey(gun) : undefined;
    const snapMargin = snapshotHeld === false ? 0 : readMargin(lifetimes.snapshot);
    if (
      state.timestampFile.signed.expires.getTime() < now.getTime() + tsMargin ||
      (nearSnapshotExpiry &&
        state.snapshotFile.signed.expires.getTime() < now.getTime() + snapMargin)
    ) {
      const deps: RefreshDeps = {
        storage: this.o.storage,
        signer: this.o.signer,
        expiry: this.o.expiry,
        ...(this.o.onResigned ? { onResigned: this.o.onResigned } : {}),
      };
      const result = await refreshServerMetadata(deps, gun, now, {
        timestamp: tsMargin,
        snapshot: snapMargin,
      });
      if (result.resigned.length > 0) {
        this.cache.invalidate(gun);
        this.o.onChange?.({ gun, kind: 'resign', written: result.resigned });
      }
      gen = this.cache.currentGenerationForFill();
      state = await loadCurrent(meta, gun);
      if (!state) return null;
    }
    const validUntil = Math.min(
      state.timestampFile.signed.expires.getTime() - tsMargin,
      state.snapshotFile.signed.expires.getTime() - snapMargin
    );
    const row = role === 'timestamp' ? state.timestamp : state.snapshot;
    return this.remember(key, row, this.currentCacheControl, validUntil, gen);
  }

  /** Whether the server holds a key the current root lists for the snapshot role. */
  private async serverHoldsSnapshotKey(gun: string): Promise<boolean> {
    const rootRow = await loadCurrentRole(this.o.storage.meta, gun, 'root');
    if (!rootRow) return false;
    const ids = storedRoot(rootRow).signed.roles.snapshot.keyids;
    return (await this.o.signer.held(ids)).size > 0;
  }

  private remember(
    key: string,
    row: StoredMeta,
    cacheControl: OutgoingHttpHeaders,
    validUntil: number,
    generation: number
  ): CachedResponse {
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

  /** Reads and applies an upload within the global upload budget (held until the update is stored). */
  private async acceptUpload(req: IncomingMessage, gun: string): Promise<UpdateResult> {
    const declared = Number(req.headers['content-length']);
    const limits = this.o.uploadLimits;
    const size =
      Number.isSafeInteger(declared) && declared >= 0 && declared <= limits.maxBodyBytes
        ? declared
        : limits.maxBodyBytes; // chunked (or over the cap, which readMultipart refuses at once)
    let release: () => void;
    try {
      release = await this.uploads.acquire(size);
    } catch (err) {
      req.resume(); // discard the unread body so the 503 reaches the client
      throw err;
    }
    try {
      // A client that went away while waiting for room: its body will never come.
      if (req.destroyed) throw new CountersignError('MALFORMED_UPLOAD');
      const parts = await readMultipart(req, limits);
      return await applyUpdate(
        {
          storage: this.o.storage,
          signer: this.o.signer,
          clock: this.o.clock,
          expiry: this.o.expiry,
          limits: this.o.updateLimits,
          ...(this.o.prepareParts ? { prepare: this.o.prepareParts } : {}),
        },
        gun,
        parts
      );
    } finally {
      release();
    }
  }

  private async(res: ServerResponse, ctx: Ctx, fn: () => Promise<void>): void {
    fn().catch((err: unknown) => this.fail(res, ctx, err));
  }

  private sendCached(res: ServerResponse, ctx: Ctx, e: CachedResponse): void {
    res.writeHead(200, e.headers);
    res.end(e.body);
    this.done(ctx, 200, e.body.length);
  }

  private sendBody(
    res: ServerResponse,
    ctx: Ctx,
    status: number,
    body: Buffer,
    headers: OutgoingHttpHeaders
  ): void {
    res.writeHead(status, { ...headers, 'Content-Length': body.length });
    res.end(body);
    this.done(ctx, status, body.length);
  }

  private send(res: ServerResponse, ctx: Ctx, status: number, headers: OutgoingHttpHeaders): void {
    res.writeHead(status, headers);
    res.end();
    this.done(ctx, status, 0);
  }

  /**
   * The one way a Notary request fails: the error envelope, a log line with the cause for a 5xx
   * (a bug or an outage), and the request log's `error` for a 4xx — with the internal code and
   * the cause, so the log says which rule refused an upload, not only notary's coarse code.
   */
  private fail(
    res: ServerResponse,
    ctx: Ctx,
    err: unknown,
    headers: Readonly<Record<string, string>> = {}
  ): void {
    const e = notaryErrorBody(err);
    // BUSY is load, not a fault: the client retries. Everything else at 5xx is logged with its
    // cause (a full disk included: the operator must act).
    if (e.status >= 500 && e.code !== 'BUSY') {
      this.o.log.error(
        { reqId: ctx.id, method: ctx.method, path: ctx.path, gun: ctx.gun, err: explain(err) },
        'request failed'
      );
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const retry = RETRY_AFTER[e.code];
    const bytes = writeNotaryError(res, e, {
      ...(retry === undefined ? {} : { 'Retry-After': String(retry) }),
      // A body cut off for its pace is still arriving: closing is the only way to stop reading it.
      ...(e.code === 'SLOW_BODY' ? { Connection: 'close' } : {}),
      ...headers,
    });
    this.done(ctx, e.status, bytes, e.status < 500 ? explain(err) : undefined);
  }

  private done(ctx: Ctx, status: number, bytes: number, error?: string): void {
    const us = Math.round((performance.now() - ctx.start) * 1000);
    if (ctx.okSlot && status === 200)
      this.o.metrics.record(ctx.okSlot, us, ctx.requestBytes, bytes);
    else if (ctx.operation)
      this.o.metrics.observe(ctx.operation, ctx.method, status, us, ctx.requestBytes, bytes);
    if (this.logRequests) {
      this.o.log.info(
        {
          reqId: ctx.id,
          method: ctx.method,
          path: ctx.path,
          gun: ctx.gun,
          role: ctx.role,
          status,
          ms: us / 1000,
          subject: ctx.subject,
          client: ctx.req && this.clientAddress(ctx.req),
          ua: ctx.req && userAgentOf(ctx.req),
          error,
        },
        'request'
      );
    }
  }
}

const EMPTY = Buffer.alloc(0);
const JSON_UTF8 = { 'Content-Type': 'application/json; charset=utf-8' } as const;
const PING: CachedResponse = {
  body: Buffer.from('{}'),
  headers: { 'Content-Length': 2 },
  validUntil: Infinity,
};
/** What a client reads after a publish, in the order it asks (docs/protocol.md §1.2). */
const PREWARMED_ROLES = ['root', 'timestamp', 'snapshot', 'targets'] as const;

function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && given.length > 0
    ? given.slice(0, 64)
    : `${ID_PREFIX}-${(++requestCounter).toString(36)}`;
}
const NO_CACHE = 'max-age=0, no-cache, no-store';

/** How long before its expiry the read path re-signs a timestamp: 1 s, or a tenth of a short lifetime. */
function readMargin(lifetimeMs: number): number {
  return Math.min(1000, lifetimeMs / 10);
}

function cacheHeaders(maxAge: number, current: boolean): OutgoingHttpHeaders {
  if (maxAge === 0) return { 'Cache-Control': NO_CACHE, Pragma: 'no-cache' };
  return {
    'Cache-Control': current
      ? `public, max-age=${maxAge}, s-maxage=${maxAge}, must-revalidate`
      : `public, max-age=${maxAge}, s-maxage=${maxAge}`,
  };
}

/** docs/protocol.md §7.3: what each route requires. */
function requiredAccess(m: RouteMatch): RequiredAccess[] {
  const gun = m.gun as string;
  switch (m.name) {
    case 'current':
    case 'byHash':
    case 'byVersion':
    case 'changefeed':
      return [repository(gun, 'pull')];
    case 'update':
    case 'getKey':
      return [repository(gun, 'push', 'pull')];
    case 'rotateKey':
    case 'delete':
      return [repository(gun, '*')];
    case 'ping':
    case 'globalChangefeed':
      return [CATALOG];
    case 'health':
    case 'healthz':
    case 'readyz':
    case 'metrics':
      return [];
  }
}

const INT32 = /^[+-]?\d+$/;

/** notary's changefeed parameters: `records` mandatory int32 (0 → 100), `change_id` int32 (empty → 0). */
export function changefeedParams(query: string): { changeId: number; records: number } {
  const params = new URLSearchParams(query);
  const recordsText = params.get('records') ?? '';
  const records = parseInt32(recordsText);
  if (records === undefined) {
    const why = INT32.test(recordsText) ? 'value out of range' : 'invalid syntax';
    throw new CountersignError('INVALID_PARAMETERS', undefined, {
      detail: `invalid records parameter: strconv.ParseInt: parsing ${JSON.stringify(recordsText)}: ${why}`,
    });
  }
  const changeText = params.get('change_id') ?? '';
  const changeId = changeText === '' ? 0 : parseInt32(changeText);
  if (changeId === undefined)
    throw new CountersignError('INVALID_PARAMETERS', undefined, { detail: {} });
  return { changeId, records: records === 0 ? 100 : records };
}

function parseInt32(s: string): number | undefined {
  if (!INT32.test(s)) return undefined;
  const n = Number(s);
  return n >= -2147483648 && n <= 2147483647 ? n : undefined;
}
