/**
 * Reading a notary-server deployment's databases (docs/migrate.md "From notary-server with notary-signer"): notary-server's
 * `tuf_files` and `changefeed`, notary-signer's `private_keys`, in the schemas of notary 0.7's
 * migrations for PostgreSQL and MySQL. The SQL is written once; the two drivers sit behind
 * `SqlReader` (pg in src/storage/postgres.ts, mysql2 in src/migrate/mysql-reader.ts).
 *
 * Soft-deleted rows (GORM's `deleted_at`) are what notary-server itself never reads: skipped.
 * Times are `timestamp`/`datetime` columns without a zone, read as UTC (notary's containers and
 * Harbor run in UTC).
 */
import { fail, isCountersignError } from '../errors.js';
import type { Change } from '../storage/types.js';
import type { NotarySignerKeyRow } from './signer-keys.js';

export interface SqlReader {
  query<R>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

export type Dialect = 'postgres' | 'mysql';

/** One `tuf_files` row. */
export interface NotaryFileRow {
  readonly gun: string;
  readonly role: string;
  readonly version: number;
  /** The sha256 column as notary-server stored it (lower-case hex), checked against the bytes later. */
  readonly sha256: string;
  readonly data: Buffer;
  readonly createdAt: Date;
}

/** One `changefeed` row, in notary's id order: the shape Countersign's own records have. */
export type NotaryChangeRow = Change;

export interface NotaryServerSource {
  /** GUNs with at least one stored file, in lexical order. */
  guns(): Promise<string[]>;
  /** Every stored version of every role of `gun`. */
  files(gun: string): Promise<NotaryFileRow[]>;
  /** The whole changefeed, oldest first. */
  changes(): Promise<NotaryChangeRow[]>;
  close(): Promise<void>;
}

export interface NotarySignerSource {
  keys(): Promise<NotarySignerKeyRow[]>;
  close(): Promise<void>;
}

/** Opens a database by its DSN's scheme: `postgres://`, `postgresql://` or `mysql://`. */
export async function openDatabase(dsn: string): Promise<{ dialect: Dialect; reader: SqlReader }> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(dsn)?.[1]?.toLowerCase();
  let dialect: Dialect;
  let reader: SqlReader;
  try {
    if (scheme === 'postgres' || scheme === 'postgresql') {
      dialect = 'postgres';
      const { openPostgresReader } = await import('../storage/postgres.js');
      reader = await openPostgresReader(dsn);
    } else if (scheme === 'mysql') {
      dialect = 'mysql';
      const { openMysqlReader } = await import('./mysql-reader.js');
      reader = await openMysqlReader(dsn);
    } else {
      return fail('USAGE', 'a notary database is named by a postgres://… or mysql://… URL');
    }
  } catch (err) {
    if (isCountersignError(err, 'USAGE')) throw err;
    return fail('NETWORK', `cannot connect to ${redact(dsn)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return { dialect, reader };
}

/** The DSN without its password, for messages. */
export function redact(dsn: string): string {
  return dsn.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}

/** `created_at` as milliseconds since the epoch, read as UTC, in each dialect. */
const epochMs = (dialect: Dialect, column: string): string =>
  dialect === 'postgres'
    ? `(extract(epoch from ${column}) * 1000)::float8`
    : `(UNIX_TIMESTAMP(${column}) * 1000)`;

const placeholder = (dialect: Dialect, n: number): string =>
  dialect === 'postgres' ? `$${n}` : '?';

/**
 * Opens the database and fails with a clear message unless the tables and columns are there:
 * the only sign it is a notary database and not some other one.
 */
async function openNotaryDatabase(
  dsn: string,
  whose: string,
  tables: readonly (readonly [table: string, columns: string])[]
): Promise<{ dialect: Dialect; reader: SqlReader }> {
  const opened = await openDatabase(dsn);
  for (const [table, columns] of tables) {
    try {
      await opened.reader.query(`SELECT ${columns} FROM ${table} WHERE 1 = 0`);
    } catch (err) {
      await opened.reader.close();
      fail(
        'MIGRATE_SOURCE',
        `this is not ${whose} database: it has no table ${table} with columns ${columns} (${(err as Error).message})`,
        { cause: err }
      );
    }
  }
  return opened;
}

interface FileSqlRow {
  gun: string;
  role: string;
  version: number | string;
  sha256: string | null;
  data: Buffer;
  created_ms: number | string | null;
}

interface ChangeSqlRow {
  id: number | string;
  gun: string;
  version: number | string;
  sha256: string | null;
  category: string;
  created_ms: number | string | null;
}

export async function notaryServerSource(dsn: string): Promise<NotaryServerSource> {
  const { dialect, reader } = await openNotaryDatabase(dsn, "notary-server's", [
    ['tuf_files', 'gun, role, version, sha256, data, created_at, deleted_at'],
    ['changefeed', 'id, created_at, gun, version, sha256, category'],
  ]);
  return {
    async guns() {
      const rows = await reader.query<{ gun: string }>(
        'SELECT DISTINCT gun FROM tuf_files WHERE deleted_at IS NULL ORDER BY gun'
      );
      return rows.map((r) => r.gun);
    },
    async files(gun) {
      const rows = await reader.query<FileSqlRow>(
        `SELECT gun, role, version, sha256, data, ${epochMs(dialect, 'created_at')} AS created_ms
         FROM tuf_files WHERE gun = ${placeholder(dialect, 1)} AND deleted_at IS NULL ORDER BY role, version`,
        [gun]
      );
      return rows.map((r) => ({
        gun: r.gun,
        role: r.role,
        version: Number(r.version),
        sha256: (r.sha256 ?? '').trim().toLowerCase(),
        data: Buffer.from(r.data),
        createdAt: toDate(r.created_ms),
      }));
    },
    async changes() {
      const rows = await reader.query<ChangeSqlRow>(
        `SELECT id, gun, version, sha256, category, ${epochMs(dialect, 'created_at')} AS created_ms
         FROM changefeed ORDER BY id`
      );
      return rows.map((r) => ({
        id: Number(r.id),
        gun: r.gun,
        version: Number(r.version),
        sha256: (r.sha256 ?? '').trim(),
        category: r.category === 'deletion' ? 'deletion' : 'update',
        createdAt: toDate(r.created_ms),
      }));
    },
    close: () => reader.close(),
  };
}

interface KeySqlRow {
  key_id: string;
  gun: string;
  role: string;
  algorithm: string;
  passphrase_alias: string;
  public: Buffer;
  private: Buffer | string;
  created_ms: number | string | null;
  last_used_ms: number | string | null;
}

export async function notarySignerSource(dsn: string): Promise<NotarySignerSource> {
  const { dialect, reader } = await openNotaryDatabase(dsn, "notary-signer's", [
    [
      'private_keys',
      'key_id, gun, role, algorithm, passphrase_alias, public, private, created_at, last_used, deleted_at',
    ],
  ]);
  return {
    async keys() {
      const rows = await reader.query<KeySqlRow>(
        `SELECT key_id, gun, role, algorithm, passphrase_alias, public, private,
           ${epochMs(dialect, 'created_at')} AS created_ms, ${epochMs(dialect, 'last_used')} AS last_used_ms
         FROM private_keys WHERE deleted_at IS NULL ORDER BY id`
      );
      return rows.map((r) => ({
        keyId: r.key_id,
        gun: r.gun,
        role: r.role,
        algorithm: r.algorithm,
        passphraseAlias: r.passphrase_alias,
        publicKey: Buffer.from(r.public),
        sealed: Buffer.isBuffer(r.private) ? r.private.toString('latin1') : String(r.private),
        createdAt: toDate(r.created_ms),
        lastUsed: r.last_used_ms === null ? null : toDate(r.last_used_ms),
      }));
    },
    close: () => reader.close(),
  };
}

/**
 * Milliseconds, cut as a client parsing notary's RFC 3339 times with nanoseconds would. A
 * missing creation time (a row written outside notary) reads as the epoch, never as now.
 */
function toDate(ms: number | string | null): Date {
  return new Date(ms === null ? 0 : Math.floor(Number(ms)));
}
