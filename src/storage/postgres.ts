/**
 * The PostgreSQL backend of the storage contract (src/storage/types.ts), for several server
 * instances sharing one database; the only module that imports `pg`.
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
 * Changefeed rows are written in the message that commits (Tx.finish), so their ids follow
 * commit order; a transaction's own `changes()` does not list them before it commits.
 *
 * Reads outside a transaction go to the pool in autocommit mode, so they see committed data
 * only. Plain reads made while a transaction runs in the same async context (the signer reading
 * keys during an update) use the transaction's connection: a transaction never waits for a
 * second connection, so a full pool cannot deadlock. At most `poolSize - 1` transactions hold a
 * connection at once, leaving one for plain reads (health checks, GETs) during a publish storm.
 *
 * Cache coherence (`generation()`): see the comment on that method, and `consistencyWindowMs`
 * for the guarantee a request caused by another instance's write can rely on.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { CountersignError, fail } from '../errors.js';
import { bindAuthStores, type AuthStores } from './postgres-auth.js';
import { bindLoginAttempts } from './postgres-logins.js';
import { bindWebhooks } from './postgres-webhooks.js';
import { bindJobs } from './postgres-jobs.js';
import { bindStoreStores } from './postgres-store.js';
import { POSTGRES_MIGRATIONS } from './migrations/postgres.js';
import { refuseNotaryServerSchema, type SchemaFacts } from './notary-schema.js';
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

/** The channel every committing write transaction notifies, with the GUN it wrote or '*'. */
export const CHANGE_CHANNEL = 'countersign_changes';
/** application_name of the listening session, so operators (and tests) can find it. */
export const LISTENER_APPLICATION_NAME = 'countersign-listener';

const SAVEPOINT = 'countersign_write';
const BUMP_GENERATION = 'UPDATE store_generation SET n = n + 1 WHERE id = 1';

/**
 * Advisory lock keys: the first 64 bits of a SHA-256 over a namespaced name, the same on every
 * instance. Decimal strings, so they can be inlined in SQL without any quoting question.
 */
function advisoryKey(...parts: string[]): string {
  return createHash('sha256')
    .update(['countersign', ...parts].join('\u0000'))
    .digest()
    .readBigInt64BE(0)
    .toString();
}
const MIGRATION_LOCK = advisoryKey('migrations');
const WRITERS_LOCK = advisoryKey('writers');
const gunLock = (gun: string): string => advisoryKey('gun', gun);
const pendingKeyLock = (gun: string, role: string): string => advisoryKey('pending key', gun, role);
/** Serializes appends to the audit chain across instances. */
const AUDIT_LOCK = advisoryKey('audit chain');

/** int8 (ids, versions, counters) as numbers: they never come near 2^53. */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === Number(pg.types.builtins.INT8)
      ? (value: string) => Number(value)
      : (pg.types.getTypeParser(oid, format) as (
          value: string
        ) => unknown)) as pg.CustomTypesConfig['getTypeParser'],
};

