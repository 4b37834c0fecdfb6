/**
 * The PostgreSQL engine of the storage contract (src/storage/types.ts), for several server
 * instances sharing one database: the pool, transactions and advisory locks; the queries are
 * the shared ones (stores.ts) over this file's connection port and dialect, and the cache
 * coherence between instances is postgres-coherence.ts. The only module that imports `pg`.
 *
 * Serialization (what makes the contract's "serialized with every other writer" hold across
 * instances) uses transaction-scoped advisory locks, released by PostgreSQL at COMMIT/ROLLBACK:
 * - every write transaction starts by taking the writers' lock: exclusively for a
 *   `transaction()` without `lockGun` (it may touch anything), shared otherwise;
 * - a write to a GUN's metadata (`updateMany`, `deleteGun`, `transaction({ lockGun })`) also
 *   takes that GUN's lock, so "read the latest, validate, write the next version" transactions
 *   on one GUN run one at a time on every instance, while other GUNs proceed in parallel;
 * - `insertPendingIfAbsent` takes a lock on (gun, role) before looking for a pending key.
 * The UNIQUE(gun, role, version) index stays the backstop: 23505 becomes STORAGE_OLD_VERSION.
 * Locks a write needs are taken before its savepoint: PostgreSQL releases locks taken inside a
 * subtransaction that rolls back.
 *
 * Changefeed rows are written in the message that commits (PgTx.finish), so their ids follow
 * commit order; a transaction's own `changes()` does not list them before it commits.
 *
 * Reads outside a transaction go to the pool in autocommit mode, so they see committed data
 * only. Plain reads made while a transaction runs in the same async context (the signer reading
 * keys during an update) use the transaction's connection: a transaction never waits for a
 * second connection, so a full pool cannot deadlock. At most `poolSize - 1` transactions hold a
 * connection at once, leaving one for plain reads (health checks, GETs) during a publish storm.
 *
 * Cache coherence (`generation()`): see postgres-coherence.ts, and `consistencyWindowMs` for
 * the guarantee a request caused by another instance's write can rely on.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { CountersignError, fail } from '../errors.js';
import { BoundedCache } from '../util/bounded-cache.js';
import { POSTGRES_MIGRATIONS } from './migrations/postgres.js';
import { CHANGE_CHANNEL, Coherence, LISTENER_APPLICATION_NAME } from './postgres-coherence.js';
import { latestVersion, missingMigrations, refuseNotaryServerSchema } from './schema.js';
import { Session, type SessionEngine } from './session.js';
import { driverCode, Semaphore, storageError } from './sql.js';
import type { Dialect, LockName, ReadRun, RowMap, SqlConn, WritePlan, WriteRun } from './sql.js';
import { BoundStorage, bindStores } from './stores.js';
import { TxContext } from './tx-context.js';
import type { Storage, StorageTx } from './types.js';

export { CHANGE_CHANNEL, LISTENER_APPLICATION_NAME };

export interface PostgresOptions {
  /** Most connections in the pool (the change listener has one more of its own). Default 10. */
  readonly poolSize?: number;
  /** How long to wait for a connection, new or from the pool (ms). Default 10 000. */
  readonly connectionTimeoutMs?: number;
  /** Server-side limit on one statement, lock waits included (ms). Default 30 000. */
  readonly statementTimeoutMs?: number;
  /** Server-side limit on a transaction sitting idle between statements (ms). Default 60 000. */
  readonly idleInTransactionTimeoutMs?: number;
  /** How often the fallback check compares the store generation marker (ms). Default 1 000. */
  readonly pollIntervalMs?: number;
  /**
   * Read-after-write across instances (ms; 0, the default here, turns it off; the server turns
   * it on, see src/config/load.ts). A writing transaction's caller resumes only this long after
   * its COMMIT returned (if another instance is listening, see `othersListening`), and `generation()` changes on every call unless this instance read the
   * store generation marker less than this long ago (it does so every quarter of the window).
   * Together: a request that starts after any instance's write has returned finds every
   * instance's `generation()` changed, whether or not the notification has arrived yet.
   */
  readonly consistencyWindowMs?: number;
  /**
   * Subscribe to other instances' change notifications (default true). Only tests turn it off,
   * to prove the fallback check alone keeps `generation()` honest.
   */
  readonly listen?: boolean;
}

