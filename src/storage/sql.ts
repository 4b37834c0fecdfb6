/**
 * The port the storage queries are written against, once for both engines: an async connection
 * (`SqlConn`) and a named `Dialect` for what really differs between SQLite and PostgreSQL.
 * Queries use `?` placeholders; the PostgreSQL connection numbers them. Times are bound as ISO
 * 8601 text (SQLite stores that text, PostgreSQL parses it into timestamptz) and JSON as its
 * text; reading them back is the dialect's job.
 *
 * The stores (meta-queries.ts, account-queries.ts, store-queries.ts) run their queries through
 * the two runners an engine gives them: `read` and `write`. A write names what it needs before
 * it runs (`WritePlan`): the advisory locks PostgreSQL takes (SQLite holds one write lock for
 * the whole file anyway) and the GUN its change notification names.
 */
import { CountersignError, fail } from '../errors.js';
import type { Change } from './types.js';

export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  /** A condition "`column` starts with `value`", byte for byte: never LIKE, a GUN may hold % or _. */
  prefixMatch(column: string, value: string): { readonly sql: string; readonly params: unknown[] };
  /** Field `field` of a text column holding JSON, or NULL when the text is not JSON (tampering). */
  jsonField(column: string, field: string): string;
  /** The column that orders rows created in the same millisecond by insertion. */
  readonly insertionOrder: 'rowid' | 'seq';
  /** A `RETURNING` expression true when an upsert inserted; null when the engine has none. */
  readonly insertedFlag: string | null;
  /**
   * What ends a SELECT of rows the transaction is about to change, so that no other transaction
   * changes them meanwhile: PostgreSQL's `FOR UPDATE`, or with `skip` `FOR UPDATE SKIP LOCKED`
   * (rows another transaction holds are passed over, not waited for). Nothing on SQLite, whose one
   * write lock per file keeps every other writer out already.
   */
  lockRows(skip: boolean): string;
  isUniqueViolation(err: unknown): boolean;
  isMissingReference(err: unknown): boolean;
  /** A time column as read (SQLite: ISO text; PostgreSQL: already a Date). */
  date(value: unknown): Date;
  /** A JSON column as read (SQLite: text; PostgreSQL jsonb: already parsed). */
  json(value: unknown): unknown;
  /** Anything that is not already a domain error becomes STORAGE_FAILURE (or _FULL), keeping its cause. */
  wrap(err: unknown): CountersignError;
}

export type RowMap<R, T> = (row: R, dialect: Dialect) => T;

/** One connection, or the pool: what a query runs on. */
export interface SqlConn {
  readonly dialect: Dialect;
  /**
   * The rows, each through `map` when given: mapped in the one promise of the query, so the hot
   * reads (a GET that misses the read cache) pay for no second one.
   */
  rows<R, T = R>(sql: string, params?: readonly unknown[], map?: RowMap<R, T>): Promise<T[]>;
  /** The first row (through `map`), or null. */
  row<R, T = R>(sql: string, params?: readonly unknown[], map?: RowMap<R, T>): Promise<T | null>;
  /** Runs a statement; returns how many rows it changed. */
  execute(sql: string, params?: readonly unknown[]): Promise<number>;
}

/** A changefeed row a write produced; the engine stores it (SQLite at once, PostgreSQL at COMMIT). */
export type PendingChange = Omit<Change, 'id'>;

/** An advisory lock, by name parts (PostgreSQL hashes them into a key; SQLite needs none). */
export type LockName = readonly string[];

export interface WritePlan {
  /** Locks taken in order before the write, held to the end of its transaction. */
  readonly locks?: readonly LockName[];
  /** The GUN the change notification names. */
  readonly gun?: string;
}

export type ReadRun = <T>(work: (c: SqlConn) => Promise<T>) => Promise<T>;
export type WriteWork<T> = (c: SqlConn, feed: PendingChange[]) => Promise<T>;
export type WriteRun = <T>(plan: WritePlan, work: WriteWork<T>) => Promise<T>;

export const gunLock = (gun: string): LockName => ['gun', gun];

/** A WHERE clause of optional conditions, and the parameters of its `?`s in order. */
export class Where {
  private readonly conditions: string[] = [];
  readonly params: unknown[] = [];

  and(condition: string, ...params: unknown[]): this {
    this.conditions.push(condition);
    this.params.push(...params);
    return this;
  }

  /** `condition` (one `?`, for `value`) unless the value is undefined: a filter field not given. */
  given(condition: string, value: unknown): this {
    return value === undefined ? this : this.and(condition, value);
  }

  /** `WHERE a AND b …`, or nothing. */
  get sql(): string {
    return this.conditions.length ? `WHERE ${this.conditions.join(' AND ')}` : '';
  }

  /** ` LIMIT ?` with `n` as the last parameter (so call it last), or nothing without `n`. */
  limit(n: number | undefined): string {
    if (n === undefined) return '';
    this.params.push(n);
    return ' LIMIT ?';
  }
}

/** The work of a write that runs one statement. */
export const statement =
  (sql: string, params: readonly unknown[]) =>
  async (c: SqlConn): Promise<void> =>
    void (await c.execute(sql, params));

/** The work of a write whose one statement must change a row: STORAGE_NOT_FOUND (`missing`) if none. */
export const changeOne =
  (sql: string, params: readonly unknown[], missing: string) =>
  async (c: SqlConn): Promise<void> => {
    if ((await c.execute(sql, params)) === 0) fail('STORAGE_NOT_FOUND', missing);
  };

/**
 * The work of a write that inserts one row: a unique violation becomes STORAGE_CONFLICT
 * (`exists`), and with `missing` a missing reference STORAGE_NOT_FOUND, keeping the cause.
 */
export const insertOne =
  (sql: string, params: readonly unknown[], exists: string, missing?: string) =>
  async (c: SqlConn): Promise<void> => {
    try {
      await c.execute(sql, params);
    } catch (err) {
      if (c.dialect.isUniqueViolation(err)) fail('STORAGE_CONFLICT', exists, { cause: err });
      if (missing !== undefined && c.dialect.isMissingReference(err)) {
        fail('STORAGE_NOT_FOUND', missing, { cause: err });
      }
      throw err;
    }
  };

/** The driver's error code (SQLite's `SQLITE_…`, PostgreSQL's SQLSTATE), if any. */
export function driverCode(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}

/**
 * Anything that is not already a domain error becomes STORAGE_FAILURE (or, when the engine says
 * the disk is `full`, STORAGE_FULL), keeping its cause; `suffix` is added to the message.
 */
export function storageError(err: unknown, full: boolean, suffix = ''): CountersignError {
  if (err instanceof CountersignError) return err;
  const message = (err instanceof Error ? err.message : String(err)) + suffix;
  return new CountersignError(full ? 'STORAGE_FULL' : 'STORAGE_FAILURE', message, { cause: err });
}

/**
 * A FIFO counting semaphore (with one slot, a lock for async work): `await acquire()` returns
 * the function that gives the slot back.
 */
export class Semaphore {
  private readonly waiting: (() => void)[] = [];

  constructor(private free = 1) {}

  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}
