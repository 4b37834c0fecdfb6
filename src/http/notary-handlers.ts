/**
 * The Notary routes' handlers other than the metadata GETs (notary-reads.ts): each takes its typed
 * route match and answers with a Reply the transport shell (notary-api.ts) writes. The bodies are
 * notary-server's byte for byte (docs/protocol.md §1.1).
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { CountersignError } from '../errors.js';
import type { RequestMetrics } from '../metrics/metrics.js';
import type { Signer } from '../signer/types.js';
import type { Storage } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import type { ExpiryPolicy } from '../notary/expiry.js';
import { getServerKey, keyBody, rotateServerKey } from '../notary/keys.js';
import { applyUpdate, type UpdateLimits, type UpdateResult } from '../notary/update.js';
import type { NotaryCaches } from '../notary/caches.js';
import type { UploadPreparer } from '../notary/validate-worker.js';
import { goJson, goRfc3339Nano } from './go-format.js';
import { LIVE_BODY, readinessBody, type Readiness } from './health.js';
import { readMultipart, type UploadLimits } from './multipart.js';
import type { MetadataReads, NotaryChange } from './notary-reads.js';
import type { MetadataMatch, RouteMatch } from './notary-routes.js';
import type { UploadBudget } from './upload-budget.js';

/** A response to write: status, body and headers (Content-Length is added when written). */
export interface Reply {
  readonly status: number;
  readonly body: Buffer;
  readonly headers: OutgoingHttpHeaders;
  /** Runs once the response is written (the cache prewarm after an update). */
  readonly after?: () => void;
}

/** The request a handler answers. */
export interface Exchange {
  readonly req: IncomingMessage;
  /** The query string without its `?`. */
  readonly query: string;
  /** Who the access decision said is asking (for the change events). */
  readonly subject: string | undefined;
}

export interface HandlerDeps {
  readonly storage: Storage;
  readonly signer: Signer;
  readonly clock: Clock;
  readonly expiry: ExpiryPolicy;
  /** The app's parsed files, checked roots and imported keys (src/notary/caches.ts). */
  readonly caches: NotaryCaches;
  readonly metrics: RequestMetrics;
  readonly readiness: () => Promise<Readiness>;
  readonly uploads: UploadBudget;
  readonly uploadLimits: UploadLimits;
  readonly updateLimits?: UpdateLimits | undefined;
  /** Large parts are parsed in the upload worker (src/notary/validate-worker.ts). */
  readonly preparer?: UploadPreparer | undefined;
  readonly reads: MetadataReads;
  readonly onChange?: ((event: NotaryChange) => void) | undefined;
}

/** The routes handled here: everything but the metadata GETs and the ping (the shell's fast paths). */
export type HandledMatch = Exclude<RouteMatch, MetadataMatch | { name: 'ping' }>;

const EMPTY = Buffer.alloc(0);
const JSON_TYPE = { 'Content-Type': 'application/json' } as const;
export const JSON_UTF8 = { 'Content-Type': 'application/json; charset=utf-8' } as const;

const ok = (body: Buffer, headers: OutgoingHttpHeaders = {}): Reply => ({
  status: 200,
  body,
  headers,
});

export function notaryHandlers(d: HandlerDeps): (m: HandledMatch, x: Exchange) => Promise<Reply> {
  return async (m, x) => {
    switch (m.name) {
      case 'update': {
        const result = await acceptUpload(d, x.req, m.gun);
        d.reads.cache.invalidate(m.gun);
        d.onChange?.({ gun: m.gun, kind: 'update', written: result.written, subject: x.subject });
        return { ...ok(EMPTY), after: () => d.reads.prewarm(m.gun, result.written) };
      }
      case 'getKey': {
        const key = await getServerKey(d.storage.meta, d.signer, m.gun, m.role, d.caches.parsed);
        return ok(keyBody(key), JSON_TYPE);
      }
      case 'rotateKey':
        return ok(keyBody(await rotateServerKey(d.signer, m.gun, m.role)), JSON_TYPE);
      case 'delete': {
        const existed = await d.storage.meta.deleteGun(m.gun, d.clock.now());
        d.reads.cache.invalidate(m.gun);
        if (existed) d.onChange?.({ gun: m.gun, kind: 'delete', subject: x.subject });
        return ok(EMPTY);
      }
      case 'changefeed':
        return changefeed(d, m.gun, x.query);
      case 'globalChangefeed':
        return changefeed(d, null, x.query);
      case 'health':
        return health(d);
      case 'healthz':
        return ok(Buffer.from(LIVE_BODY), JSON_UTF8);
      case 'readyz': {
        const r = await d.readiness();
        return {
          status: r.ready ? 200 : 503,
          body: Buffer.from(readinessBody(r)),
          headers: { ...JSON_UTF8, ...d.reads.headersFor('no-store') },
        };
      }
      case 'metrics': {
        const { contentType, body } = await d.metrics.render();
        return ok(Buffer.from(body), { 'Content-Type': contentType });
      }
    }
  };
}

/** notary-server's `/_notary_server/health`: `{}` or 503 with the database's complaint. */
async function health(d: HandlerDeps): Promise<Reply> {
  try {
    await d.storage.ping();
    return ok(Buffer.from('{}'), JSON_UTF8);
  } catch (err) {
    const body = JSON.stringify({
      'DB operational': err instanceof Error ? err.message : 'database unavailable',
    });
    return { status: 503, body: Buffer.from(body), headers: JSON_UTF8 };
  }
}

async function changefeed(d: HandlerDeps, gun: string | null, query: string): Promise<Reply> {
  const { changeId, records } = changefeedParams(query);
  const rows = await d.storage.meta.changes(gun, changeId, records);
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
  return ok(Buffer.from(body), JSON_TYPE);
}

/** Reads and applies an upload within the global upload budget (held until the update is stored). */
async function acceptUpload(
  d: HandlerDeps,
  req: IncomingMessage,
  gun: string
): Promise<UpdateResult> {
  const declared = Number(req.headers['content-length']);
  const limits = d.uploadLimits;
  const size =
    Number.isSafeInteger(declared) && declared >= 0 && declared <= limits.maxBodyBytes
      ? declared
      : limits.maxBodyBytes; // chunked (or over the cap, which readMultipart refuses at once)
  if (size === declared) d.preparer?.warm(declared);
  let release: () => void;
  try {
    release = await d.uploads.acquire(size);
  } catch (err) {
    req.resume(); // discard the unread body so the 503 reaches the client
    throw err;
  }
  try {
    // A client that went away while waiting for room: its body will never come.
    if (req.destroyed) throw new CountersignError('MALFORMED_UPLOAD');
    const parts = await readMultipart(req, limits);
    const { storage, signer, clock, expiry, caches } = d;
    return await applyUpdate(
      {
        storage,
        signer,
        clock,
        expiry,
        caches,
        limits: d.updateLimits,
        ...(d.preparer ? { prepare: d.preparer.prepare } : {}),
      },
      gun,
      parts
    );
  } finally {
    release();
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
