/**
 * PostgreSQL queries of the login counters (LoginAttemptStore in types.ts, migration 4): the twin
 * of sqlite-logins.ts. `reserve` runs in its own short transaction that first takes an advisory
 * lock on the address key: both counts it checks belong to that address, so two instances
 * reserving for one address run one after the other and neither can slip past the count.
 * These transactions are not metadata writes: they bump no store generation and notify nobody.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { decidingOffset, pruneBefore, refusal, waitFor, windowStart } from './login-window.js';
import type { LoginAttempt, LoginAttemptStore, LoginReservation, LoginWindow } from './types.js';

interface Conn {
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

type Run = <T>(work: (c: Conn) => Promise<T>) => Promise<T>;

/** A 64-bit advisory lock key per address, apart from the storage's other locks by its prefix. */
function addressLock(address: string): string {
  return createHash('sha256')
    .update(`countersign\u0000login address\u0000${address}`)
    .digest()
    .readBigInt64BE(0)
    .toString();
}

/** The newest-first `offset`-th attempt time inside the window, if the window is that full. */
async function decidingAt(
  c: Conn,
  where: string,
  params: unknown[],
  since: number,
  window: LoginWindow
): Promise<number | undefined> {
  const { rows } = await c.query<{ at: number }>(
    `SELECT at FROM login_attempts WHERE ${where} AND at > $${params.length + 1}
     ORDER BY at DESC LIMIT 1 OFFSET $${params.length + 2}`,
    [...params, since, decidingOffset(window)]
  );
  return rows[0]?.at;
}

type Limits = { readonly perAccount: LoginWindow; readonly perAddress: LoginWindow };

/** The refusal the windows give now, or null when both have room. */
async function refusalNow(
  c: Conn,
  a: LoginAttempt,
  limits: Limits
): Promise<Exclude<LoginReservation, { ok: true }> | null> {
  const now = a.at.getTime();
  const accountAt = await decidingAt(
    c,
    'account = $1 AND address = $2',
    [a.account, a.address],
    windowStart(now, limits.perAccount),
    limits.perAccount
  );
  const addressAt = await decidingAt(
    c,
    'address = $1',
    [a.address],
    windowStart(now, limits.perAddress),
    limits.perAddress
  );
  return refusal(
    waitFor(accountAt, now, limits.perAccount),
    waitFor(addressAt, now, limits.perAddress)
  );
}

/** `read` uses the pool; `counters` runs `work` in a transaction of its own. */
export function bindLoginAttempts(read: Run, counters: Run): LoginAttemptStore {
  return {
    // A full window is seen without a transaction: a burst's refusals lock nothing.
    reserve: async (a, limits) =>
      (await read((c) => refusalNow(c, a, limits))) ??
      counters(async (c) => {
        // Counters need no durability of their own: losing the last ones in a crash is harmless.
        await c.query('SET LOCAL synchronous_commit = off');
        await c.query(`SELECT pg_advisory_xact_lock(${addressLock(a.address)})`);
        await c.query('DELETE FROM login_attempts WHERE at <= $1', [
          pruneBefore(a.at.getTime(), limits),
        ]);
        const refused = await refusalNow(c, a, limits);
        if (refused !== null) return refused;
        const { rows } = await c.query<{ id: number }>(
          'INSERT INTO login_attempts (account, address, at) VALUES ($1, $2, $3) RETURNING id',
          [a.account, a.address, a.at.getTime()]
        );
        return { ok: true, id: rows[0]!.id };
      }),
    succeeded: (id, account, address) =>
      counters(async (c) => {
        await c.query(
          'DELETE FROM login_attempts WHERE id = $1 OR (account = $2 AND address = $3)',
          [id, account, address]
        );
      }),
    clearAccount: (account) =>
      counters(
        async (c) =>
          (await c.query('DELETE FROM login_attempts WHERE account = $1', [account])).rowCount ?? 0
      ),
    clearAddress: (address) =>
      counters(
        async (c) =>
          (await c.query('DELETE FROM login_attempts WHERE address = $1', [address])).rowCount ?? 0
      ),
    count: (filter) =>
      read(async (c) => {
        const { rows } = await c.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM login_attempts
            WHERE ($1::text IS NULL OR account = $1) AND ($2::text IS NULL OR address = $2)`,
          [filter.account ?? null, filter.address ?? null]
        );
        return rows[0]?.n ?? 0;
      }),
  };
}
