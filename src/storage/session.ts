/**
 * One open transaction on one connection, for both engines: the engine has sent BEGIN (SQLite's
 * `BEGIN IMMEDIATE`, PostgreSQL's BEGIN and writers' lock) and ends it through `close`.
 *
 * Operations of one transaction run one at a time (a connection runs one statement at a time,
 * and a write's statements must not interleave with another's). A write inside `transaction()`
 * runs in a savepoint, driven here rather than by better-sqlite3's synchronous `transaction()`,
 * so a failed write leaves nothing behind and the transaction stays usable even if the caller
 * catches the error and commits.
 */
import { fail } from '../errors.js';
import { Semaphore } from './sql.js';
import type { PendingChange, ReadRun, SqlConn, WritePlan, WriteRun, WriteWork } from './sql.js';

const SAVEPOINT = 'countersign_write';

/** What differs per engine while a transaction is open. */
export interface SessionEngine {
  /** SQL (statements ending in ';') taking what `plan` needs and the transaction lacks (PostgreSQL's locks). */
  prepare?(plan: WritePlan): string;
  /** Stores a write's changefeed rows inside that write (SQLite); without it they wait for COMMIT. */
  flush?(c: SqlConn, feed: readonly PendingChange[]): Promise<void>;
  /** False once the engine knows the transaction is gone (SQLite rolls back by itself after some errors). */
  alive?(): boolean;
}

export class Session {
  open = true;
  /** A write ran (or was attempted): the commit counts as a data change. */
  wrote = false;
  /** Changefeed rows waiting for COMMIT (PostgreSQL). */
  readonly feed: PendingChange[] = [];
  /** The GUNs written, for the change notification. */
  readonly guns = new Set<string>();
  private readonly mutex = new Semaphore();

  constructor(
    readonly conn: SqlConn,
    private readonly engine: SessionEngine = {}
  ) {}

  read: ReadRun = (work) => this.serial(() => work(this.conn));

  /** A write inside `transaction()`, in a savepoint. */
  write: WriteRun = (plan, work) =>
    this.serial(async () => {
      await this.conn.execute(`${this.take(plan)}SAVEPOINT ${SAVEPOINT}`);
      const feedLength = this.feed.length;
      try {
        const result = await this.run(work);
        await this.conn.execute(`RELEASE SAVEPOINT ${SAVEPOINT}`);
        return result;
      } catch (err) {
        this.feed.length = feedLength;
        if (this.engine.alive?.() !== false) {
          await this.conn.execute(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
          await this.conn.execute(`RELEASE SAVEPOINT ${SAVEPOINT}`);
        }
        throw err;
      }
    });

  /** A write that is the whole transaction: no savepoint, the transaction rolls back instead. */
  writeAlone: WriteRun = (plan, work) =>
    this.serial(async () => {
      const setup = this.take(plan);
      if (setup !== '') await this.conn.execute(setup);
      return this.run(work);
    });

  /** Runs `end` (COMMIT or ROLLBACK) after any operation still running; once. */
  async close(end: () => Promise<void>): Promise<void> {
    const release = await this.mutex.acquire();
    try {
      if (!this.open) return;
      this.open = false;
      await end();
    } finally {
      release();
    }
  }

  private async serial<T>(work: () => Promise<T>): Promise<T> {
    const release = await this.mutex.acquire();
    try {
      // Without the engine's check, statements after SQLite's own rollback would run in
      // autocommit mode.
      if (!this.open || this.engine.alive?.() === false) {
        fail('STORAGE_FAILURE', 'the transaction is no longer open');
      }
      return await work();
    } catch (err) {
      throw this.conn.dialect.wrap(err);
    } finally {
      release();
    }
  }

  private take(plan: WritePlan): string {
    this.wrote = true;
    if (plan.gun !== undefined) this.guns.add(plan.gun);
    return this.engine.prepare?.(plan) ?? '';
  }

  private async run<T>(work: WriteWork<T>): Promise<T> {
    const result = await work(this.conn, this.feed);
    if (this.engine.flush && this.feed.length > 0) {
      await this.engine.flush(this.conn, this.feed);
      this.feed.length = 0;
    }
    return result;
  }
}
