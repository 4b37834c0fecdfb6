/**
 * The SQLite database file: opening a connection with the settings every connection of ours
 * needs (WAL, busy timeout, `synchronous = NORMAL`, page cache), the checkpoint thread's
 * connection, migrations, the schema version, the integrity check, the online backup, and the
 * refusal of a notary-server file. The only module that imports better-sqlite3; the storage engine
 * over these connections is src/storage/sqlite.ts. Kept apart so that the checkpoint thread
 * (src/storage/sqlite-checkpoint-worker.ts) loads this and not the whole storage layer.
 */
import { chmodSync, existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { fail, type CountersignError } from '../errors.js';
import { SQLITE_MIGRATIONS } from './migrations/sqlite.js';
import { latestVersion, missingMigrations, refuseNotaryServerSchema } from './schema.js';
import type { SchemaFacts } from './schema.js';
import { driverCode, storageError } from './sql.js';

export type Db = Database.Database;

/** A failure of the SQLite driver as a coded error (SQLITE_FULL: the disk or its quota is full). */
export const sqliteFailure = (err: unknown): CountersignError =>
  storageError(err, driverCode(err) === 'SQLITE_FULL');

/** Whether `err` was thrown by SQLite itself (not by code running inside a transaction). */
export const isSqliteError = (err: unknown): boolean => err instanceof Database.SqliteError;

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
    throw sqliteFailure(err);
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
    throw sqliteFailure(err);
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

export function open(path: string, options?: Database.Options): Db {
  try {
    return new Database(path, options);
  } catch (err) {
    return fail('STORAGE_FAILURE', `cannot open SQLite database ${path}`, { cause: err });
  }
}

export function connect(path: string, busyTimeoutMs: number): Db {
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
    throw sqliteFailure(err);
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
export function refuseNotaryServerFile(path: string): void {
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

export const LATEST_SCHEMA = latestVersion(SQLITE_MIGRATIONS);

/** Applies missing migrations in one write transaction, so concurrent openers apply each once. */
export function migrate(db: Db): void {
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
    throw sqliteFailure(err);
  }
}

/** The highest applied migration, 0 for a new file. */
export function schemaVersion(db: Db): number {
  const table = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
    .get();
  if (table === undefined) return 0;
  return (
    (db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get() as number | null) ?? 0
  );
}
