/**
 * PostgreSQL queries of the webhook queue (WebhookStore in work-types.ts, migration 6): the twin
 * of sqlite-webhooks.ts. Several instances share the queue: the relay locks the cursor row
 * (FOR UPDATE), so one instance at a time turns audit entries into deliveries, and a claim takes
 * due rows with FOR UPDATE SKIP LOCKED, so two instances never send the same attempt.
 */
import type pg from 'pg';
import { auditEntryFromRow, type AuditRow } from './audit-chain.js';
import { DELIVERY_COLUMNS, deliveryFromRow, type DeliveryRow } from './sqlite-webhooks.js';
import type { AuditEntry } from './types.js';
import type { NewDelivery, RelayResult, WebhookStore } from './work-types.js';

interface Conn {
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

type Run = <T>(work: (c: Conn) => Promise<T>) => Promise<T>;

/** `read` runs on the pool; `tx` runs `work` inside its own short transaction. */
export function bindWebhooks(read: Run, tx: Run): WebhookStore {
  return {
    relayAudit: (plan, o) => tx((c) => relayAudit(c, plan, o)),
    enqueue: (deliveries, max) =>
      tx(async (c) => {
        await c.query('LOCK TABLE webhook_cursor IN SHARE ROW EXCLUSIVE MODE');
        if ((await pending(c)) + deliveries.length > max) return false;
        await insertAll(c, deliveries);
        return true;
      }),
    claim: (now, lease, limit) =>
      tx(async (c) => {
        const { rows } = await c.query<DeliveryRow>(
          `UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $1
           WHERE id IN (SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $2
                        ORDER BY next_attempt_at, created_at LIMIT $3 FOR UPDATE SKIP LOCKED)
           RETURNING ${DELIVERY_COLUMNS}`,
          [now + lease, now, limit]
        );
        return rows.map(deliveryFromRow);
      }),
    finish: (id, o) =>
      tx(async (c) => {
        await c.query(
          `UPDATE webhook_deliveries SET state = $1, next_attempt_at = $2, last_attempt_at = $3,
           last_status = $4, last_error = $5 WHERE id = $6`,
          [o.state, o.nextAttemptAt, o.at, o.status, o.error, id]
        );
      }),
    list: (filter) =>
      read(async (c) => {
        const { rows } = await c.query<DeliveryRow>(
          `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries
           WHERE ($1::text IS NULL OR state = $1) AND ($2::bigint IS NULL OR created_at < $2)
           ORDER BY created_at DESC, id LIMIT $3`,
          [filter.state ?? null, filter.before ?? null, filter.limit]
        );
        return rows.map(deliveryFromRow);
      }),
    prune: (keep) =>
      tx(async (c) => {
        const r = await c.query(
          `DELETE FROM webhook_deliveries WHERE state <> 'pending' AND id NOT IN
           (SELECT id FROM webhook_deliveries WHERE state <> 'pending' ORDER BY created_at DESC LIMIT $1)`,
          [keep]
        );
        return r.rowCount ?? 0;
      }),
  };
}

async function relayAudit(
  c: Conn,
  plan: (entry: AuditEntry) => readonly NewDelivery[],
  o: { limit: number; maxPending: number }
): Promise<RelayResult> {
  // Audit ids are assigned under an advisory lock held to commit, so they commit in id order:
  // an id below the cursor can never appear later.
  await c.query(
    `INSERT INTO webhook_cursor (name, audit_id)
     SELECT 'audit', COALESCE(MAX(id), 0) FROM audit_log ON CONFLICT (name) DO NOTHING`
  );
  const locked = await c.query<{ audit_id: string }>(
    "SELECT audit_id FROM webhook_cursor WHERE name = 'audit' FOR UPDATE"
  );
  let cursor = Number(locked.rows[0]!.audit_id);
  let count = await pending(c);
  const { rows } = await c.query<AuditRow>(
    'SELECT id, at, actor, action, subject, details, prev_hash, hash FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2',
    [cursor, o.limit]
  );
  let read = 0;
  let enqueued = 0;
  let full = false;
  for (const row of rows) {
    const deliveries = plan(auditEntryFromRow({ ...row, id: Number(row.id) }));
    if (count + deliveries.length > o.maxPending) {
      full = true;
      break;
    }
    const added = await insertAll(c, deliveries);
    count += added;
    enqueued += added;
    cursor = Number(row.id);
    read++;
  }
  await c.query("UPDATE webhook_cursor SET audit_id = $1 WHERE name = 'audit'", [cursor]);
  return { read, enqueued, full };
}

async function pending(c: Conn): Promise<number> {
  const { rows } = await c.query<{ n: string }>(
    "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE state = 'pending'"
  );
  return Number(rows[0]!.n);
}

async function insertAll(c: Conn, deliveries: readonly NewDelivery[]): Promise<number> {
  let added = 0;
  for (const d of deliveries) {
    const r = await c.query(
      `INSERT INTO webhook_deliveries (id, url, event, event_id, body, state, attempts, created_at, next_attempt_at)
       VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) ON CONFLICT (url, event_id) DO NOTHING`,
      [d.id, d.url, d.event, d.eventId, d.body, d.createdAt]
    );
    added += r.rowCount ?? 0;
  }
  return added;
}
