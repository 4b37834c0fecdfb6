/**
 * SQLite queries of the login counters (LoginAttemptStore in types.ts, migration 4). `reserve`
 * runs inside one write transaction of sqlite.ts, which holds SQLite's write lock: counting and
 * recording cannot interleave with another worker's, so a burst cannot slip past the count.
 */
import type Database from 'better-sqlite3';
import { Statements } from './sqlite-statements.js';
import { decidingOffset, pruneBefore, refusal, waitFor, windowStart } from './login-window.js';
import type { LoginAttempt, LoginAttemptStore, LoginReservation, LoginWindow } from './types.js';

/** sqlite.ts's Run, narrowed to these queries. */
type LoginRun = <T>(work: (q: { readonly logins: LoginQueries }) => T) => Promise<T>;

/** `counters` is a write path that does not count as a data change (no cache invalidation). */
export function bindLoginAttempts(read: LoginRun, counters: LoginRun): LoginAttemptStore {
  return {
    // A full window is seen without the write lock: a burst's refusals queue for nothing.
    reserve: async (attempt, limits) =>
      (await read((q) => q.logins.refusal(attempt, limits))) ??
      counters((q) => q.logins.reserve(attempt, limits)),
    succeeded: (id, account, address) => counters((q) => q.logins.succeeded(id, account, address)),
    clearAccount: (account) => counters((q) => q.logins.clear('account', account)),
    clearAddress: (address) => counters((q) => q.logins.clear('address', address)),
    count: (filter) => read((q) => q.logins.count(filter)),
  };
}

export class LoginQueries {
  private readonly statements: Statements;

  constructor(db: Database.Database) {
    this.statements = new Statements(db);
  }

  /** The refusal the windows give now, or null when both have room. Reads only. */
  refusal(
    a: LoginAttempt,
    limits: { perAccount: LoginWindow; perAddress: LoginWindow }
  ): Exclude<LoginReservation, { ok: true }> | null {
    const now = a.at.getTime();
    const accountAt = this.sql(
      `SELECT at FROM login_attempts WHERE account = ? AND address = ? AND at > ?
       ORDER BY at DESC LIMIT 1 OFFSET ?`
    )
      .pluck()
      .get(
        a.account,
        a.address,
        windowStart(now, limits.perAccount),
        decidingOffset(limits.perAccount)
      ) as number | undefined;
    const addressAt = this.sql(
      `SELECT at FROM login_attempts WHERE address = ? AND at > ?
       ORDER BY at DESC LIMIT 1 OFFSET ?`
    )
      .pluck()
      .get(a.address, windowStart(now, limits.perAddress), decidingOffset(limits.perAddress)) as
      number | undefined;
    return refusal(
      waitFor(accountAt, now, limits.perAccount),
      waitFor(addressAt, now, limits.perAddress)
    );
  }

  /** Inside the write transaction: prune, count again, and record when there is room. */
  reserve(
    a: LoginAttempt,
    limits: { perAccount: LoginWindow; perAddress: LoginWindow }
  ): LoginReservation {
    const now = a.at.getTime();
    this.sql('DELETE FROM login_attempts WHERE at <= ?').run(pruneBefore(now, limits));
    const refused = this.refusal(a, limits);
    if (refused !== null) return refused;
    const { lastInsertRowid } = this.sql(
      'INSERT INTO login_attempts (account, address, at) VALUES (?, ?, ?)'
    ).run(a.account, a.address, now);
    return { ok: true, id: Number(lastInsertRowid) };
  }

  succeeded(id: number, account: string, address: string): void {
    this.sql('DELETE FROM login_attempts WHERE id = ? OR (account = ? AND address = ?)').run(
      id,
      account,
      address
    );
  }

  clear(column: 'account' | 'address', value: string): number {
    return this.sql(`DELETE FROM login_attempts WHERE ${column} = ?`).run(value).changes;
  }

  count(filter: { account?: string; address?: string }): number {
    return this.sql(
      `SELECT count(*) FROM login_attempts
       WHERE (? IS NULL OR account = ?) AND (? IS NULL OR address = ?)`
    )
      .pluck()
      .get(
        filter.account ?? null,
        filter.account ?? null,
        filter.address ?? null,
        filter.address ?? null
      ) as number;
  }

  private sql(text: string): Database.Statement {
    return this.statements.get(text);
  }
}
