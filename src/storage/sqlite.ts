/**
 * The SQLite engine of the storage contract (src/storage/types.ts): connections, `BEGIN
 * IMMEDIATE`, the switch to WAL and the busy timeout; the queries are the shared ones
 * (stores.ts) over this file's connection port and dialect. The only module that imports
 * better-sqlite3.
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
import Database from 'better-sqlite3';
import { fail, type CountersignError } from '../errors.js';
import { Checkpoints, type CheckpointsOptions } from './checkpoints.js';
import { SQLITE_MIGRATIONS } from './migrations/sqlite.js';
import { addChanges } from './meta-queries.js';
import { latestVersion, missingMigrations, refuseNotaryServerSchema } from './schema.js';
import type { SchemaFacts } from './schema.js';
import { Session } from './session.js';
import { driverCode, Semaphore, storageError } from './sql.js';
import type { Dialect, ReadRun, RowMap, SqlConn, WritePlan, WriteWork } from './sql.js';
import { BoundStorage, bindStores } from './stores.js';
import { TxContext } from './tx-context.js';
import type { Storage, StorageTx } from './types.js';
import { KeptOpenFile, WalSync, type SyncFile } from './wal-sync.js';

type Db = Database.Database;

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

/**
 * A consistent copy of a live database into `dest` (a new file), through SQLite's online backup
 * API: pages are copied in steps while the server keeps writing, and a write by another
 * connection during the copy makes SQLite restart it, so the copy is one committed state.
 * Returns the schema version the copy holds.
 */
export async function backupSqlite(path: string, dest: string): Promise<number> {
  if (existsSync(dest)) fail('CONFIG_INVALID', `${dest} already exists`);
  const source = connect(path, 5000);
  try {
    await source.backup(dest);
    chmodSync(dest, 0o600);
    return schemaVersion(source);
  } catch (err) {
    throw wrap(err);
  } finally {
    source.close();
  }
}

/** `PRAGMA integrity_check` of a database file, opened read-only: 'ok', or SQLite's findings. */
export function sqliteIntegrity(path: string): { result: string; schemaVersion: number } {
  const db = open(path, { readonly: true, fileMustExist: true });
  try {
    const rows = db.pragma('integrity_check', { simple: false }) as { integrity_check: string }[];
    return {
      result: rows.map((r) => r.integrity_check).join('; '),
      schemaVersion: schemaVersion(db),
    };
  } catch (err) {
    throw wrap(err);
  } finally {
    db.close();
  }
}

/**
 * Each connection's page cache, in KiB. better-sqlite3 builds SQLite with 16 MB per connection
 * (SQLITE_DEFAULT_CACHE_SIZE=-16000, eight times SQLite's own default); the server keeps three
 * connections (writer, reader, checkpoint thread) and its own cache of what it serves, so those
 * pages mostly repeated the kernel's page cache in the server's memory. With SQLite's stock 2 MB
 * the bench's long history ended about 20 MB smaller and stored as fast (docs/performance.md
 * "Memory during large uploads").
 */
export const SQLITE_PAGE_CACHE_KIB = 2000;

function open(path: string, options?: Database.Options): Db {
  try {
    return new Database(path, options);
  } catch (err) {
    return fail('STORAGE_FAILURE', `cannot open SQLite database ${path}`, { cause: err });
  }
}

function connect(path: string, busyTimeoutMs: number): Db {
  const db = open(path);
  try {
    // busy_timeout first: switching to WAL takes a lock that a concurrent opener may hold.
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    const mode = switchToWal(db, busyTimeoutMs);
    if (mode !== 'wal')
      fail('STORAGE_FAILURE', `SQLite refused WAL mode (journal_mode=${String(mode)})`);
    // NORMAL: COMMIT appends to the WAL without an fsync on the event loop; a write is durable
    // once the fsync that follows it off the loop is done (src/storage/wal-sync.ts), and its
    // caller is answered only then. A power cut can lose no acknowledged write.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma(`cache_size = -${SQLITE_PAGE_CACHE_KIB}`);
    return db;
  } catch (err) {
    db.close();
    throw wrap(err);
  }
}

