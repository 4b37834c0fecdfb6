/**
 * The SQLite engine of the storage contract (src/storage/types.ts): connections, `BEGIN
 * IMMEDIATE` and the write queue; the queries are the shared ones (stores.ts) over this file's
 * connection port and dialect. Opening a connection (WAL, busy timeout, pragmas), migrations,
 * backup and the integrity check are the database file's (src/storage/sqlite-file.ts).
 *
 * Two connections to one WAL-mode file:
 * - the writer runs every write, always inside `BEGIN IMMEDIATE` (it takes the database's write
 *   lock at the start, so writers in other processes queue on `busy_timeout` instead of failing
 *   at commit), and an async mutex keeps a second writer of this process off the connection
 *   while a transaction awaits;
 * - the reader runs plain reads in autocommit mode, so each read sees the last committed state
 *   and never a transaction half done (WAL readers do not see uncommitted frames).
 * Reads made through a transaction's `tx` use the writer, so they see the transaction's writes.
 *
 * A write is answered once it is durable: COMMIT appends to the WAL (`synchronous = NORMAL`), then
 * an fsync of the WAL runs on the thread pool after the write lock is released, shared by the
 * commits made meanwhile (src/storage/wal-sync.ts).
 *
 * better-sqlite3 is synchronous: a `BEGIN IMMEDIATE` waiting for another process's lock blocks
 * this event loop for up to `busy_timeout`. That is the price of the embedded backend; several
 * instances should use PostgreSQL.
 */
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { fail } from '../errors.js';
import { Checkpoints, type CheckpointsOptions } from './checkpoints.js';
import { addChanges } from './meta-queries.js';
import { Session } from './session.js';
import { driverCode, Semaphore, storageError } from './sql.js';
import {
  connect,
  isSqliteError,
  LATEST_SCHEMA,
  migrate,
  refuseNotaryServerFile,
  schemaVersion,
  sqliteFailure,
  type Db,
} from './sqlite-file.js';
import type { Dialect, ReadRun, RowMap, SqlConn, WritePlan, WriteWork } from './sql.js';
import { BoundStorage, bindStores } from './stores.js';
import { TxContext } from './tx-context.js';
import type { Storage, StorageTx } from './types.js';
import { KeptOpenFile, WalSync, type SyncFile } from './wal-sync.js';

/** What keeps the WAL durable and bounded without blocking the event loop. */
interface WalUpkeep {
  /** Makes commits durable after the write lock is released (src/storage/wal-sync.ts). */
  readonly sync: WalSync;
  /** The `-wal` file's descriptor `sync` goes through, closed with the storage. */
  readonly file: KeptOpenFile;
  /** Copies the WAL into the database file in a thread (src/storage/checkpoints.ts). */
  readonly checkpoints: Checkpoints;
}

export interface SqliteOptions {
  /** How long a writer waits for another process's write lock before failing (ms). */
  readonly busyTimeoutMs?: number;
  /**
   * When set, `generation()` notices other processes' commits by polling `PRAGMA data_version`
   * every this many ms instead of on every call. For a server that is the only process writing
   * metadata to the file (no `--workers`): its own commits still change the generation at once,
   * and an occasional out-of-band writer (an operator tool) is seen within the interval.
   * Unset (the default), every call asks SQLite, as several writer processes require.
   */
  readonly foreignWritePollMs?: number;
  /** How a commit is made durable: an fsync of the `-wal` file (tests watch or delay it). */
  readonly syncFile?: SyncFile;
  /** When the checkpoint thread starts and how often it runs (src/storage/checkpoints.ts). */
  readonly checkpoints?: Pick<CheckpointsOptions, 'startAfterBytes' | 'intervalMs' | 'workerUrl'>;
}