interface Settings {
  readonly poolSize: number;
  readonly connectionTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly idleInTransactionTimeoutMs: number;
  readonly pollIntervalMs: number;
  readonly consistencyWindowMs: number;
  readonly listen: boolean;
}

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
    await storage.start();
    return storage;
  } catch (err) {
    await pool.end().catch(() => undefined);
    const e = wrap(err);
    if (e.code !== 'STORAGE_FAILURE') throw e;
    throw new CountersignError('STORAGE_FAILURE', `PostgreSQL at ${where}: ${e.message}`, {
      cause: err,
    });
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
  const latest = Math.max(...POSTGRES_MIGRATIONS.map((m) => m.version));
  const client = await pool.connect();
  try {
    refuseNotaryServerSchema(await schemaFacts(client), 'the PostgreSQL database');
    // Up to date (the usual case): no lock, so a start does not queue behind another's.
    if ((await schemaVersion(client)) === latest) return;
    await client.query('BEGIN');
    try {
      await client.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer     PRIMARY KEY,
        name       text        NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const applied = new Set(
        (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map(
          (r) => r.version
        )
      );
      const newest = Math.max(0, ...applied);
      if (newest > latest) {
        fail(
          'CONFIG_INVALID',
          `the database schema (version ${newest}) is newer than this program knows (${latest})`
        );
      }
      for (const m of POSTGRES_MIGRATIONS) {
        if (applied.has(m.version)) continue;
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
          m.version,
          m.name,
        ]);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  } finally {
    client.release();
  }
}

/** The tables of the session's schema and the columns of its schema_migrations. */
async function schemaFacts(client: pg.PoolClient): Promise<SchemaFacts> {
  const tables = await client.query<{ name: string }>(
    'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()'
  );
  const columns = await client.query<{ name: string }>(
    `SELECT column_name AS name FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'schema_migrations'`
  );
  return {
    tables: new Set(tables.rows.map((r) => r.name)),
    migrationColumns: new Set(columns.rows.map((r) => r.name)),
  };
}

async function schemaVersion(client: pg.PoolClient): Promise<number> {
  const { rows } = await client.query<{ exists: boolean }>(
    "SELECT to_regclass('schema_migrations') IS NOT NULL AS exists"
  );
  if (!rows[0]?.exists) return 0;
  const max = await client.query<{ max: number | null }>(
    'SELECT max(version) AS max FROM schema_migrations'
  );
  return max.rows[0]?.max ?? 0;
}

/** Anything that is not already a domain error becomes STORAGE_FAILURE, keeping the cause. */
function wrap(err: unknown): CountersignError {
  if (err instanceof CountersignError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = sqlState(err);
  return new CountersignError(
    // 53100 disk_full, 53200 out_of_memory… only the first is "try again once space returns".
    code === '53100' ? 'STORAGE_FULL' : 'STORAGE_FAILURE',
    code && /^[0-9A-Z]{5}$/.test(code) ? `${message} (SQLSTATE ${code})` : message,
    { cause: err }
  );
}

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

const isUniqueViolation = (err: unknown): boolean => sqlState(err) === '23505';

/** What runs a query: the pool (autocommit) or one transaction's connection. */
interface Conn {
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** What a write needs before it runs. */
interface WritePlan {
  /** Advisory lock keys, taken in order (each at most once per transaction). */
  readonly locks?: readonly string[];
  /** The GUN named in the change notification. */
  readonly gun?: string;
}

/** A changefeed row, written when its transaction commits (see Tx.finish). */
interface PendingChange {
  readonly at: Date;
  readonly gun: string;
  readonly version: number;
  readonly sha256: string;
  readonly category: ChangeCategory;
}

type ReadRun = <T>(work: (c: Conn) => Promise<T>) => Promise<T>;
type WriteWork<T> = (c: Conn, feed: PendingChange[]) => Promise<T>;
type WriteRun = <T>(plan: WritePlan, work: WriteWork<T>) => Promise<T>;

/** One open transaction: a pooled connection inside BEGIN, used by one operation at a time. */
class Tx {
  open = true;
  /** A write ran (or was attempted): the commit bumps the generation and notifies. */
  wrote = false;
  private readonly feed: PendingChange[] = [];
  private readonly held = new Set<string>();
  private readonly guns = new Set<string>();
  private readonly mutex = new Mutex();

  constructor(
    readonly client: pg.PoolClient,
    /** Holds the writers' lock exclusively: no other writer runs, finer locks are moot. */
    private readonly exclusive: boolean,
    lockedGun: string | undefined
  ) {
    if (lockedGun !== undefined) this.held.add(gunLock(lockedGun));
  }

  /** Operations of one transaction run one at a time: a connection runs one statement at a time. */
  private async serial<T>(work: () => Promise<T>): Promise<T> {
    const release = await this.mutex.acquire();
    try {
      if (!this.open) fail('STORAGE_FAILURE', 'the transaction is no longer open');
      return await work();
    } finally {
      release();
    }
  }

  read: ReadRun = (work) =>
    this.serial(async () => {
      try {
        return await work(this.client);
      } catch (err) {
        throw wrap(err);
      }
    });

  /**
   * A write inside `transaction()`: wrapped in a savepoint, so a failed write leaves nothing
   * behind and the transaction stays usable even if `fn` catches the error and commits.
   */
  write: WriteRun = (plan, work) =>
    this.serial(async () => {
      try {
        await this.client.query(`${this.prepare(plan)}SAVEPOINT ${SAVEPOINT}`);
        const feedLength = this.feed.length;
        try {
          const result = await work(this.client, this.feed);
          await this.client.query(`RELEASE SAVEPOINT ${SAVEPOINT}`);
          return result;
        } catch (err) {
          this.feed.length = feedLength;
          await this.client.query(
            `ROLLBACK TO SAVEPOINT ${SAVEPOINT}; RELEASE SAVEPOINT ${SAVEPOINT}`
          );
          throw err;
        }
      } catch (err) {
        throw wrap(err);
      }
    });

  /** A write that is the whole transaction: no savepoint, the transaction rolls back instead. */
  async writeAlone<T>(plan: WritePlan, work: WriteWork<T>): Promise<T> {
    return this.serial(async () => {
      try {
        const setup = this.prepare(plan);
        if (setup !== '') await this.client.query(setup);
        return await work(this.client, this.feed);
      } catch (err) {
        throw wrap(err);
      }
    });
  }

  /** SQL (statements ending in ';') taking what `plan` needs that this transaction lacks. */
  private prepare(plan: WritePlan): string {
    this.wrote = true;
    if (plan.gun !== undefined) this.guns.add(plan.gun);
    let sql = '';
    if (!this.exclusive) {
      for (const key of plan.locks ?? []) {
        if (this.held.has(key)) continue;
        this.held.add(key);
        sql += `SELECT pg_advisory_xact_lock(${key});`;
      }
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
  async finish(commit: boolean): Promise<void> {
    const release = await this.mutex.acquire();
    try {
      if (!this.open) return;
      this.open = false;
      if (!commit) {
        await this.client.query('ROLLBACK');
        return;
      }
      let sql = '';
      if (this.wrote) {
        sql += `${BUMP_GENERATION};`;
        if (this.feed.length > 0) {
          const rows = this.feed.map(
            (c) =>
              `(${literal(c.at.toISOString())}::timestamptz, ${literal(c.gun)}, ${integer(c.version)}, ${literal(c.sha256)}, ${literal(c.category)})`
          );
          sql += `INSERT INTO changefeed (created_at, gun, version, sha256, category) VALUES ${rows.join(', ')};`;
        }
        const payload = this.guns.size === 1 ? [...this.guns][0]! : '*';
        sql += `SELECT pg_notify('${CHANGE_CHANNEL}', ${literal(payload)});`;
      }
      const results = await this.client.query(`${sql}COMMIT`);
      const last = Array.isArray(results) ? (results.at(-1) as pg.QueryResult) : results;
      // COMMIT of a transaction an earlier error aborted answers ROLLBACK, without an error.
      if (last?.command !== 'COMMIT') {
        fail('STORAGE_FAILURE', 'PostgreSQL rolled the transaction back after an earlier error');
      }
    } finally {
      release();
    }
  }
}

const literal = (text: string): string => pg.escapeLiteral(text);

function integer(n: number): string {
  if (!Number.isSafeInteger(n)) fail('STORAGE_FAILURE', `not an integer: ${n}`);
  return String(n);
}

type TxMode = { readonly exclusive: true } | { readonly exclusive: false; readonly gun?: string };

class PostgresStorage implements Storage {
  readonly kind = 'postgres';
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

  /** The transaction whose `fn` is running in this async context, if any. */
  private readonly current = new TxContext<Tx>();
  private readonly slots: Semaphore;
  private readonly poolConn: Conn;
  private counter = 0;
  private closed = false;
  private active = 0;
  private idleWaiters: (() => void)[] = [];

  private listener: pg.Client | undefined;
  /** Connected (and listening, unless `listen` is off) and its marker read. */
  private listenerUp = false;
  /** The backend pid of our listening session, which `othersListening` must not count. */
  private listenerPid = 0;
  private marker: number | undefined;
  /** performance.now() when the newest marker read whose answer has been applied was sent. */
  private confirmedAt = -Infinity;
  private pollTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelayMs = 100;

  constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
    private readonly options: Settings
  ) {
    this.slots = new Semaphore(Math.max(1, options.poolSize - 1));
    this.poolConn = { query: (text, values) => pool.query(text, values) };
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
    const write: WriteRun = async (plan, work) => {
      this.refuseInsideTransaction();
      return this.run({ exclusive: false }, (tx) => tx.writeAlone(plan, work));
    };
    ({
      meta: this.meta,
      keys: this.keys,
      settings: this.settings,
      submissions: this.submissions,
      storeRepositories: this.storeRepositories,
      audit: this.audit,
    } = bindStores(read, write));
    ({ accounts: this.accounts, refreshTokens: this.refreshTokens } = bindAuthStores(read, (work) =>
      write({}, (c) => work(c))
    ));
    this.loginAttempts = bindLoginAttempts(read, (work) => this.counterTransaction(work));
    // The webhook queue and jobs change no metadata either (migration 6).
    this.webhooks = bindWebhooks(read, (work) => this.counterTransaction(work));
    this.jobs = bindJobs(read, (work) => this.counterTransaction(work));
  }

  /**
   * A transaction for the login counters: no writers' lock, no generation bump, no notification
   * and no consistency window, because it changes nothing any cache holds. It still counts as
   * a transaction for the pool's slots, so a login burst leaves a connection for plain reads.
   */
  private async counterTransaction<T>(work: (c: Conn) => Promise<T>): Promise<T> {
    this.refuseInsideTransaction();
    this.checkOpen();
    this.active++;
    const releaseSlot = await this.slots.acquire();
    let client: pg.PoolClient | undefined;
    let broken = false;
    const onLost = (): void => {
      broken = true;
    };
    try {
      this.checkOpen();
      client = await this.pool.connect();
      client.on('error', onLost);
      await client.query('BEGIN');
      try {
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw err;
      }
    } catch (err) {
      throw wrap(err);
    } finally {
      client?.off('error', onLost);
      client?.release(broken ? true : undefined);
      releaseSlot();
      if (--this.active === 0) {
        for (const w of this.idleWaiters.splice(0)) w();
      }
    }
  }

  async transaction<T>(
    fn: (tx: StorageTx) => Promise<T>,
    options: { lockGun?: string } = {}
  ): Promise<T> {
    this.refuseInsideTransaction();
    const mode: TxMode =
      options.lockGun === undefined
        ? { exclusive: true }
        : { exclusive: false, gun: options.lockGun };
    return this.run(mode, (tx) => this.current.run(tx, () => fn(bindStores(tx.read, tx.write))));
  }

  /**
   * `runOnce`, then, after a writing transaction's COMMIT (or an attempt whose answer was lost),
   * the rest of the consistency window before the caller resumes: by then every other instance
   * has either heard of the commit or stopped trusting its caches (see `generation()`). The
   * connection, the slot and the locks are released before the wait.
   */
  private async run<T>(mode: TxMode, body: (tx: Tx) => Promise<T>): Promise<T> {
    const commit: { at?: number } = {};
    try {
      return await this.runOnce(mode, body, commit);
    } finally {
      if (commit.at !== undefined) await this.settle(commit.at);
    }
  }

  private async settle(since: number): Promise<void> {
    const window = this.options.consistencyWindowMs;
    if (window === 0 || !(await this.othersListening())) return;
    // A loop on the monotonic clock: a timer may fire a little early by the clock it is set on.
    for (;;) {
      const left = since + window - performance.now();
      if (left <= 0) return;
      await new Promise((resolve) => setTimeout(resolve, Math.ceil(left)));
    }
  }

  /**
   * Whether another instance could be holding a cache this commit made stale: any listening
   * session of this database but our own, counted after the COMMIT. With none, the window has
   * nobody to wait for (a lone instance pays no 100 ms per write): an instance whose session is
   * down, or comes up after this count, does not trust its cache until it has reconnected
   * (`generation()` (d)), and a new one starts empty. A deaf instance (no LISTEN) still has its
   * session, so it is counted. If the count fails, the answer is yes: waiting is the safe side.
   */
  private async othersListening(): Promise<boolean> {
    try {
      const { rows } = await this.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = $1 AND pid <> $2`,
        [LISTENER_APPLICATION_NAME, this.listenerPid]
      );
      return (rows[0]?.n ?? 1) > 0;
    } catch {
      return true;
    }
  }

  /** BEGIN, the writers' lock (and the GUN's), `body`, COMMIT; ROLLBACK if anything fails. */
  private async runOnce<T>(
    mode: TxMode,
    body: (tx: Tx) => Promise<T>,
    commit: { at?: number }
  ): Promise<T> {
    this.checkOpen();
    this.active++;
    const releaseSlot = await this.slots.acquire();
    let client: pg.PoolClient | undefined;
    let tx: Tx | undefined;
    let broken = false;
    const onLost = (): void => {
      broken = true;
    };
    try {
      this.checkOpen();
      try {
        client = await this.pool.connect();
        // A connection lost while checked out reports through this event (and fails the
        // transaction's next statement); unheard, it would crash the process.
        client.on('error', onLost);
        const locks = mode.exclusive
          ? `SELECT pg_advisory_xact_lock(${WRITERS_LOCK})`
          : `SELECT pg_advisory_xact_lock_shared(${WRITERS_LOCK})` +
            (mode.gun === undefined ? '' : `; SELECT pg_advisory_xact_lock(${gunLock(mode.gun)})`);
        await client.query(`BEGIN; ${locks}`);
      } catch (err) {
        broken = client !== undefined;
        throw wrap(err);
      }
      tx = new Tx(client, mode.exclusive, mode.exclusive ? undefined : mode.gun);
      const result = await body(tx);
      try {
        await tx.finish(true);
      } catch (err) {
        // The commit may have happened even if its answer was lost: readers reload.
        if (tx.wrote) {
          this.counter++;
          commit.at = performance.now();
        }
        broken = true;
        throw wrap(err);
      }
      if (tx.wrote) {
        this.counter++;
        commit.at = performance.now();
      }
      return result;
    } catch (err) {
      if (tx?.open) {
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

  /**
   * A number that changes whenever any instance may have committed since it last returned the
   * same value. Synchronous and cheap: it reads a counter, which is bumped
   * (a) after every commit of a writing transaction of this instance, before that commit's
   *     caller resumes;
   * (b) when the listening session receives a notification on CHANGE_CHANNEL: every writing
   *     transaction of every instance notifies in its own commit. PostgreSQL signals listening
   *     sessions once the commit is visible, so the counter changes as soon as this event loop
   *     reads that message: measured 0–5 ms after the other instance's COMMIT returned (same
   *     host), i.e. before that instance has answered its HTTP client and the client's next
   *     request can arrive here. It is not a happens-before guarantee: a request that reaches
   *     this instance within that delivery time may still be served the previous state;
   * (c) when the fallback check, every `pollIntervalMs`, finds the store_generation row (bumped
   *     by every writing transaction in its commit) changed: with notifications lost, a commit
   *     is noticed at most pollIntervalMs plus one query later;
   * (d) on every call while the listening session is down or being re-established (so nothing
   *     is served from memory blindly), and once more when it is back;
   * (e) with a consistency window W (`consistencyWindowMs` > 0), on every call made W or more
   *     after the send time of the newest marker read whose answer has been applied (the
   *     fallback check then runs every W/4, so this happens only when the check is held up).
   * (b) alone leaves a gap: a request that reaches this instance within the delivery time after
   * another instance's write returned may be served the previous state (the multi-instance
   * tests saw a stale timestamp up to ~10 reads after a publish). (e) closes it, because a
   * writing transaction's caller resumes only W after its COMMIT returned: if that COMMIT became
   * visible after the newest marker read ran, the read was sent before the COMMIT, so more than W
   * ago by the time the write's result can reach anyone, and (e) applies; otherwise that marker
   * read saw the write. Only elapsed times on each host's monotonic clock are compared, never
   * clocks of two hosts. The price is W on each write and four tiny queries per W per instance;
   * cache hits still cost no query.
   * A hung connection that raises no error is noticed when the fallback query times out
   * (max(1 s, 2 × pollIntervalMs)), which then counts as down.
   * Call it before reading what you cache: a change between the call and the read then costs
   * one extra reload, never a stale cache.
   */
  generation(): number {
    if (this.closed) fail('STORAGE_FAILURE', 'the storage is closed');
    if (!this.listenerUp) this.counter++;
    else if (
      this.options.consistencyWindowMs > 0 &&
      performance.now() - this.confirmedAt >= this.options.consistencyWindowMs
    ) {
      this.counter++;
    }
    return this.counter;
  }

  async ping(): Promise<void> {
    this.checkOpen();
    try {
      await this.pool.query('SELECT 1');
    } catch (err) {
      throw wrap(err);
    }
  }

  async schema(): Promise<{ version: number; latest: number }> {
    this.checkOpen();
    try {
      const client = await this.pool.connect();
      try {
        return {
          version: await schemaVersion(client),
          latest: Math.max(...POSTGRES_MIGRATIONS.map((m) => m.version)),
        };
      } finally {
        client.release();
      }
    } catch (err) {
      throw wrap(err);
    }
  }

  /** Waits for running transactions, then ends the listener and the pool. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.pollTimer);
    clearTimeout(this.reconnectTimer);
    if (this.active > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    const listener = this.listener;
    this.listener = undefined;
    this.listenerUp = false;
    await listener?.end().catch(() => undefined);
    await this.pool.end();
  }

  /** Connects the listening session (failing the open if it cannot) and starts the fallback check. */
  async start(): Promise<void> {
    await this.connectListener();
    this.schedulePoll();
  }

  private async connectListener(): Promise<void> {
    const client = new pg.Client({
      ...clientConfig(this.url, this.options, LISTENER_APPLICATION_NAME),
      query_timeout: Math.max(1_000, 2 * this.options.pollIntervalMs),
    });
    client.on('error', () => this.listenerLost(client));
    client.on('end', () => this.listenerLost(client));
    client.on('notification', (msg) => {
      if (msg.channel === CHANGE_CHANNEL) this.counter++;
    });
    let sentAt: number;
    let pid: number;
    try {
      await client.connect();
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      pid = rows[0]?.pid ?? 0;
      if (this.options.listen) await client.query(`LISTEN ${CHANGE_CHANNEL}`);
      sentAt = performance.now();
      this.marker = await readMarker(client);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listener = client;
    this.listenerPid = pid;
    this.listenerUp = true;
    this.confirmedAt = sentAt;
    // Commits between losing the previous session and LISTEN on this one were never announced.
    this.counter++;
  }

  private listenerLost(client: pg.Client): void {
    if (this.listener !== client) return;
    this.listener = undefined;
    this.listenerUp = false;
    this.counter++;
    client.end().catch(() => undefined);
    if (!this.closed) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    this.reconnectTimer = setTimeout(() => {
      this.connectListener().then(
        () => {
          this.reconnectDelayMs = 100;
        },
        () => {
          this.reconnectDelayMs = Math.min(5_000, this.reconnectDelayMs * 2);
          if (!this.closed) this.scheduleReconnect();
        }
      );
    }, this.reconnectDelayMs);
    this.reconnectTimer.unref();
  }

  private schedulePoll(): void {
    const { pollIntervalMs, consistencyWindowMs } = this.options;
    const every =
      consistencyWindowMs > 0
        ? Math.min(pollIntervalMs, Math.max(5, consistencyWindowMs / 4))
        : pollIntervalMs;
    this.pollTimer = setTimeout(() => void this.poll(), every);
    this.pollTimer.unref();
  }

  private async poll(): Promise<void> {
    const client = this.listener;
    if (client && this.listenerUp) {
      try {
        const sentAt = performance.now();
        const marker = await readMarker(client);
        if (marker !== this.marker) {
          this.marker = marker;
          this.counter++;
        }
        this.confirmedAt = Math.max(this.confirmedAt, sentAt);
      } catch {
        this.listenerLost(client);
      }
    }
    if (!this.closed) this.schedulePoll();
  }

  private checkOpen(): void {
    if (this.closed) fail('STORAGE_FAILURE', 'the storage is closed');
  }

  private refuseInsideTransaction(): void {
    if (this.current.get()?.open) {
      fail(
        'STORAGE_FAILURE',
        'write through the storage object inside transaction(): use its tx argument'
      );
    }
  }
}

async function readMarker(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ n: number }>('SELECT n FROM store_generation WHERE id = 1');
  return rows[0]?.n ?? 0;
}

/** The stores of a transaction over a read path and a write path. */
function bindStores(read: ReadRun, write: WriteRun): StorageTx {
  return {
    ...bindStoreStores(read, (locks, work) => write({ locks }, (c) => work(c)), AUDIT_LOCK),
    meta: {
      updateMany: (gun, files, at) =>
        write({ locks: [gunLock(gun)], gun }, (c, feed) => updateMany(c, feed, gun, files, at)),
      getLatest: (gun, role) => read((c) => getLatest(c, gun, role)),
      getByChecksum: (gun, role, sha256) => read((c) => getByChecksum(c, gun, role, sha256)),
      getByVersion: (gun, role, version) => read((c) => getByVersion(c, gun, role, version)),
      deleteGun: (gun, at) =>
        write({ locks: [gunLock(gun)], gun }, (c, feed) => deleteGun(c, feed, gun, at)),
      changes: (gun, changeId, records) => read((c) => changes(c, gun, changeId, records)),
      listGuns: (prefix) => read((c) => listGuns(c, prefix)),
      importVersion: (gun, file, createdAt) =>
        write({ locks: [gunLock(gun)], gun }, (c) => importVersion(c, gun, file, createdAt)),
      importChange: (change) =>
        write({ gun: change.gun }, (c, feed) => importChange(c, feed, change)),
    },
    keys: {
      insertPendingIfAbsent: (key) =>
        write({ locks: [pendingKeyLock(key.gun, key.role)], gun: key.gun }, (c) =>
          insertPendingIfAbsent(c, key)
        ),
      insert: (key) => write({ gun: key.gun }, (c) => insertKey(c, key)),
      get: (keyId) => read((c) => getKey(c, keyId)),
      listFor: (gun, role) => read((c) => listKeys(c, gun, role)),
      getPending: (gun, role) => read((c) => getPending(c, gun, role)),
      markActive: (keyId, at) => write({}, (c) => markActive(c, keyId, at)),
      deleteFor: (gun) => write({ gun }, (c) => deleteKeys(c, gun)),
      listAll: () => read((c) => listAllKeys(c)),
      replaceSealed: (keyId, sealed) => write({}, (c) => replaceSealed(c, keyId, sealed)),
    },
    settings: {
      get: (name) => read((c) => getSetting(c, name)),
      putIfAbsent: (name, value) => write({}, (c) => putSettingIfAbsent(c, name, value)),
      put: (name, value) => write({}, (c) => putSetting(c, name, value)),
    },
  };
}

interface MetaRow {
  gun: string;
  role: string;
  version: number;
  sha256: string;
  data: Buffer;
  created_at: Date;
}

interface ChangeRow {
  id: number;
  created_at: Date;
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
  created_at: Date;
  activated_at: Date | null;
}

const META = 'SELECT gun, role, version, sha256, data, created_at FROM tuf_files';
const KEY =
  'SELECT key_id, gun, role, algorithm, key_type, public, sealed_private, created_at, activated_at FROM server_keys';

// The queries. Write functions expect to run inside a transaction holding the plan's locks.

async function updateMany(
  c: Conn,
  feed: PendingChange[],
  gun: string,
  files: readonly NewMeta[],
  at: Date
): Promise<void> {
  const roles = new Set<string>();
  for (const f of files) {
    if (roles.has(f.role))
      fail('STORAGE_OLD_VERSION', `two files for role ${f.role} in one update`);
    roles.add(f.role);
  }
  if (files.length === 0) return;
  // Checked under the GUN's lock, so no other writer can slip a version in between.
  const { rows } = await c.query<{ role: string; max: number }>(
    'SELECT role, max(version) AS max FROM tuf_files WHERE gun = $1 AND role = ANY($2::text[]) GROUP BY role',
    [gun, [...roles]]
  );
  const stored = new Map(rows.map((r) => [r.role, r.max]));
  for (const f of files) {
    const max = stored.get(f.role);
    if (max !== undefined && f.version <= max) {
      fail(
        'STORAGE_OLD_VERSION',
        `${gun} ${f.role} version ${f.version} is not above stored version ${max}`
      );
    }
  }
  try {
    for (const f of files) {
      await c.query(
        'INSERT INTO tuf_files (gun, role, version, sha256, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
        [gun, f.role, f.version, f.sha256, f.data, at]
      );
      if (f.role === 'timestamp')
        feed.push({ at, gun, version: f.version, sha256: f.sha256, category: 'update' });
    }
  } catch (err) {
    if (isUniqueViolation(err))
      fail('STORAGE_OLD_VERSION', `${gun}: a version already exists`, { cause: err });
    throw err;
  }
}

async function importVersion(
  c: Conn,
  gun: string,
  f: NewMeta,
  createdAt: Date
): Promise<'stored' | 'present'> {
  const stored = await getByVersion(c, gun, f.role, f.version);
  if (stored) {
    if (stored.data.equals(f.data)) return 'present';
    fail(
      'STORAGE_CONFLICT',
      `${gun} ${f.role} version ${f.version} is already stored with other bytes`
    );
  }
  await c.query(
    'INSERT INTO tuf_files (gun, role, version, sha256, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
    [gun, f.role, f.version, f.sha256, f.data, createdAt]
  );
  return 'stored';
}

/**
 * Like every changefeed row, an imported one is appended when the transaction commits (so ids
 * follow commit order); a record already stored, or already pending in this transaction, is not.
 */
async function importChange(
  c: Conn,
  feed: PendingChange[],
  change: Omit<Change, 'id'>
): Promise<'stored' | 'present'> {
  const same = (p: PendingChange): boolean =>
    p.gun === change.gun &&
    p.version === change.version &&
    p.sha256 === change.sha256 &&
    p.category === change.category &&
    p.at.getTime() === change.createdAt.getTime();
  if (feed.some(same)) return 'present';
  const { rowCount } = await c.query(
    'SELECT 1 FROM changefeed WHERE gun = $1 AND version = $2 AND sha256 = $3 AND category = $4 AND created_at = $5',
    [change.gun, change.version, change.sha256, change.category, change.createdAt]
  );
  if (rowCount) return 'present';
  feed.push({
    at: change.createdAt,
    gun: change.gun,
    version: change.version,
    sha256: change.sha256,
    category: change.category,
  });
  return 'stored';
}

async function getLatest(c: Conn, gun: string, role: string): Promise<StoredMeta | null> {
  const { rows } = await c.query<MetaRow>(
    `${META} WHERE gun = $1 AND role = $2 ORDER BY version DESC LIMIT 1`,
    [gun, role]
  );
  return toMeta(rows[0]);
}

async function getByChecksum(
  c: Conn,
  gun: string,
  role: string,
  sha256: string
): Promise<StoredMeta | null> {
  // Several versions may hold identical bytes; the newest makes the answer deterministic.
  const { rows } = await c.query<MetaRow>(
    `${META} WHERE gun = $1 AND role = $2 AND sha256 = $3 ORDER BY version DESC LIMIT 1`,
    [gun, role, sha256]
  );
  return toMeta(rows[0]);
}

async function getByVersion(
  c: Conn,
  gun: string,
  role: string,
  version: number
): Promise<StoredMeta | null> {
  const { rows } = await c.query<MetaRow>(`${META} WHERE gun = $1 AND role = $2 AND version = $3`, [
    gun,
    role,
    version,
  ]);
  return toMeta(rows[0]);
}

async function deleteGun(c: Conn, feed: PendingChange[], gun: string, at: Date): Promise<boolean> {
  // `=` compares exactly: a/b never matches a/bc or a/b/c.
  const { rowCount } = await c.query('DELETE FROM tuf_files WHERE gun = $1', [gun]);
  if (!rowCount) return false;
  feed.push({ at, gun, version: 0, sha256: '', category: 'deletion' });
  return true;
}

/** notary's SQLStorage.GetChanges, rule for rule (docs/protocol.md §1.4). */
async function changes(
  c: Conn,
  gun: string | null,
  changeId: number,
  records: number
): Promise<Change[]> {
  const reversed = changeId < 0 || records < 0;
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (gun !== null) {
    params.push(gun);
    where.push(`gun = $${params.length}`);
  }
  if (!reversed) {
    params.push(changeId);
    where.push(`id > $${params.length}`);
  } else if (changeId > 0) {
    params.push(changeId);
    where.push(`id < $${params.length}`);
  }
  params.push(Math.abs(records));
  const { rows } = await c.query<ChangeRow>(
    `SELECT id, created_at, gun, version, sha256, category FROM changefeed
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY id ${reversed ? 'DESC' : 'ASC'} LIMIT $${params.length}`,
    params
  );
  if (reversed) rows.reverse();
  return rows.map((r) => ({
    id: r.id,
    createdAt: r.created_at,
    gun: r.gun,
    version: r.version,
    sha256: r.sha256,
    category: r.category,
  }));
}

async function listGuns(c: Conn, prefix?: string): Promise<string[]> {
  // starts_with rather than LIKE: a GUN may contain % or _, which LIKE would treat as wildcards.
  const { rows } = await c.query<{ gun: string }>(
    `SELECT DISTINCT gun FROM tuf_files
     WHERE role = 'timestamp' AND starts_with(gun, $1) ORDER BY gun`,
    [prefix ?? '']
  );
  return rows.map((r) => r.gun);
}

async function insertPendingIfAbsent(c: Conn, key: StoredKey): Promise<StoredKey> {
  // Under the (gun, role) lock: a concurrent caller on any instance waits here, then finds ours.
  const pending = await getPending(c, key.gun, key.role);
  if (pending) return pending;
  // It is inserted as pending whatever activatedAt says: that is what the caller asked for.
  const stored: StoredKey = { ...key, activatedAt: null };
  await insertKey(c, stored);
  return stored;
}

async function insertKey(c: Conn, key: StoredKey): Promise<void> {
  try {
    await c.query(
      `INSERT INTO server_keys (key_id, gun, role, algorithm, key_type, public, sealed_private, created_at, activated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        key.keyId,
        key.gun,
        key.role,
        key.algorithm,
        key.keyType,
        key.publicB64,
        key.sealedPrivate,
        key.createdAt,
        key.activatedAt,
      ]
    );
  } catch (err) {
    if (isUniqueViolation(err))
      fail('STORAGE_CONFLICT', `key ${key.keyId} already exists`, { cause: err });
    throw err;
  }
}

async function getKey(c: Conn, keyId: string): Promise<StoredKey | null> {
  const { rows } = await c.query<KeyRow>(`${KEY} WHERE key_id = $1`, [keyId]);
  return toKey(rows[0]);
}

async function listKeys(c: Conn, gun: string, role: string): Promise<StoredKey[]> {
  // seq breaks ties between keys created in the same millisecond, in insertion order.
  const { rows } = await c.query<KeyRow>(
    `${KEY} WHERE gun = $1 AND role = $2 ORDER BY created_at, seq`,
    [gun, role]
  );
  return rows.map((r) => toKey(r)!);
}

async function getPending(c: Conn, gun: string, role: string): Promise<StoredKey | null> {
  const { rows } = await c.query<KeyRow>(
    `${KEY} WHERE gun = $1 AND role = $2 AND activated_at IS NULL ORDER BY created_at DESC, seq DESC LIMIT 1`,
    [gun, role]
  );
  return toKey(rows[0]);
}

async function markActive(c: Conn, keyId: string, at: Date): Promise<void> {
  const { rowCount } = await c.query(
    'UPDATE server_keys SET activated_at = $1 WHERE key_id = $2 AND activated_at IS NULL',
    [at, keyId]
  );
  if (!rowCount && !(await getKey(c, keyId))) fail('STORAGE_NOT_FOUND', `no key ${keyId}`);
}

async function deleteKeys(c: Conn, gun: string): Promise<void> {
  await c.query('DELETE FROM server_keys WHERE gun = $1', [gun]);
}

async function listAllKeys(c: Conn): Promise<StoredKey[]> {
  const { rows } = await c.query<KeyRow>(`${KEY} ORDER BY seq`);
  return rows.map((r) => toKey(r) as StoredKey);
}

async function replaceSealed(c: Conn, keyId: string, sealed: Buffer): Promise<void> {
  const { rowCount } = await c.query(
    'UPDATE server_keys SET sealed_private = $1 WHERE key_id = $2',
    [sealed, keyId]
  );
  if (!rowCount) fail('STORAGE_NOT_FOUND', `no key ${keyId}`);
}

async function getSetting(c: Conn, name: string): Promise<string | null> {
  const { rows } = await c.query<{ value: string }>('SELECT value FROM settings WHERE name = $1', [
    name,
  ]);
  return rows[0]?.value ?? null;
}

async function putSettingIfAbsent(c: Conn, name: string, value: string): Promise<string> {
  // A concurrent inserter's uncommitted row makes ON CONFLICT wait for its outcome; the SELECT
  // that follows (a new snapshot under READ COMMITTED) then sees the winner's value.
  const { rows } = await c.query<{ value: string }>(
    'INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING value',
    [name, value]
  );
  return rows[0]?.value ?? (await getSetting(c, name))!;
}

async function putSetting(c: Conn, name: string, value: string): Promise<void> {
  await c.query(
    'INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
    [name, value]
  );
}

function toMeta(r: MetaRow | undefined): StoredMeta | null {
  if (r === undefined) return null;
  return {
    gun: r.gun,
    role: r.role,
    version: r.version,
    sha256: r.sha256,
    data: r.data,
    createdAt: r.created_at,
  };
}

function toKey(r: KeyRow | undefined): StoredKey | null {
  if (r === undefined) return null;
  return {
    keyId: r.key_id,
    gun: r.gun,
    role: r.role,
    algorithm: r.algorithm,
    keyType: r.key_type,
    publicB64: r.public,
    sealedPrivate: r.sealed_private,
    createdAt: r.created_at,
    activatedAt: r.activated_at,
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

/** A FIFO counting semaphore: `await acquire()` returns the function that gives the slot back. */
class Semaphore {
  private readonly waiting: (() => void)[] = [];

  constructor(private free: number) {}

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