/**
 * `journal_mode = WAL`, retried while another process holds the lock. SQLite answers BUSY at once,
 * without its busy handler, when waiting could deadlock (this connection holds a shared lock
 * another opener needs), so two processes opening one new file together need this loop.
 */
function switchToWal(db: Db, busyTimeoutMs: number): unknown {
  const deadline = performance.now() + Math.max(0, busyTimeoutMs);
  for (;;) {
    try {
      return db.pragma('journal_mode = WAL', { simple: true });
    } catch (err) {
      if (driverCode(err) !== 'SQLITE_BUSY' || performance.now() >= deadline) throw err;
      // connect is synchronous (better-sqlite3): wait 10 ms without spinning.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

/**
 * The connection of the checkpoint thread (src/storage/sqlite-checkpoint-worker.ts), here because
 * this is the module that reaches SQLite. `checkpoint` runs a PASSIVE checkpoint; SQLite being
 * busy (another checkpointer, a lock it needs) is not an error: the next round tries again.
 */
export function openCheckpointConnection(path: string): { checkpoint(): void; close(): void } {
  const db = open(path, { fileMustExist: true });
  db.pragma('busy_timeout = 0');
  db.pragma(`cache_size = -${SQLITE_PAGE_CACHE_KIB}`);
  return {
    checkpoint: () => {
      try {
        db.pragma('wal_checkpoint(PASSIVE)');
      } catch (err) {
        if (driverCode(err) !== 'SQLITE_BUSY' && driverCode(err) !== 'SQLITE_LOCKED') throw err;
      }
    },
    close: () => db.close(),
  };
}

/** Stops when an existing file is notary-server's database, read without writing to it. */
function refuseNotaryServerFile(path: string): void {
  let db: Db;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch {
    return; // Not readable as SQLite: the normal open reports it.
  }
  let facts: SchemaFacts;
  try {
    const names = (sql: string): Set<string> => new Set(db.prepare(sql).pluck().all() as string[]);
    facts = {
      tables: names("SELECT name FROM sqlite_master WHERE type = 'table'"),
      migrationColumns: names("SELECT name FROM pragma_table_info('schema_migrations')"),
    };
  } catch {
    return;
  } finally {
    db.close();
  }
  refuseNotaryServerSchema(facts, `the SQLite file ${path}`);
}

const LATEST_SCHEMA = latestVersion(SQLITE_MIGRATIONS);

/** Applies missing migrations in one write transaction, so concurrent openers apply each once. */
function migrate(db: Db): void {
  try {
    // Up to date (the usual case): no write lock, so opening does not wait behind another
    // process's long write transaction.
    if (schemaVersion(db) === LATEST_SCHEMA) return;
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      )`);
      const applied = db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[];
      const record = db.prepare('INSERT INTO schema_migrations (version, name) VALUES (?, ?)');
      for (const m of missingMigrations(SQLITE_MIGRATIONS, applied)) {
        db.exec(m.sql);
        record.run(m.version, m.name);
      }
      db.exec('COMMIT');
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw err;
    }
  } catch (err) {
    throw wrap(err);
  }
}

/** The highest applied migration, 0 for a new file. */
function schemaVersion(db: Db): number {
  const table = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
    .get();
  if (table === undefined) return 0;
  return (
    (db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get() as number | null) ?? 0
  );
}

/** Waits for a commit's fsync (started by `commit`, after which the write lock was released). */
async function durable(synced: Promise<void> | undefined): Promise<void> {
  try {
    await synced;
  } catch (err) {
    throw storageError(err, false, ' (the commit was written but could not be fsynced)');
  }
}

// SQLITE_FULL: the disk (or the file system's quota) is full; SQLite has rolled back.
const wrap = (err: unknown): CountersignError =>
  storageError(err, driverCode(err) === 'SQLITE_FULL');

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
      throw wrap(err);
    }
  },
  wrap,
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
    return this.wrapsErrors || !(err instanceof Error) ? wrap(err) : err;
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
      throw wrap(err);
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
      throw err instanceof Database.SqliteError ? wrap(err) : err;
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
      throw wrap(err);
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