/** Opens (creating if needed) the database file and applies missing migrations. */
export function openSqlite(path: string, options: SqliteOptions = {}): Storage {
  if (path === '' || path === ':memory:' || path.startsWith('file:')) {
    // Two connections must reach one database; an in-memory database is private to each.
    fail('CONFIG_INVALID', `SQLite storage needs a file path, not ${JSON.stringify(path)}`);
  }
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  // Before anything is created or switched to WAL: a notary-server file must stay untouched.
  if (existsSync(path)) refuseNotaryServerFile(path);
  // The data dir may not exist on a first start with --plain-http (nothing else wrote to it yet).
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const existed = existsSync(path);
  const writer = connect(path, busyTimeoutMs);
  try {
    // The file holds sealed keys and account data: nobody else needs to read it. SQLite gives
    // the -wal and -shm files the database file's mode.
    if (!existed) chmodSync(path, 0o600);
    migrate(writer);
    const reader = connect(path, busyTimeoutMs);
    const walPath = `${path}-wal`;
    const walFile = new KeptOpenFile(walPath);
    const { syncFile } = options;
    const wal = new WalSync(syncFile ? () => syncFile(walPath) : walFile.sync);
    // Checkpoints run in a thread of their own (src/storage/checkpoints.ts), not inside COMMIT.
    writer.pragma('wal_autocheckpoint = 0');
    const checkpoints = new Checkpoints({
      ...options.checkpoints,
      path,
      walBytes: () => statSync(walPath, { throwIfNoEntry: false })?.size ?? 0,
      restoreAutoCheckpoint: () => {
        if (writer.open) writer.pragma('wal_autocheckpoint = 1000');
      },
    });
    return new SqliteStorage(
      writer,
      reader,
      writeQueue(path),
      { sync: wal, file: walFile, checkpoints },
      options.foreignWritePollMs
    );
  } catch (err) {
    writer.close();
    throw err;
  }
}

/**
 * The write queue of a database file, one per file in this process. A write transaction holds
 * SQLite's lock across awaits (the port is async), while `BEGIN IMMEDIATE` waits for a lock
 * synchronously: a second opening of the file in this process would block the event loop that
 * the holder needs to finish, until the busy timeout. So every opening of one file in a process
 * queues on one async lock; only other processes wait on `busy_timeout`.
 */
const writeQueues = new Map<string, Semaphore>();

function writeQueue(path: string): Semaphore {
  const key = resolve(path);
  let queue = writeQueues.get(key);
  if (!queue) writeQueues.set(key, (queue = new Semaphore()));
  return queue;
}

/** Waits for a commit's fsync (started by `commit`, after which the write lock was released). */
async function durable(synced: Promise<void> | undefined): Promise<void> {
  try {
    await synced;
  } catch (err) {
    throw storageError(err, false, ' (the commit was written but could not be fsynced)');
  }
}

const SQLITE: Dialect = {
  name: 'sqlite',
  prefixMatch: (column, value) => ({
    sql: `substr(${column}, 1, length(?)) = ?`,
    params: [value, value],
  }),
  jsonField: (column, field) =>
    `CASE WHEN json_valid(${column}) THEN json_extract(${column}, '$.${field}') END`,
  insertionOrder: 'rowid',
  insertedFlag: null,
  lockRows: () => '',
  isUniqueViolation: (err) =>
    ['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY'].includes(
      driverCode(err) as string
    ),
  isMissingReference: (err) => driverCode(err) === 'SQLITE_CONSTRAINT_FOREIGNKEY',
  date: (value) => new Date(value as string),
  json: (value) => {
    try {
      return JSON.parse(value as string) as unknown;
    } catch (err) {
      throw sqliteFailure(err);
    }
  },
  wrap: sqliteFailure,
};

/**
 * The port over one connection. better-sqlite3 answers synchronously; the promise only gives
 * both engines one shape. Statements are prepared once per SQL text and reused. The reader's
 * port wraps its errors itself, so a plain read needs no runner around it (the hot path of every
 * GET that misses the read cache); the writer's errors reach the queries raw (a unique
 * violation means something there) and the transaction wraps them.
 */
class SqliteConn implements SqlConn {
  readonly dialect = SQLITE;
  private readonly prepared = new Map<string, Database.Statement>();

  constructor(
    readonly db: Db,
    private readonly wrapsErrors: boolean
  ) {}