const BUMP_GENERATION = 'UPDATE store_generation SET n = n + 1 WHERE id = 1';
const LATEST_SCHEMA = latestVersion(POSTGRES_MIGRATIONS);

/**
 * Advisory lock keys: the first 64 bits of a SHA-256 over a namespaced name, the same on every
 * instance. Decimal strings, so they can be inlined in SQL without any quoting question.
 */
function advisoryKey(...parts: readonly string[]): string {
  return createHash('sha256')
    .update(['countersign', ...parts].join('\u0000'))
    .digest()
    .readBigInt64BE(0)
    .toString();
}
const MIGRATION_LOCK = advisoryKey('migrations');
const WRITERS_LOCK = advisoryKey('writers');
const lockKey = (name: LockName): string => advisoryKey(...name);

/** int8 (ids, versions, counters) as numbers: they never come near 2^53. */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: (oid: number, format?: 'text' | 'binary'): unknown =>
    oid === Number(pg.types.builtins.INT8) ? Number : pg.types.getTypeParser(oid, format),
};

/** The options with their defaults filled in. */
type Settings = Required<PostgresOptions>;

/**
 * Connects, applies missing migrations and starts the change listener. Fails with
 * STORAGE_FAILURE (naming the server, never the password) if PostgreSQL cannot be reached.
 */
export async function openPostgres(url: string, options: PostgresOptions = {}): Promise<Storage> {
  const settings: Settings = {
    poolSize: Math.max(1, Math.floor(options.poolSize ?? 10)),
    connectionTimeoutMs: options.connectionTimeoutMs ?? 10_000,
    statementTimeoutMs: options.statementTimeoutMs ?? 30_000,
    idleInTransactionTimeoutMs: options.idleInTransactionTimeoutMs ?? 60_000,
    pollIntervalMs: Math.max(10, options.pollIntervalMs ?? 1_000),
    consistencyWindowMs: Math.max(0, options.consistencyWindowMs ?? 0),
    listen: options.listen ?? true,
  };
  const where = describeUrl(url);
  const pool = new pg.Pool({
    ...clientConfig(url, settings, 'countersign'),
    max: settings.poolSize,
    idleTimeoutMillis: 30_000,
  });
  // An idle pooled connection that dies (server restart, network) is dropped by the pool and
  // replaced on next use; without a listener the 'error' event would kill the process.
  pool.on('error', () => undefined);
  try {
    await migrate(pool);
    const storage = new PostgresStorage(pool, url, settings);
    await storage.coherence.start();
    return storage;
  } catch (err) {
    await pool.end().catch(() => undefined);
    const e = wrap(err);
    if (e.code !== 'STORAGE_FAILURE') throw e;
    fail('STORAGE_FAILURE', `PostgreSQL at ${where}: ${e.message}`, { cause: err });
  }
}

function clientConfig(url: string, s: Settings, applicationName: string): pg.ClientConfig {
  return {
    connectionString: url,
    connectionTimeoutMillis: s.connectionTimeoutMs,
    statement_timeout: s.statementTimeoutMs,
    idle_in_transaction_session_timeout: s.idleInTransactionTimeoutMs,
    application_name: applicationName,
    keepAlive: true,
    types: TYPES,
  };
}

/** host:port/database for messages: a db_url may carry a password. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return 'the configured database';
  }
}

/**
 * Applies missing migrations in one transaction holding an advisory lock, so instances starting
 * together apply each migration once; PostgreSQL's DDL is transactional, so a failed migration
 * leaves nothing behind.
 */
