/**
 * The Notary API's transport shell over plain node:http (no framework on this path: every pull
 * reads timestamp.json, and a cache hit must cost a lookup, not a middleware stack). The route
 * table (notary-routes.ts) says what each route needs; the metadata GETs are answered by
 * notary-reads.ts, everything else by notary-handlers.ts.
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
import type { Storage } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { gunProblem } from '../tuf/names.js';
import type { UpdateLimits } from '../notary/update.js';
import type { UploadPreparer } from '../notary/validate-worker.js';
import type { RefreshDeps } from '../notary/refresh.js';
import type { NotaryCaches } from '../notary/caches.js';
import type { ExpiryPolicy } from '../notary/expiry.js';
import {
  CATALOG,
  type AccessControl,
  type AccessDecision,
  type RequiredAccess,
} from '../auth/access.js';
import type { UploadLimits } from './multipart.js';
import {
  DEFAULT_UPLOAD_BUDGET,
  RETRY_AFTER_SECONDS,
  UploadBudget,
  type UploadBudgetOptions,
} from './upload-budget.js';
import {
  matchRoute,
  cleanPath,
  gunOf,
  roleOf,
  type Matched,
  type MetadataMatch,
  type Operation,
} from './notary-routes.js';
import { notaryHandlers, type Exchange, type HandledMatch, type Reply } from './notary-handlers.js';
import { MetadataReads, type CachingConfig, type NotaryChange } from './notary-reads.js';
import { notaryErrorBody, writeNotaryError } from './notary-errors.js';
import type { ReadCache, CachedResponse } from './read-cache.js';
import type { MetricSlot, RequestMetrics } from '../metrics/metrics.js';
import type { Readiness } from './health.js';
import { clientAddressResolver, userAgentOf, type ClientAddress } from './client-address.js';

export type { CachingConfig } from './notary-reads.js';
export { changefeedParams } from './notary-handlers.js';

export interface NotaryApiOptions {
  readonly storage: Storage;
  readonly signer: Signer;
  readonly clock: Clock;
  readonly expiry: ExpiryPolicy;
  /** The app's parsed files, checked roots and imported keys (src/notary/caches.ts). */
  readonly caches: NotaryCaches;
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
  readonly preparer?: UploadPreparer;
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
  readonly onChange?: (event: NotaryChange) => void;
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
  readonly uploads: UploadBudget;
  private readonly o: NotaryApiOptions;
  private readonly hot = new Map<string, HotRoute>();
  /** One log line per request, unless turned off or below the log level (then nothing is built). */
  private readonly logRequests: boolean;
  private readonly clientAddress: ClientAddress;
  private readonly reads: MetadataReads;
  private readonly handlers: (m: HandledMatch, x: Exchange) => Promise<Reply>;

  constructor(options: NotaryApiOptions) {
    this.o = options;
    this.uploads = new UploadBudget(options.uploadBudget ?? DEFAULT_UPLOAD_BUDGET);
    this.logRequests = options.requestLog !== false && options.log.enabled('info');
    this.clientAddress = options.clientAddress ?? clientAddressResolver(undefined);
    this.reads = new MetadataReads(options);
    this.cache = this.reads.cache;
    this.handlers = notaryHandlers({ ...options, uploads: this.uploads, reads: this.reads });
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
    const r = d.route;
    ctx.operation = r.operation;
    ctx.gun = gunOf(r.match);
    ctx.role = roleOf(r.match);
    if (ctx.gun !== undefined && !this.gunAllowed(res, ctx, r, ctx.gun)) return;
    this.authorized(req, res, ctx, r.required, () =>
      this.dispatch(req, res, ctx, r, url, q < 0 ? '' : url.slice(q + 1))
    );
  }

  /** The GUN prefix filter (before auth, as notary) and Countersign's own name rules. */
  private gunAllowed(res: ServerResponse, ctx: Ctx, r: Matched, gun: string): boolean {
    const prefixes = this.o.gunPrefixes;
    if (prefixes && prefixes.length > 0 && !prefixes.some((p) => gun.startsWith(p))) {
      this.fail(
        res,
        ctx,
        r.match.name === 'update'
          ? new CountersignError('INVALID_GUN', undefined, {
              detail: `Require GUNs with prefix: [${prefixes.join(' ')}]`,
            })
          : new CountersignError('METADATA_NOT_FOUND')
      );
      return false;
    }
    const problem = gunProblem(gun);
    if (problem) {
      this.fail(
        res,
        ctx,
        r.gunRefusal === 'not_found'
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
    r: Matched,
    url: string,
    query: string
  ): void {
    const m = r.match;
    if (m.name === 'ping') {
      if (ctx.method === 'GET')
        this.rememberHot(url, { key: '', fixed: PING, required: r.required, path: ctx.path });
      return this.sendCached(res, ctx, PING);
    }
    if (m.name === 'current' || m.name === 'byHash' || m.name === 'byVersion')
      return this.readMetadata(res, ctx, r, m, url);
    this.async(res, ctx, async () => {
      const reply = await this.handlers(m, { req, query, subject: ctx.subject });
      this.sendBody(res, ctx, reply.status, reply.body, reply.headers);
      reply.after?.();
    });
  }

  /** A metadata GET: remembered for the fast path, then from the cache or a fill. */
  private readMetadata(
    res: ServerResponse,
    ctx: Ctx,
    r: Matched,
    m: MetadataMatch,
    url: string
  ): void {
    const key = MetadataReads.key(m);
    this.rememberHot(url, {
      key,
      required: r.required,
      operation: r.operation,
      path: ctx.path,
      gun: m.gun,
      role: m.role,
    });
    const hit = this.cache.get(key, this.o.clock.now().getTime());
    if (hit) return this.sendCached(res, ctx, hit);
    this.async(res, ctx, async () => {
      const entry = await this.reads.fill(m, key);
      if (!entry) throw new CountersignError('METADATA_NOT_FOUND', undefined, { detail: {} });
      this.sendCached(res, ctx, entry);
    });
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

const PING: CachedResponse = {
  body: Buffer.from('{}'),
  headers: { 'Content-Length': 2 },
  validUntil: Infinity,
};

function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && given.length > 0
    ? given.slice(0, 64)
    : `${ID_PREFIX}-${(++requestCounter).toString(36)}`;
}