  // Each method catches for itself rather than through a shared closure: these run on every read
  // that misses the read cache, and a closure per call measurably slowed them.
  rows<R, T = R>(sql: string, params: readonly unknown[] = [], map?: RowMap<R, T>): Promise<T[]> {
    try {
      const s = this.statement(sql);
      if (!s.reader) return Promise.resolve((s.run(...params), []));
      const rows = s.all(...params) as R[];
      return Promise.resolve(map ? rows.map((r) => map(r, SQLITE)) : (rows as unknown as T[]));
    } catch (err) {
      return Promise.reject(this.failure(err));
    }
  }

  row<R, T = R>(
    sql: string,
    params: readonly unknown[] = [],
    map?: RowMap<R, T>
  ): Promise<T | null> {
    try {
      const s = this.statement(sql);
      if (!s.reader) return Promise.resolve((s.run(...params), null));
      const r = s.get(...params) as R | undefined;
      return Promise.resolve(r === undefined ? null : map ? map(r, SQLITE) : (r as unknown as T));
    } catch (err) {
      return Promise.reject(this.failure(err));
    }
  }

  execute(sql: string, params: readonly unknown[] = []): Promise<number> {
    try {
      return Promise.resolve(this.statement(sql).run(...params).changes);
    } catch (err) {
      return Promise.reject(this.failure(err));
    }
  }

  private failure(err: unknown): Error {
    return this.wrapsErrors || !(err instanceof Error) ? sqliteFailure(err) : err;
  }

  private statement(sql: string): Database.Statement {
    let s = this.prepared.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.prepared.set(sql, s);
    }
    return s;
  }
}

class SqliteStorage extends BoundStorage implements Storage {
  readonly kind = 'sqlite';
  private readonly readConn: SqliteConn;
  private readonly writeConn: SqliteConn;
  /** Marks async work running inside `transaction`, to catch a write that would wait for itself. */
  private readonly inTransaction = new TxContext<true>();
  private readonly dataVersion: Database.Statement<[], number>;
  private ownCommits = 0;
  /** GUNs changed by commits not yet durable, each with the fsync that makes them so. */
  private readonly unsettled = new Map<string, Promise<void>>();
  /** With polling: the last data_version seen, and the timer that refreshes it. */
  private polledVersion = 0;
  private readonly poller: NodeJS.Timeout | undefined;

  constructor(
    private readonly writer: Db,
    private readonly reader: Db,
    /** The file's write queue in this process (`writeQueue`). */
    private readonly lock: Semaphore,
    /** The WAL's fsync after each commit and its checkpoints, both off the event loop. */
    private readonly wal: WalUpkeep,
    pollMs?: number
  ) {
    super();
    this.readConn = new SqliteConn(reader, true);
    this.writeConn = new SqliteConn(writer, false);
    this.dataVersion = reader.prepare<[], number>('PRAGMA data_version').pluck();
    if (pollMs !== undefined) {
      this.polledVersion = this.dataVersion.get()!;
      this.poller = setInterval(() => {
        if (!this.closed) this.polledVersion = this.dataVersion.get()!;
      }, pollMs);
      this.poller.unref();
    }
    // Mappers fail only with domain errors (the dialect's json wraps its own), so the reader's
    // errors are all wrapped already.
    const read: ReadRun = (work) => work(this.readConn);
    this.bind(
      read,
      (plan, work) => this.writeAlone(plan, work, true),
      (plan, work) => this.writeAlone(plan, work, false)
    );
  }

  /**
   * A plain write: a transaction of its own. The counters path (`data` false) leaves the
   * generation alone and does not wait for durability: an fsync per login guess would cost a
   * burst of them dearly, and a crash may forget the last few counts (docs/auth.md).
   */
  private writeAlone<T>(plan: WritePlan, work: WriteWork<T>, data: boolean): Promise<T> {
    return this.write((session) => session.writeAlone(plan, work), data);
  }

  /** `lockGun` changes nothing here: SQLite has one write lock per file, so all writers queue. */
  async transaction<T>(
    fn: (tx: StorageTx) => Promise<T>,
    _options?: { lockGun?: string }
  ): Promise<T> {
    return this.write(
      (session) => this.inTransaction.run(true, () => fn(bindStores(session.read, session.write))),
      true
    );
  }