async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  const c = new PgConn(client);
  try {
    await refuseNotaryServerDatabase(c);
    // Up to date (the usual case): no lock, so a start does not queue behind another's.
    if ((await schemaVersion(c)) === LATEST_SCHEMA) return;
    await c.execute('BEGIN');
    try {
      await c.execute(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
      await c.execute(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer     PRIMARY KEY,
        name       text        NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const applied = await c.rows('SELECT version FROM schema_migrations', [], version);
      for (const m of missingMigrations(POSTGRES_MIGRATIONS, applied)) {
        await c.execute(m.sql);
        await c.execute('INSERT INTO schema_migrations (version, name) VALUES (?, ?)', [
          m.version,
          m.name,
        ]);
      }
      await c.execute('COMMIT');
    } catch (err) {
      await c.execute('ROLLBACK').catch(() => undefined);
      throw err;
    }
  } finally {
    client.release();
  }
}

const version = (r: { version: number }): number => r.version;

/** Stops when the tables of the session's schema are notary-server's. */
async function refuseNotaryServerDatabase(c: SqlConn): Promise<void> {
  const names = async (sql: string): Promise<Set<string>> =>
    new Set(await c.rows(sql, [], (r: { name: string }) => r.name));
  const tables = await names(
    'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()'
  );
  const migrationColumns = await names(
    `SELECT column_name AS name FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'schema_migrations'`
  );
  refuseNotaryServerSchema({ tables, migrationColumns }, 'the PostgreSQL database');
}

async function schemaVersion(c: SqlConn): Promise<number> {
  const table = await c.row("SELECT 1 AS found WHERE to_regclass('schema_migrations') IS NOT NULL");
  if (table === null) return 0;
  return (
    (
      await c.row<{ version: number | null }>(
        'SELECT max(version) AS version FROM schema_migrations'
      )
    )?.version ?? 0
  );
}

function wrap(err: unknown): CountersignError {
  const code = driverCode(err);
  const known = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
  // 53100 disk_full, 53200 out_of_memory… only the first is "try again once space returns".
  return storageError(err, code === '53100', known ? ` (SQLSTATE ${code})` : '');
}

const POSTGRES: Dialect = {
  name: 'postgres',
  prefixMatch: (column, value) => ({ sql: `starts_with(${column}, ?)`, params: [value] }),
  jsonField: (column, field) => `countersign_try_jsonb(${column}) ->> '${field}'`,
  insertionOrder: 'seq',
  insertedFlag: '(xmax = 0)',
  lockRows: (skip) => (skip ? ' FOR UPDATE SKIP LOCKED' : ' FOR UPDATE'),
  isUniqueViolation: (err) => driverCode(err) === '23505',
  isMissingReference: (err) => driverCode(err) === '23503',
  date: (value) => value as Date,
  json: (value) => value,
  wrap,
};

/**
 * `?` placeholders as PostgreSQL's `$1, $2, …`, per SQL text. Module-level on purpose: the texts
 * are written in the code (a small, fixed set) and the answer depends on nothing else, so apps
 * in one process may share it; bounded all the same (src/util/bounded-cache.ts).
 */
const numbered = new BoundedCache<string, string>(1024);

function numberPlaceholders(sql: string): string {
  let text = numbered.get(sql);
  if (text === undefined) {
    let n = 0;
    text = sql.replace(/\?/g, () => `$${++n}`);
    numbered.set(sql, text);
  }
  return text;
}

/** The port over the pool (autocommit) or one transaction's connection. */
class PgConn implements SqlConn {
  readonly dialect = POSTGRES;

  constructor(private readonly client: pg.Pool | pg.PoolClient) {}

  async rows<R, T = R>(
    sql: string,
    params: readonly unknown[] = [],
    map?: RowMap<R, T>
  ): Promise<T[]> {
    const { rows } = await this.query(sql, params);
    return map ? rows.map((r) => map(r as R, POSTGRES)) : (rows as T[]);
  }

  async row<R, T = R>(
    sql: string,
    params?: readonly unknown[],
    map?: RowMap<R, T>
  ): Promise<T | null> {
    return (await this.rows(sql, params, map))[0] ?? null;
  }

  async execute(sql: string, params: readonly unknown[] = []): Promise<number> {
    return (await this.query(sql, params)).rowCount ?? 0;
  }

  /** Without parameters, as sent: the simple protocol, which takes several statements at once. */
  private query(sql: string, params: readonly unknown[]): Promise<pg.QueryResult> {
    if (params.length === 0) return this.client.query(sql);
    return this.client.query(numberPlaceholders(sql), params as unknown[]);
  }
}

type TxMode =
  /** `transaction()` without lockGun: the writers' lock exclusively, it may touch anything. */
  | { readonly kind: 'exclusive' }
  /** A plain write, or `transaction({ lockGun })`: the writers' lock shared (and the GUN's). */
  | { readonly kind: 'shared'; readonly gun?: string }
  /** The login counters: no writers' lock, no generation bump, no notification, no fsync wait. */
  | { readonly kind: 'counters' };

function beginSql(mode: TxMode): string {
  switch (mode.kind) {
    case 'exclusive':
      return `BEGIN; SELECT pg_advisory_xact_lock(${WRITERS_LOCK})`;
    case 'shared':
      return (
        `BEGIN; SELECT pg_advisory_xact_lock_shared(${WRITERS_LOCK})` +
        (mode.gun === undefined
          ? ''
          : `; SELECT pg_advisory_xact_lock(${lockKey(['gun', mode.gun])})`)
      );
    case 'counters':
      return 'BEGIN; SET LOCAL synchronous_commit = off';
  }
}

/** One open transaction: a pooled connection inside BEGIN, and the locks it holds. */
class PgTx implements SessionEngine {
  readonly session: Session;
  private readonly held = new Set<string>();

  constructor(
    private readonly client: pg.PoolClient,
    private readonly mode: TxMode
  ) {
    this.session = new Session(new PgConn(client), this);
    if (mode.kind === 'shared' && mode.gun !== undefined) this.held.add(lockKey(['gun', mode.gun]));
  }

  /** A write ran (or was attempted) that the other instances' caches must hear of. */
  get changedData(): boolean {
    return this.mode.kind !== 'counters' && this.session.wrote;
  }

  /** The locks `plan` needs that this transaction lacks; none under the exclusive writers' lock. */
  prepare(plan: WritePlan): string {
    if (this.mode.kind === 'exclusive') return '';
    let sql = '';
    for (const name of plan.locks ?? []) {
      const key = lockKey(name);
      if (this.held.has(key)) continue;
      this.held.add(key);
      sql += `SELECT pg_advisory_xact_lock(${key});`;
    }
    return sql;
  }

  /**
   * Ends the transaction after any operation still running. A writing transaction bumps the
   * store generation, appends its changefeed rows and notifies other instances in the message
   * that commits, so none of them can be seen without the data. The bump takes the
   * store_generation row lock first, so changefeed ids are handed out in commit order (a reader
   * paging by id never skips a change that commits after a higher id), and the lock is held
   * for that one round trip only. Values are inlined as literals: one simple-protocol message
   * cannot carry parameters.
   */
  finish(commit: boolean): Promise<void> {
    return this.session.close(async () => {
      if (!commit) {
        await this.client.query('ROLLBACK');
        return;
      }
      const results = await this.client.query(`${this.changeSql()}COMMIT`);
      const last = Array.isArray(results) ? (results.at(-1) as pg.QueryResult) : results;
      // COMMIT of a transaction an earlier error aborted answers ROLLBACK, without an error.
      if (last?.command !== 'COMMIT') {
        fail('STORAGE_FAILURE', 'PostgreSQL rolled the transaction back after an earlier error');
      }
    });
  }

  private changeSql(): string {
    if (!this.changedData) return '';
    const { feed, guns } = this.session;
    let sql = `${BUMP_GENERATION};`;
    if (feed.length > 0) {
      const rows = feed.map(
        (c) =>
          `(${literal(c.createdAt.toISOString())}::timestamptz, ${literal(c.gun)}, ${integer(c.version)}, ${literal(c.sha256)}, ${literal(c.category)})`
      );
      sql += `INSERT INTO changefeed (created_at, gun, version, sha256, category) VALUES ${rows.join(', ')};`;
    }
    const payload = guns.size === 1 ? [...guns][0]! : '*';
    return `${sql}SELECT pg_notify('${CHANGE_CHANNEL}', ${literal(payload)});`;
  }
}

const literal = (text: string): string => pg.escapeLiteral(text);

function integer(n: number): string {
  if (!Number.isSafeInteger(n)) fail('STORAGE_FAILURE', `not an integer: ${n}`);
  return String(n);
}

class PostgresStorage extends BoundStorage implements Storage {
  readonly kind = 'postgres';
  readonly coherence: Coherence;
  /** The transaction whose `fn` is running in this async context, if any. */
  private readonly current = new TxContext<Session>();
  private readonly slots: Semaphore;
  private readonly poolConn: PgConn;
  private active = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly pool: pg.Pool,
    url: string,
    options: Settings
  ) {
    super();
    this.slots = new Semaphore(Math.max(1, options.poolSize - 1));
    this.poolConn = new PgConn(pool);
    const listener = (queryTimeoutMs: number): pg.Client =>
      new pg.Client({
        ...clientConfig(url, options, LISTENER_APPLICATION_NAME),
        query_timeout: queryTimeoutMs,
      });
    this.coherence = new Coherence(listener, this.poolConn, options);
    const read: ReadRun = async (work) => {
      const tx = this.current.get();
      if (tx?.open) return tx.read(work);
      this.checkOpen();
      try {
        return await work(this.poolConn);
      } catch (err) {
        throw wrap(err);
      }
    };
    const alone =
      (mode: TxMode): WriteRun =>
      async (plan, work) => {
        this.refuseInsideTransaction(this.current.get()?.open);
        return this.run(mode, (tx) => tx.session.writeAlone(plan, work));
      };
    this.bind(read, alone({ kind: 'shared' }), alone({ kind: 'counters' }));
  }

  async transaction<T>(
    fn: (tx: StorageTx) => Promise<T>,
    options: { lockGun?: string } = {}
  ): Promise<T> {
    this.refuseInsideTransaction(this.current.get()?.open);
    const mode: TxMode =
      options.lockGun === undefined
        ? { kind: 'exclusive' }
        : { kind: 'shared', gun: options.lockGun };
    return this.run(mode, ({ session }) =>
      this.current.run(session, () => fn(bindStores(session.read, session.write)))
    );
  }

  /** `runOnce`, then the rest of the consistency window after a data-changing commit. */
  private async run<T>(mode: TxMode, body: (tx: PgTx) => Promise<T>): Promise<T> {
    const commit: { at?: number } = {};
    try {
      return await this.runOnce(mode, body, commit);
    } finally {
      if (commit.at !== undefined) await this.coherence.settle(commit.at);
    }
  }

  /** BEGIN, the writers' lock (and the GUN's), `body`, COMMIT; ROLLBACK if anything fails. */
  private async runOnce<T>(
    mode: TxMode,
    body: (tx: PgTx) => Promise<T>,
    commit: { at?: number }
  ): Promise<T> {
    this.checkOpen();
    this.active++;
    const releaseSlot = await this.slots.acquire();
    let client: pg.PoolClient | undefined;
    let tx: PgTx | undefined;
    let broken = false;
    const onLost = (): void => {
      broken = true;
    };
    const committed = (): void => {
      if (!tx?.changedData) return;
      this.coherence.committed();
      commit.at = performance.now();
    };
    try {
      this.checkOpen();
      try {
        client = await this.pool.connect();
        // A connection lost while checked out reports through this event (and fails the
        // transaction's next statement); unheard, it would crash the process.
        client.on('error', onLost);
        await client.query(beginSql(mode));
      } catch (err) {
        broken = client !== undefined;
        throw wrap(err);
      }
      tx = new PgTx(client, mode);
      const result = await body(tx);
      try {
        await tx.finish(true);
      } catch (err) {
        // The commit may have happened even if its answer was lost: readers reload.
        committed();
        broken = true;
        throw wrap(err);
      }
      committed();
      return result;
    } catch (err) {
      if (tx?.session.open) {
        try {
          await tx.finish(false);
        } catch {
          broken = true;
        }
      }
      throw err;
    } finally {
      // A connection in an unknown state is closed rather than handed to the next caller.
      client?.off('error', onLost);
      client?.release(broken ? true : undefined);
      releaseSlot();
      if (--this.active === 0) {
        for (const w of this.idleWaiters.splice(0)) w();
      }
    }
  }

  /** See postgres-coherence.ts. */
  generation(): number {
    this.checkOpen();
    return this.coherence.generation();
  }

  async schema(): Promise<{ version: number; latest: number }> {
    return { version: await this.read(schemaVersion), latest: LATEST_SCHEMA };
  }

  /** Waits for running transactions, then ends the listener and the pool. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.active > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.coherence.stop();
    await this.pool.end();
  }
}

/**
 * A plain, read-only use of some other PostgreSQL database: `countersign import-notary` reads
 * notary-server's and notary-signer's tables through it (src/migrate/), so pg keeps one home.
 * Rows come back as pg types them (bytea → Buffer, integer → number).
 */
export async function openPostgresReader(url: string): Promise<{
  query<R>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  close(): Promise<void>;
}> {
  const client = new pg.Client({ connectionString: url, application_name: 'countersign-import' });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw wrap(err);
  }
  return {
    async query<R>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
      try {
        return (await client.query(sql, [...params])).rows as R[];
      } catch (err) {
        throw wrap(err);
      }
    },
    close: () => client.end(),
  };
}
