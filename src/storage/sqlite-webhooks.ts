/**
 * SQLite queries of the webhook queue (WebhookStore in work-types.ts, migration 6). Every write
 * runs in one write transaction of sqlite.ts, which holds SQLite's write lock for the whole
 * file: a relay, a claim or an insert never interleaves with another worker's.
 */
import type Database from 'better-sqlite3';
import { auditEntryFromRow, type AuditRow } from './audit-chain.js';
import { Statements } from './sqlite-statements.js';
import type {
  DeliveryOutcome,
  NewDelivery,
  RelayResult,
  StoredDelivery,
  WebhookStore,
} from './work-types.js';
import type { AuditEntry } from './types.js';

type WebhookRun = <T>(work: (q: { readonly webhooks: WebhookQueries }) => T) => Promise<T>;

const NOTHING_RELAYED = { read: 0, enqueued: 0, full: false } as const;

/**
 * The worker asks every second; when there is nothing to relay or send, a read says so and the
 * write lock, which every other writer of the file waits for, is not taken.
 */
export function bindWebhooks(read: WebhookRun, write: WebhookRun): WebhookStore {
  return {
    relayAudit: async (plan, o) =>
      (await read((q) => q.webhooks.relayIdle()))
        ? NOTHING_RELAYED
        : write((q) => q.webhooks.relayAudit(plan, o)),
    enqueue: (deliveries, max) => write((q) => q.webhooks.enqueue(deliveries, max)),
    claim: async (now, lease, limit) =>
      (await read((q) => q.webhooks.anyDue(now)))
        ? write((q) => q.webhooks.claim(now, lease, limit))
        : [],
    finish: (id, outcome) => write((q) => q.webhooks.finish(id, outcome)),
    list: (filter) => read((q) => q.webhooks.list(filter)),
    prune: (keep) => write((q) => q.webhooks.prune(keep)),
  };
}

export interface DeliveryRow {
  id: string;
  url: string;
  event: string;
  event_id: string;
  body: string;
  state: StoredDelivery['state'];
  attempts: number | string;
  created_at: number | string;
  next_attempt_at: number | string;
  last_attempt_at: number | string | null;
  last_status: number | null;
  last_error: string | null;
}

/** Shared with postgres-webhooks.ts (which gets bigints as text). */
export function deliveryFromRow(r: DeliveryRow): StoredDelivery {
  const n = (v: number | string | null): number | null => (v === null ? null : Number(v));
  return {
    id: r.id,
    url: r.url,
    event: r.event,
    eventId: r.event_id,
    body: r.body,
    state: r.state,
    attempts: Number(r.attempts),
    createdAt: Number(r.created_at),
    nextAttemptAt: Number(r.next_attempt_at),
    lastAttemptAt: n(r.last_attempt_at),
    lastStatus: r.last_status,
    lastError: r.last_error,
  };
}

export const DELIVERY_COLUMNS =
  'id, url, event, event_id, body, state, attempts, created_at, next_attempt_at, last_attempt_at, last_status, last_error';

export class WebhookQueries {
  private readonly statements: Statements;

  constructor(db: Database.Database) {
    this.statements = new Statements(db);
  }

  relayAudit(
    plan: (entry: AuditEntry) => readonly NewDelivery[],
    o: { limit: number; maxPending: number }
  ): RelayResult {
    let cursor = this.sql('SELECT audit_id FROM webhook_cursor WHERE name = ?')
      .pluck()
      .get('audit') as number | undefined;
    if (cursor === undefined) {
      cursor = (this.sql('SELECT MAX(id) FROM audit_log').pluck().get() as number | null) ?? 0;
      this.sql('INSERT INTO webhook_cursor (name, audit_id) VALUES (?, ?)').run('audit', cursor);
      return { read: 0, enqueued: 0, full: false };
    }
    let pending = this.pending();
    const rows = this.sql(
      'SELECT id, at, actor, action, subject, details, prev_hash, hash FROM audit_log WHERE id > ? ORDER BY id LIMIT ?'
    ).all(cursor, o.limit) as AuditRow[];
    let read = 0;
    let enqueued = 0;
    let full = false;
    for (const row of rows) {
      const deliveries = plan(auditEntryFromRow(row));
      if (pending + deliveries.length > o.maxPending) {
        full = true;
        break;
      }
      const added = this.insertAll(deliveries);
      pending += added;
      enqueued += added;
      cursor = row.id;
      read++;
    }
    this.sql('UPDATE webhook_cursor SET audit_id = ? WHERE name = ?').run(cursor, 'audit');
    return { read, enqueued, full };
  }

  /** The cursor is placed and no audit entry follows it. */
  relayIdle(): boolean {
    const cursor = this.sql('SELECT audit_id FROM webhook_cursor WHERE name = ?')
      .pluck()
      .get('audit') as number | undefined;
    if (cursor === undefined) return false;
    return this.sql('SELECT 1 FROM audit_log WHERE id > ? LIMIT 1').get(cursor) === undefined;
  }

  anyDue(now: number): boolean {
    return (
      this.sql(
        "SELECT 1 FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= ? LIMIT 1"
      ).get(now) !== undefined
    );
  }

  enqueue(deliveries: readonly NewDelivery[], maxPending: number): boolean {
    if (this.pending() + deliveries.length > maxPending) return false;
    this.insertAll(deliveries);
    return true;
  }

  claim(now: number, leaseMs: number, limit: number): StoredDelivery[] {
    const rows = this.sql(
      `UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ?
       WHERE id IN (SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= ?
                    ORDER BY next_attempt_at, created_at LIMIT ?)
       RETURNING ${DELIVERY_COLUMNS}`
    ).all(now + leaseMs, now, limit) as DeliveryRow[];
    return rows.map(deliveryFromRow);
  }

  finish(id: string, o: DeliveryOutcome): void {
    this.sql(
      `UPDATE webhook_deliveries SET state = ?, next_attempt_at = ?, last_attempt_at = ?,
       last_status = ?, last_error = ? WHERE id = ?`
    ).run(o.state, o.nextAttemptAt, o.at, o.status, o.error, id);
  }

  list(filter: { state?: string; limit: number; before?: number }): StoredDelivery[] {
    const rows = this.sql(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries
       WHERE (? IS NULL OR state = ?) AND (? IS NULL OR created_at < ?)
       ORDER BY created_at DESC, id LIMIT ?`
    ).all(
      filter.state ?? null,
      filter.state ?? null,
      filter.before ?? null,
      filter.before ?? null,
      filter.limit
    ) as DeliveryRow[];
    return rows.map(deliveryFromRow);
  }

  prune(keep: number): number {
    return this.sql(
      `DELETE FROM webhook_deliveries WHERE state <> 'pending' AND id NOT IN
       (SELECT id FROM webhook_deliveries WHERE state <> 'pending' ORDER BY created_at DESC LIMIT ?)`
    ).run(keep).changes;
  }

  private pending(): number {
    return this.sql("SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'")
      .pluck()
      .get() as number;
  }

  /** Inserts each delivery unless its (url, event_id) exists; returns how many were new. */
  private insertAll(deliveries: readonly NewDelivery[]): number {
    let added = 0;
    for (const d of deliveries) {
      added += this.sql(
        `INSERT INTO webhook_deliveries (id, url, event, event_id, body, state, attempts, created_at, next_attempt_at)
         VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (url, event_id) DO NOTHING`
      ).run(d.id, d.url, d.event, d.eventId, d.body, d.createdAt, d.createdAt).changes;
    }
    return added;
  }

  private sql(text: string): Database.Statement {
    return this.statements.get(text);
  }
}