  /**
   * Every write: `body` in its own transaction under the write lock, then — the lock free — the
   * wait for the fsync that makes it durable (none for a counters write, `data` false).
   */
  private async write<T>(body: (session: Session) => Promise<T>, data: boolean): Promise<T> {
    const { result, synced } = await this.exclusive(() => this.immediate(body, data));
    await durable(synced);
    return result;
  }

  /** See Storage.settled. */
  override settled(gun: string): Promise<void> | undefined {
    return this.unsettled.size === 0 ? undefined : this.unsettled.get(gun);
  }

  /**
   * COMMIT, then the fsync that makes it durable, started at once (undefined when nothing needs
   * it: a counters write, or a transaction that wrote nothing). The GUNs the commit changed are
   * marked in the same turn as the COMMIT, so no read can see the commit before they are.
   */
  private commit(session: Session, data: boolean): Promise<void> | undefined {
    this.writer.exec('COMMIT');
    if (!data || !session.wrote) return undefined;
    const synced = this.wal.sync.after();
    this.wal.checkpoints.committed();
    // Readers only wait; the writer's caller hears of a failed fsync (durable()).
    const settled = synced.catch(() => undefined);
    for (const gun of session.guns) this.unsettled.set(gun, settled);
    void settled.then(() => {
      for (const gun of session.guns)
        if (this.unsettled.get(gun) === settled) this.unsettled.delete(gun);
    });
    return synced;
  }

  /** `BEGIN IMMEDIATE`, `body`, COMMIT; ROLLBACK if anything fails. */
  private async immediate<T>(
    body: (session: Session) => Promise<T>,
    data: boolean
  ): Promise<{ result: T; synced: Promise<void> | undefined }> {
    try {
      this.writer.exec('BEGIN IMMEDIATE');
    } catch (err) {
      throw sqliteFailure(err);
    }
    // Some SQLite errors (disk full, I/O) roll the whole transaction back on their own.
    const session = new Session(this.writeConn, {
      flush: addChanges,
      alive: () => this.writer.inTransaction,
    });
    try {
      const result = await body(session);
      let synced: Promise<void> | undefined;
      await session.close(async () => void (synced = this.commit(session, data)));
      if (data) this.ownCommits++;
      return { result, synced };
    } catch (err) {
      await session.close(async () => undefined);
      if (this.writer.inTransaction) this.writer.exec('ROLLBACK');
      // COMMIT's own failure arrives raw; errors from `fn` pass through untouched.
      throw isSqliteError(err) ? sqliteFailure(err) : err;
    }
  }

  /**
   * `PRAGMA data_version` on the reader connection changes when any other connection — our
   * writer, or any connection of another process — has committed since the reader last ran it.
   * Our own commit counter is added too: it costs nothing and does not depend on SQLite noticing
   * our writer's commit through the shared WAL index. Both only grow, so the sum changes after
   * every commit anywhere; it may also change without a real change (a transaction that wrote
   * nothing), which only costs the caller a reload.
   */
  generation(): number {
    this.checkOpen();
    return (this.poller ? this.polledVersion : this.dataVersion.get()!) + this.ownCommits;
  }

  async schema(): Promise<{ version: number; latest: number }> {
    try {
      return { version: schemaVersion(this.reader), latest: LATEST_SCHEMA };
    } catch (err) {
      throw sqliteFailure(err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Waits for the writer in progress, so a transaction is never cut in half.
    const release = await this.lock.acquire();
    try {
      if (this.closed) return;
      this.closed = true;
      clearInterval(this.poller);
      // Its connection first: the last connection to close checkpoints and removes the WAL.
      await this.wal.checkpoints.close();
      this.reader.close();
      this.writer.close();
    } finally {
      release();
    }
    await this.wal.file.close();
  }

  private async exclusive<T>(work: () => Promise<T>): Promise<T> {
    this.refuseInsideTransaction(this.inTransaction.get());
    const release = await this.lock.acquire();
    try {
      this.checkOpen();
      return await work();
    } finally {
      release();
    }
  }
}
