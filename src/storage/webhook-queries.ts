/**
 * The webhook queue (WebhookStore in work-types.ts, migration 6), written once for both engines
 * over the port in sql.ts; `write` is the engine's `counters` path (stores.ts).
 *
 * Several workers share the queue: instances on one PostgreSQL database, `--workers` on one
 * SQLite file. The relay and `enqueue` lock the cursor row (`SELECT … FOR UPDATE` on PostgreSQL,
 * `Dialect.lockRows`; SQLite's write lock covers the whole file), so one of them at a time counts
 * the pending deliveries, inserts and moves the cursor. A claim takes due rows with
 * `FOR UPDATE SKIP LOCKED` on PostgreSQL, so two instances never send the same attempt.
 *
 * The worker asks every second. When there is nothing to relay, or nothing is due, a read says so
 * and no write transaction starts (on SQLite it would take the file's write lock, which every
 * other writer waits for).
 */
import { listAudit } from './store-queries.js';
import { statement, Where } from './sql.js';
import type { ReadRun, SqlConn, WriteRun } from './sql.js';
import { plain, table } from './table.js';
import type { AuditEntry } from './types.js';
import type { NewDelivery, RelayResult, StoredDelivery, WebhookStore } from './work-types.js';

const DELIVERY = table<StoredDelivery>('webhook_deliveries', {
  ...plain('id url event eventId body state attempts createdAt'),
  ...plain('nextAttemptAt lastAttemptAt lastStatus lastError'),
});

const NOTHING_RELAYED: RelayResult = { read: 0, enqueued: 0, full: false };

export function bindWebhooks(read: ReadRun, write: WriteRun): WebhookStore {
  return {
    relayAudit: async (plan, o) =>
      (await read(relayIdle)) ? NOTHING_RELAYED : write({}, (c) => relayAudit(c, plan, o)),
    enqueue: (deliveries, maxPending) =>
      write({}, async (c) => {
        await lockCursor(c);
        if ((await countPending(c)) + deliveries.length > maxPending) return false;
        await insertAll(c, deliveries);
        return true;
      }),
    claim: async (now, leaseMs, limit) =>
      (await read((c) => anyDue(c, now))) ? write({}, (c) => claim(c, now, leaseMs, limit)) : [],
    finish: (id, o) =>
      write(
        {},
        statement(
          `UPDATE webhook_deliveries SET state = ?, next_attempt_at = ?, last_attempt_at = ?,
           last_status = ?, last_error = ? WHERE id = ?`,
          [o.state, o.nextAttemptAt, o.at, o.status, o.error, id]
        )
      ),
    list: (filter) => read((c) => list(c, filter)),
    prune: (keep) =>
      write({}, (c) =>
        c.execute(
          `DELETE FROM webhook_deliveries WHERE state <> 'pending' AND id NOT IN
           (SELECT id FROM webhook_deliveries WHERE state <> 'pending' ORDER BY created_at DESC LIMIT ?)`,
          [keep]
        )
      ),
  };
}

async function relayAudit(
  c: SqlConn,
  plan: (entry: AuditEntry) => readonly NewDelivery[],
  o: { readonly limit: number; readonly maxPending: number }
): Promise<RelayResult> {
  let cursor = await lockCursor(c);
  let pending = await countPending(c);
  let read = 0;
  let enqueued = 0;
  let full = false;
  for (const entry of await listAudit(c, { afterId: cursor, limit: o.limit })) {
    const deliveries = plan(entry);
    if (pending + deliveries.length > o.maxPending) {
      full = true;
      break;
    }
    const added = await insertAll(c, deliveries);
    pending += added;
    enqueued += added;
    cursor = entry.id;
    read++;
  }
  await c.execute("UPDATE webhook_cursor SET audit_id = ? WHERE name = 'audit'", [cursor]);
  return { read, enqueued, full };
}

/**
 * Places the audit cursor the first time, at the newest audit entry (history is never replayed),
 * and locks its row to the end of the transaction; returns where it stands. Audit ids are handed
 * out under the audit chain's lock, held to commit, so they commit in id order: an id below the
 * cursor can never appear later. (`WHERE true` tells SQLite's parser that ON starts the upsert.)
 */
async function lockCursor(c: SqlConn): Promise<number> {
  await c.execute(
    `INSERT INTO webhook_cursor (name, audit_id)
     SELECT 'audit', COALESCE(MAX(id), 0) FROM audit_log WHERE true ON CONFLICT (name) DO NOTHING`
  );
  const cursor = await c.row<{ audit_id: number }>(
    `SELECT audit_id FROM webhook_cursor WHERE name = 'audit'${c.dialect.lockRows(false)}`
  );
  return cursor!.audit_id;
}

/** The cursor is placed and no audit entry follows it. */
async function relayIdle(c: SqlConn): Promise<boolean> {
  const idle = await c.row(
    `SELECT 1 AS idle FROM webhook_cursor
      WHERE name = 'audit' AND NOT EXISTS (SELECT 1 FROM audit_log WHERE id > audit_id)`
  );
  return idle !== null;
}

async function anyDue(c: SqlConn, now: number): Promise<boolean> {
  const due = await c.row(
    "SELECT 1 AS due FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= ? LIMIT 1",
    [now]
  );
  return due !== null;
}

function claim(c: SqlConn, now: number, leaseMs: number, limit: number): Promise<StoredDelivery[]> {
  return c.rows(
    `UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ?
      WHERE id IN (SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= ?
                   ORDER BY next_attempt_at, created_at LIMIT ?${c.dialect.lockRows(true)})
      RETURNING ${DELIVERY.columns}`,
    [now + leaseMs, now, limit],
    DELIVERY.map
  );
}

function list(c: SqlConn, f: Parameters<WebhookStore['list']>[0]): Promise<StoredDelivery[]> {
  const where = new Where().given('state = ?', f.state).given('created_at < ?', f.before);
  const order = `ORDER BY created_at DESC, id${where.limit(f.limit)}`;
  return DELIVERY.all(c, `${where.sql} ${order}`, where.params);
}

async function countPending(c: SqlConn): Promise<number> {
  const row = await c.row<{ n: number }>(
    "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE state = 'pending'"
  );
  return row!.n;
}

/** Inserts each delivery unless its (url, event_id) exists; returns how many were new. */
async function insertAll(c: SqlConn, deliveries: readonly NewDelivery[]): Promise<number> {
  let added = 0;
  for (const d of deliveries) {
    added += await c.execute(
      `INSERT INTO webhook_deliveries (id, url, event, event_id, body, state, attempts, created_at, next_attempt_at)
       VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (url, event_id) DO NOTHING`,
      [d.id, d.url, d.event, d.eventId, d.body, d.createdAt, d.createdAt]
    );
  }
  return added;
}
