/**
 * The SQLite backend of the storage contract (src/storage/types.ts); the only module that
 * imports better-sqlite3.
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
 * better-sqlite3 is synchronous: a `BEGIN IMMEDIATE` waiting for another process's lock blocks
 * this event loop for up to `busy_timeout`. That is the price of the embedded backend; several
 * instances should use PostgreSQL.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { refuseNotaryServerSchema, type SchemaFacts } from './notary-schema.js';
import { CountersignError, fail } from '../errors.js';
import { SQLITE_MIGRATIONS } from './migrations/sqlite.js';
import { AuthQueries, bindAuthStores, type AuthStores } from './sqlite-auth.js';
import { bindLoginAttempts, LoginQueries } from './sqlite-logins.js';
import { bindWebhooks, WebhookQueries } from './sqlite-webhooks.js';
import { bindJobs, JobQueries } from './sqlite-jobs.js';
import { StoreQueries, bindStoreStores } from './sqlite-store.js';
import { Statements } from './sqlite-statements.js';
import { TxContext } from './tx-context.js';
import type {
  Change,
  ChangeCategory,
  KeyAlgorithm,
  NewMeta,
  Storage,
  StorageTx,
  StoredKey,
  StoredMeta,
} from './types.js';

type Db = Database.Database;

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
}

/** Opens (creating if needed) the database file and applies missing migrations. */
export function openSqlite(path: string, options: SqliteOptions = {}): Storage {
  if (path === '' || path === ':memory:' || path.startsWith('file:')) {
    // Two connections must reach one database; an in-memory database is private to each.
    fail('CONFIG_INVALID', `SQLite storage needs a file path, not ${JSON.stringify(path)}`);
  }
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  // Before anything is created or switched to WAL: a notary-server file must stay untouched.
  if (existsSync(path)) refuseNotaryServerSchema(readSchemaFacts(path), `the SQLite file ${path}`);
  // The data dir may not exist on a first start with --plain-http (nothing else wrote to it yet).
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const existed = existsSync(path);
  const writer = connect(path, busyTimeoutMs);
  try {
    // The file holds sealed keys and account data: nobody else needs to read it. SQLite gives
    // the -wal and -shm files the database file's mode.
    if (!existed) chmodSync(path, 0o600);
    migrate(writer);
    return new SqliteStorage(writer, connect(path, busyTimeoutMs), options.foreignWritePollMs);
  } catch (err) {
    writer.close();
    throw err;
  }
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
  let db: Db;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (err) {
    return fail('STORAGE_FAILURE', `cannot open SQLite database ${path}`, { cause: err });
  }
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

function connect(path: string, busyTimeoutMs: number): Db {
  let db: Db;
  try {
    db = new Database(path);
  } catch (err) {
    return fail('STORAGE_FAILURE', `cannot open SQLite database ${path}`, { cause: err });
  }
  try {
    // busy_timeout first: switching to WAL takes a lock that a concurrent opener may hold.
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    const mode = switchToWal(db, busyTimeoutMs);
    if (mode !== 'wal')
      fail('STORAGE_FAILURE', `SQLite refused WAL mode (journal_mode=${String(mode)})`);
    // FULL: a publish the client saw succeed must survive a power cut, not only a crash.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
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
      const code = (err as { code?: unknown } | null)?.code;
      if (code !== 'SQLITE_BUSY' || performance.now() >= deadline) throw err;
      // connect is synchronous (better-sqlite3): wait 10 ms without spinning.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

/** Tables and migration columns of an existing file, read without writing to it. */
function readSchemaFacts(path: string): SchemaFacts {
  let db: Db;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch {
    // Not readable as SQLite: the normal open below reports it.
    return { tables: new Set(), migrationColumns: new Set() };
  }
  try {
    const tables = db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
      .all()
      .map((r) => r.name);
    const columns = db
      .prepare<[], { name: string }>("SELECT name FROM pragma_table_info('schema_migrations')")
      .all()
      .map((r) => r.name);
    return { tables: new Set(tables), migrationColumns: new Set(columns) };
  } catch {
    return { tables: new Set(), migrationColumns: new Set() };
  } finally {
    db.close();
  }
}

/** Applies missing migrations in one write transaction, so concurrent openers apply each once. */
const LATEST_SCHEMA = Math.max(...SQLITE_MIGRATIONS.map((m) => m.version));

function migrate(db: Db): void {
  const latest = LATEST_SCHEMA;
  try {
    // Up to date (the usual case): no write lock, so opening does not wait behind another
    // process's long write transaction.
    if (schemaVersion(db) === latest) return;
    db.transaction(() => {
      db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      )`);
      const applied = new Set(
        db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]
      );
      const newest = Math.max(0, ...applied);
      if (newest > latest) {
        fail(
          'CONFIG_INVALID',
          `the database schema (version ${newest}) is newer than this program knows (${latest})`
        );
      }
      const record = db.prepare('INSERT INTO schema_migrations (version, name) VALUES (?, ?)');
      for (const m of SQLITE_MIGRATIONS) {
        if (applied.has(m.version)) continue;
        db.exec(m.sql);
        record.run(m.version, m.name);
      }
    }).immediate();
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

/** Anything that is not already a domain error becomes STORAGE_FAILURE, keeping the cause. */
function wrap(err: unknown): CountersignError {
  if (err instanceof CountersignError) return err;
  const message = err instanceof Error ? err.message : String(err);
  // SQLITE_FULL: the disk (or the file system's quota) is full; SQLite has rolled back.
  const full = (err as { code?: unknown } | null)?.code === 'SQLITE_FULL';
  return new CountersignError(full ? 'STORAGE_FULL' : 'STORAGE_FAILURE', message, { cause: err });
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** Runs a synchronous piece of work against one connection's queries. */
type Run = <T>(work: (q: Queries) => T) => Promise<T>;

class SqliteStorage implements Storage {
  readonly kind = 'sqlite';
  readonly meta: StorageTx['meta'];
  readonly keys: StorageTx['keys'];
  readonly settings: StorageTx['settings'];
  readonly accounts: AuthStores['accounts'];
  readonly refreshTokens: AuthStores['refreshTokens'];
  readonly loginAttempts: Storage['loginAttempts'];
  readonly webhooks: Storage['webhooks'];
  readonly jobs: Storage['jobs'];
  readonly submissions: StorageTx['submissions'];
  readonly storeRepositories: StorageTx['storeRepositories'];
  readonly audit: StorageTx['audit'];

  private readonly readQ: Queries;
  private readonly writeQ: Queries;
  private readonly lock = new Mutex();
  /** Marks async work running inside `transaction`, to catch a write that would wait for itself. */
  private readonly inTransaction = new TxContext<true>();
  private readonly dataVersion: Database.Statement<[], number>;
  private ownCommits = 0;
  private closed = false;
  /** With polling: the last data_version seen, and the timer that refreshes it. */
  private polledVersion = 0;
  private readonly poller: NodeJS.Timeout | undefined;

  constructor(
    private readonly writer: Db,
    private readonly reader: Db,
    pollMs?: number
  ) {
    this.readQ = new Queries(reader);
    this.writeQ = new Queries(writer);
    this.dataVersion = reader.prepare<[], number>('PRAGMA data_version').pluck();
    if (pollMs !== undefined) {
      this.polledVersion = this.dataVersion.get()!;
      this.poller = setInterval(() => {
        if (!this.closed) this.polledVersion = this.dataVersion.get()!;
      }, pollMs);
      this.poller.unref();
    }
    const read: Run = async (work) => {
      try {
        return work(this.readQ);
      } catch (err) {
        throw wrap(err);
      }
    };
    // A plain write is a one-statement-group transaction of its own.
    const write: Run = (work) =>
      this.exclusive(() => {
        try {
          const result = this.writer.transaction(() => work(this.writeQ)).immediate();
          this.ownCommits++;
          return result;
        } catch (err) {
          throw wrap(err);
        }
      });
    // Login counters change no metadata: their writes leave the generation (and every
    // instance's read cache) alone. They skip the fsync too (synchronous NORMAL, for these
    // commits only): a crash may forget the last few counts, while an fsync per login attempt
    // would stall the event loop (better-sqlite3 is synchronous) during a burst of guesses.
    const counters: Run = (work) =>
      this.exclusive(() => {
        this.writer.pragma('synchronous = NORMAL');
        try {
          return this.writer.transaction(() => work(this.writeQ)).immediate();
        } catch (err) {
          throw wrap(err);
        } finally {
          this.writer.pragma('synchronous = FULL');
        }
      });
    this.loginAttempts = bindLoginAttempts(read, counters);
    // The webhook queue and jobs change no metadata either (migration 6).
    this.webhooks = bindWebhooks(read, counters);
    this.jobs = bindJobs(read, counters);
    ({
      meta: this.meta,
      keys: this.keys,
      settings: this.settings,
      accounts: this.accounts,
      refreshTokens: this.refreshTokens,
      submissions: this.submissions,
      storeRepositories: this.storeRepositories,
      audit: this.audit,
    } = bindStores(read, write));
  }

  /** `lockGun` changes nothing here: SQLite has one write lock per file, so all writers queue. */
  async transaction<T>(
    fn: (tx: StorageTx) => Promise<T>,
    _options?: { lockGun?: string }
  ): Promise<T> {
    return this.exclusive(async () => {
      try {
        this.writer.exec('BEGIN IMMEDIATE');
      } catch (err) {
        throw wrap(err);
      }
      let open = true;
      const inside =
        (savepoint: boolean): Run =>
        async (work) => {
          // Some SQLite errors (disk full, I/O) roll the whole transaction back on their own;
          // without this check later statements would silently run in autocommit mode.
          if (!open || !this.writer.inTransaction) {
            fail('STORAGE_FAILURE', 'the transaction is no longer open');
          }
          try {
            // better-sqlite3 turns a nested transaction into a SAVEPOINT: a failed write leaves
            // nothing behind even if `fn` catches its error and goes on to commit.
            return savepoint
              ? this.writer.transaction(() => work(this.writeQ))()
              : work(this.writeQ);
          } catch (err) {
            throw wrap(err);
          }
        };
      try {
        const tx = bindStores(inside(false), inside(true));
        const result = await this.inTransaction.run(true, () => fn(tx));
        open = false;
        this.writer.exec('COMMIT');
        this.ownCommits++;
        return result;
      } catch (err) {
        open = false;
        if (this.writer.inTransaction) this.writer.exec('ROLLBACK');
        // COMMIT's own failure arrives raw; errors from `fn` pass through untouched.
        throw err instanceof Database.SqliteError ? wrap(err) : err;
      }
    });
  }

  /**
   * `PRAGMA data_version` on the reader connection changes when any other connection — our
   * writer, or any connection of another process — has committed since the reader last ran it.
   * Our own commit counter is added too: it costs nothing and does not depend on SQLite noticing
   * our writer's commit through the shared WAL index. Both only grow, so the sum changes after
   * every commit anywhere; it may also change without a real change (a transaction that wrote
   * nothing), which only costs the caller a reload. Call it before reading what you cache: a
   * commit between the call and the read then causes one extra reload, never a stale cache.
   */
  generation(): number {
    if (this.closed) fail('STORAGE_FAILURE', 'the storage is closed');
    return (this.poller ? this.polledVersion : this.dataVersion.get()!) + this.ownCommits;
  }

  async ping(): Promise<void> {
    try {
      this.reader.prepare('SELECT 1').get();
    } catch (err) {
      throw wrap(err);
    }
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
      this.reader.close();
      this.writer.close();
    } finally {
      release();
    }
  }

  private async exclusive<T>(work: () => T | Promise<T>): Promise<T> {
    if (this.inTransaction.get()) {
      fail(
        'STORAGE_FAILURE',
        'write through the storage object inside transaction(): use its tx argument'
      );
    }
    const release = await this.lock.acquire();
    try {
      if (this.closed) fail('STORAGE_FAILURE', 'the storage is closed');
      return await work();
    } finally {
      release();
    }
  }
}

/** The stores over a read path and a write path (the same path inside a transaction). */
function bindStores(read: Run, write: Run): StorageTx & AuthStores {
  return {
    ...bindAuthStores(read, write),
    ...bindStoreStores(read, write),
    meta: {
      updateMany: (gun, files, at) => write((q) => q.updateMany(gun, files, at)),
      getLatest: (gun, role) => read((q) => q.getLatest(gun, role)),
      getByChecksum: (gun, role, sha256) => read((q) => q.getByChecksum(gun, role, sha256)),
      getByVersion: (gun, role, version) => read((q) => q.getByVersion(gun, role, version)),
      deleteGun: (gun, at) => write((q) => q.deleteGun(gun, at)),
      changes: (gun, changeId, records) => read((q) => q.changes(gun, changeId, records)),
      listGuns: (prefix) => read((q) => q.listGuns(prefix)),
      importVersion: (gun, file, createdAt) => write((q) => q.importVersion(gun, file, createdAt)),
      importChange: (change) => write((q) => q.importChange(change)),
    },
    keys: {
      insertPendingIfAbsent: (key) => write((q) => q.insertPendingIfAbsent(key)),
      insert: (key) => write((q) => q.insertKey(key)),
      get: (keyId) => read((q) => q.getKey(keyId)),
      listFor: (gun, role) => read((q) => q.listKeys(gun, role)),
      getPending: (gun, role) => read((q) => q.getPending(gun, role)),
      markActive: (keyId, at) => write((q) => q.markActive(keyId, at)),
      deleteFor: (gun) => write((q) => q.deleteKeys(gun)),
      listAll: () => read((q) => q.listAllKeys()),
      replaceSealed: (keyId, sealed) => write((q) => q.replaceSealed(keyId, sealed)),
    },
    settings: {
      get: (name) => read((q) => q.getSetting(name)),
      putIfAbsent: (name, value) => write((q) => q.putSettingIfAbsent(name, value)),
      put: (name, value) => write((q) => q.putSetting(name, value)),
    },
  };
}

interface MetaRow {
  gun: string;
  role: string;
  version: number;
  sha256: string;
  data: Buffer;
  created_at: string;
}

interface ChangeRow {
  id: number;
  created_at: string;
  gun: string;
  version: number;
  sha256: string;
  category: ChangeCategory;
}

interface KeyRow {
  key_id: string;
  gun: string;
  role: string;
  algorithm: KeyAlgorithm;
  key_type: string;
  public: string;
  sealed_private: Buffer;
  created_at: string;
  activated_at: string | null;
}

const META = 'SELECT gun, role, version, sha256, data, created_at FROM tuf_files';
const KEY =
  'SELECT key_id, gun, role, algorithm, key_type, public, sealed_private, created_at, activated_at FROM server_keys';

/** All SQL, synchronous, bound to one connection; write methods expect an open transaction. */
class Queries {
  private readonly statements: Statements;
  readonly auth: AuthQueries;
  readonly logins: LoginQueries;
  readonly webhooks: WebhookQueries;
  readonly jobs: JobQueries;
  readonly store: StoreQueries;

  constructor(db: Db) {
    this.statements = new Statements(db);
    this.auth = new AuthQueries(db);
    this.logins = new LoginQueries(db);
    this.webhooks = new WebhookQueries(db);
    this.jobs = new JobQueries(db);
    this.store = new StoreQueries(db);
  }

  updateMany(gun: string, files: readonly NewMeta[], at: Date): void {
    const roles = new Set<string>();
    for (const f of files) {
      if (roles.has(f.role))
        fail('STORAGE_OLD_VERSION', `two files for role ${f.role} in one update`);
      roles.add(f.role);
    }
    // Checked inside the write transaction, so no other writer can slip a version in between.
    for (const f of files) {
      const max = this.sql('SELECT MAX(version) FROM tuf_files WHERE gun = ? AND role = ?')
        .pluck()
        .get(gun, f.role) as number | null;
      if (max !== null && f.version <= max) {
        fail(
          'STORAGE_OLD_VERSION',
          `${gun} ${f.role} version ${f.version} is not above stored version ${max}`
        );
      }
    }
    const createdAt = at.toISOString();
    try {
      for (const f of files) {
        this.sql(
          'INSERT INTO tuf_files (gun, role, version, sha256, data, created_at) VALUES (?, ?, ?, ?, ?, ?)'
        ).run(gun, f.role, f.version, f.sha256, f.data, createdAt);
        if (f.role === 'timestamp') this.addChange(createdAt, gun, f.version, f.sha256, 'update');
      }
    } catch (err) {
      if (isUniqueViolation(err))
        fail('STORAGE_OLD_VERSION', `${gun}: a version already exists`, { cause: err });
      throw err;
    }
  }

  importVersion(gun: string, f: NewMeta, createdAt: Date): 'stored' | 'present' {
    const stored = this.getByVersion(gun, f.role, f.version);
    if (stored) {
      if (stored.data.equals(f.data)) return 'present';
      fail(
        'STORAGE_CONFLICT',
        `${gun} ${f.role} version ${f.version} is already stored with other bytes`
      );
    }
    this.sql(
      'INSERT INTO tuf_files (gun, role, version, sha256, data, created_at) VALUES (?, ?, ?, ?, ?, ?)'
    ).run(gun, f.role, f.version, f.sha256, f.data, createdAt.toISOString());
    return 'stored';
  }

  importChange(c: Omit<Change, 'id'>): 'stored' | 'present' {
    const createdAt = c.createdAt.toISOString();
    const found = this.sql(
      'SELECT 1 FROM changefeed WHERE gun = ? AND version = ? AND sha256 = ? AND category = ? AND created_at = ?'
    ).get(c.gun, c.version, c.sha256, c.category, createdAt);
    if (found !== undefined) return 'present';
    this.addChange(createdAt, c.gun, c.version, c.sha256, c.category);
    return 'stored';
  }

  getLatest(gun: string, role: string): StoredMeta | null {
    return toMeta(
      this.sql(`${META} WHERE gun = ? AND role = ? ORDER BY version DESC LIMIT 1`).get(gun, role)
    );
  }

  getByChecksum(gun: string, role: string, sha256: string): StoredMeta | null {
    // Several versions can hold identical bytes (a re-signed file never does, but a client may
    // re-upload); the newest is as good as any and makes the answer deterministic.
    return toMeta(
      this.sql(
        `${META} WHERE gun = ? AND role = ? AND sha256 = ? ORDER BY version DESC LIMIT 1`
      ).get(gun, role, sha256)
    );
  }

  getByVersion(gun: string, role: string, version: number): StoredMeta | null {
    return toMeta(
      this.sql(`${META} WHERE gun = ? AND role = ? AND version = ?`).get(gun, role, version)
    );
  }

  deleteGun(gun: string, at: Date): boolean {
    // `=` compares exactly (binary collation): a/b never matches a/bc or a/b/c.
    const { changes } = this.sql('DELETE FROM tuf_files WHERE gun = ?').run(gun);
    if (changes === 0) return false;
    this.addChange(at.toISOString(), gun, 0, '', 'deletion');
    return true;
  }

  /** notary's SQLStorage.GetChanges, rule for rule (docs/protocol.md §1.4). */
  changes(gun: string | null, changeId: number, records: number): Change[] {
    const reversed = changeId < 0 || records < 0;
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (gun !== null) {
      where.push('gun = ?');
      params.push(gun);
    }
    if (!reversed) {
      where.push('id > ?');
      params.push(changeId);
    } else if (changeId > 0) {
      where.push('id < ?');
      params.push(changeId);
    }
    params.push(Math.abs(records));
    const rows = this.sql(
      `SELECT id, created_at, gun, version, sha256, category FROM changefeed
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY id ${reversed ? 'DESC' : 'ASC'} LIMIT ?`
    ).all(...params) as ChangeRow[];
    if (reversed) rows.reverse();
    return rows.map((r) => ({
      id: r.id,
      createdAt: new Date(r.created_at),
      gun: r.gun,
      version: r.version,
      sha256: r.sha256,
      category: r.category,
    }));
  }

  listGuns(prefix?: string): string[] {
    // substr rather than LIKE: a GUN may contain % or _, which LIKE would treat as wildcards.
    const p = prefix ?? '';
    return this.sql(
      `SELECT DISTINCT gun FROM tuf_files
       WHERE role = 'timestamp' AND substr(gun, 1, length(?)) = ? ORDER BY gun`
    )
      .pluck()
      .all(p, p) as string[];
  }

  insertPendingIfAbsent(key: StoredKey): StoredKey {
    const pending = this.getPending(key.gun, key.role);
    if (pending) return pending;
    // It is inserted as pending whatever activatedAt says: that is what the caller asked for.
    const stored: StoredKey = { ...key, activatedAt: null };
    this.insertKey(stored);
    return stored;
  }

  insertKey(key: StoredKey): void {
    try {
      this.sql(
        `INSERT INTO server_keys (key_id, gun, role, algorithm, key_type, public, sealed_private, created_at, activated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
      ).run(
        key.keyId,
        key.gun,
        key.role,
        key.algorithm,
        key.keyType,
        key.publicB64,
        key.sealedPrivate,
        key.createdAt.toISOString(),
        key.activatedAt?.toISOString() ?? null
      );
    } catch (err) {
      if (isUniqueViolation(err))
        fail('STORAGE_CONFLICT', `key ${key.keyId} already exists`, { cause: err });
      throw err;
    }
  }

  getKey(keyId: string): StoredKey | null {
    return toKey(this.sql(`${KEY} WHERE key_id = ?`).get(keyId));
  }

  listKeys(gun: string, role: string): StoredKey[] {
    // rowid breaks ties between keys created in the same millisecond, in insertion order.
    return (
      this.sql(`${KEY} WHERE gun = ? AND role = ? ORDER BY created_at, rowid`).all(
        gun,
        role
      ) as KeyRow[]
    ).map((r) => toKey(r)!);
  }

  getPending(gun: string, role: string): StoredKey | null {
    return toKey(
      this.sql(
        `${KEY} WHERE gun = ? AND role = ? AND activated_at IS NULL ORDER BY created_at DESC, rowid DESC LIMIT 1`
      ).get(gun, role)
    );
  }

  markActive(keyId: string, at: Date): void {
    const { changes } = this.sql(
      'UPDATE server_keys SET activated_at = ? WHERE key_id = ? AND activated_at IS NULL'
    ).run(at.toISOString(), keyId);
    if (changes === 0 && !this.getKey(keyId)) fail('STORAGE_NOT_FOUND', `no key ${keyId}`);
  }

  deleteKeys(gun: string): void {
    this.sql('DELETE FROM server_keys WHERE gun = ?').run(gun);
  }

  listAllKeys(): StoredKey[] {
    return this.sql(`${KEY} ORDER BY rowid`)
      .all()
      .map((r) => toKey(r) as StoredKey);
  }

  replaceSealed(keyId: string, sealed: Buffer): void {
    const { changes } = this.sql('UPDATE server_keys SET sealed_private = ? WHERE key_id = ?').run(
      sealed,
      keyId
    );
    if (changes === 0) fail('STORAGE_NOT_FOUND', `no key ${keyId}`);
  }

  getSetting(name: string): string | null {
    return (
      (this.sql('SELECT value FROM settings WHERE name = ?').pluck().get(name) as
        string | undefined) ?? null
    );
  }

  putSettingIfAbsent(name: string, value: string): string {
    this.sql('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING').run(
      name,
      value
    );
    return this.getSetting(name)!;
  }

  putSetting(name: string, value: string): void {
    this.sql(
      'INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'
    ).run(name, value);
  }

  private addChange(
    createdAt: string,
    gun: string,
    version: number,
    sha256: string,
    category: ChangeCategory
  ): void {
    this.sql(
      'INSERT INTO changefeed (created_at, gun, version, sha256, category) VALUES (?, ?, ?, ?, ?)'
    ).run(createdAt, gun, version, sha256, category);
  }

  private sql(text: string): Database.Statement {
    return this.statements.get(text);
  }
}

function toMeta(row: unknown): StoredMeta | null {
  if (row === undefined) return null;
  const r = row as MetaRow;
  return {
    gun: r.gun,
    role: r.role,
    version: r.version,
    sha256: r.sha256,
    data: r.data,
    createdAt: new Date(r.created_at),
  };
}

function toKey(row: unknown): StoredKey | null {
  if (row === undefined) return null;
  const r = row as KeyRow;
  return {
    keyId: r.key_id,
    gun: r.gun,
    role: r.role,
    algorithm: r.algorithm,
    keyType: r.key_type,
    publicB64: r.public,
    sealedPrivate: r.sealed_private,
    createdAt: new Date(r.created_at),
    activatedAt: r.activated_at === null ? null : new Date(r.activated_at),
  };
}

/** A FIFO lock for async work: `await acquire()` returns the function that releases it. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();

  async acquire(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const previous = this.tail;
    this.tail = previous.then(() => held);
    await previous;
    return release;
  }
}
