/**
 * The account, refresh-token and login-attempt stores (src/storage/types.ts, migrations 2 and 4),
 * written once for both engines over the port in sql.ts.
 *
 * Login counters change no metadata: they run through the engine's `counters` path, which
 * leaves the generation (and every instance's read cache) alone and skips the fsync of its
 * commits (losing the last few counts in a crash is harmless; an fsync per guess is not). A
 * reservation counts and records in one serialized step (SQLite's write lock; on PostgreSQL a
 * lock on the address, since both counts it checks belong to that address), so a burst of
 * concurrent guesses cannot all slip past the count.
 */
import { fail } from '../errors.js';
import { changeOne } from './sql.js';
import { decidingOffset, pruneBefore, refusal, waitFor, windowStart } from './login-window.js';
import type { Dialect, ReadRun, SqlConn, WriteRun } from './sql.js';
import type {
  AccountRole,
  LoginAttempt,
  LoginAttemptStore,
  LoginReservation,
  LoginWindow,
  Storage,
  StoredAccount,
  StoredRefreshToken,
} from './types.js';

interface AccountRow {
  name: string;
  role: AccountRole;
  namespaces: unknown;
  password_hash: string;
  created_at: unknown;
  updated_at: unknown;
}

interface RefreshRow {
  id: string;
  account: string;
  service: string;
  client_id: string;
  issued_at: unknown;
  expires_at: unknown;
}

const ACCOUNT =
  'SELECT name, role, namespaces, password_hash, created_at, updated_at FROM accounts';
const REFRESH = 'SELECT id, account, service, client_id, issued_at, expires_at FROM refresh_tokens';

export function bindAccountStores(
  read: ReadRun,
  write: WriteRun
): Pick<Storage, 'accounts' | 'refreshTokens'> {
  return {
    accounts: {
      upsert: (a) => write({}, (c) => upsertAccount(c, a)),
      get: (name) => read((c) => c.row(`${ACCOUNT} WHERE name = ?`, [name], toAccount)),
      list: () => read((c) => c.rows(`${ACCOUNT} ORDER BY name`, [], toAccount)),
      remove: (name) =>
        write(
          {},
          async (c) => (await c.execute('DELETE FROM accounts WHERE name = ?', [name])) > 0
        ),
      setPasswordHash: (name, hash, at) =>
        write({}, (c) =>
          changeOne(
            c,
            'UPDATE accounts SET password_hash = ?, updated_at = ? WHERE name = ?',
            [hash, at.toISOString(), name],
            `no account ${name}`
          )
        ),
    },
    refreshTokens: {
      save: (r) => write({}, (c) => saveRefreshToken(c, r)),
      find: (id) =>
        read(async (c) => {
          const r = await c.row<RefreshRow>(`${REFRESH} WHERE id = ?`, [id]);
          if (r === null) return undefined;
          const { account, service } = r;
          const [issuedAt, expiresAt] = [c.dialect.date(r.issued_at), c.dialect.date(r.expires_at)];
          return { id, account, service, clientId: r.client_id, issuedAt, expiresAt };
        }),
      remove: (id) =>
        write(
          {},
          async (c) => void (await c.execute('DELETE FROM refresh_tokens WHERE id = ?', [id]))
        ),
      removeForAccount: (account) =>
        write({}, (c) => c.execute('DELETE FROM refresh_tokens WHERE account = ?', [account])),
    },
  };
}

async function upsertAccount(c: SqlConn, a: StoredAccount): Promise<'created' | 'updated'> {
  // Without an "inserted" flag from the engine (SQLite), the writer's lock makes a look first exact.
  const flag = c.dialect.insertedFlag;
  const existed =
    flag === null ? (await c.row(`${ACCOUNT} WHERE name = ?`, [a.name])) !== null : false;
  const row = await c.row<{ inserted: boolean }>(
    `INSERT INTO accounts (name, role, namespaces, password_hash, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET role = excluded.role, namespaces = excluded.namespaces,
       password_hash = excluded.password_hash, updated_at = excluded.updated_at
     ${flag === null ? '' : `RETURNING ${flag} AS inserted`}`,
    [
      a.name,
      a.role,
      JSON.stringify(a.namespaces),
      a.passwordHash,
      a.createdAt.toISOString(),
      a.updatedAt.toISOString(),
    ]
  );
  const created = flag === null ? !existed : row?.inserted === true;
  return created ? 'created' : 'updated';
}

async function saveRefreshToken(c: SqlConn, r: StoredRefreshToken): Promise<void> {
  try {
    await c.execute(
      'INSERT INTO refresh_tokens (id, account, service, client_id, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      [r.id, r.account, r.service, r.clientId, r.issuedAt.toISOString(), r.expiresAt.toISOString()]
    );
  } catch (err) {
    if (c.dialect.isUniqueViolation(err))
      fail('STORAGE_CONFLICT', 'refresh token id exists', { cause: err });
    if (c.dialect.isMissingReference(err))
      fail('STORAGE_NOT_FOUND', `no account ${r.account}`, { cause: err });
    throw err;
  }
}

function toAccount(r: AccountRow, d: Dialect): StoredAccount {
  const namespaces = d.json(r.namespaces);
  if (!Array.isArray(namespaces) || !namespaces.every((n) => typeof n === 'string')) {
    fail('STORAGE_FAILURE', `account ${r.name} has unreadable namespaces`);
  }
  return {
    name: r.name,
    role: r.role,
    namespaces,
    passwordHash: r.password_hash,
    createdAt: d.date(r.created_at),
    updatedAt: d.date(r.updated_at),
  };
}

type Limits = { readonly perAccount: LoginWindow; readonly perAddress: LoginWindow };

/** `counters` is a write path that does not count as a data change (no cache invalidation). */
export function bindLoginAttempts(read: ReadRun, counters: WriteRun): LoginAttemptStore {
  const deleting = (sql: string, params: unknown[]): Promise<number> =>
    counters({}, (c) => c.execute(sql, params));
  return {
    // A full window is seen without a transaction: a burst's refusals lock nothing.
    reserve: async (a, limits) =>
      (await read((c) => refusalNow(c, a, limits))) ??
      counters({ locks: [['login address', a.address]] }, (c) => reserve(c, a, limits)),
    succeeded: async (id, account, address) =>
      void (await deleting(
        'DELETE FROM login_attempts WHERE id = ? OR (account = ? AND address = ?)',
        [id, account, address]
      )),
    clearAccount: (account) => deleting('DELETE FROM login_attempts WHERE account = ?', [account]),
    clearAddress: (address) => deleting('DELETE FROM login_attempts WHERE address = ?', [address]),
    count: (filter) =>
      read(async (c) => {
        const row = await c.row<{ n: number }>(
          `SELECT count(*) AS n FROM login_attempts
            WHERE (CAST(? AS TEXT) IS NULL OR account = ?) AND (CAST(? AS TEXT) IS NULL OR address = ?)`,
          [
            filter.account ?? null,
            filter.account ?? null,
            filter.address ?? null,
            filter.address ?? null,
          ]
        );
        return row?.n ?? 0;
      }),
  };
}

/** Inside the counters' transaction: prune, count again, and record when there is room. */
async function reserve(c: SqlConn, a: LoginAttempt, limits: Limits): Promise<LoginReservation> {
  await c.execute('DELETE FROM login_attempts WHERE at <= ?', [
    pruneBefore(a.at.getTime(), limits),
  ]);
  const refused = await refusalNow(c, a, limits);
  if (refused !== null) return refused;
  const row = await c.row<{ id: number }>(
    'INSERT INTO login_attempts (account, address, at) VALUES (?, ?, ?) RETURNING id',
    [a.account, a.address, a.at.getTime()]
  );
  return { ok: true, id: row!.id };
}

/** The refusal the windows give now, or null when both have room. Reads only. */
async function refusalNow(
  c: SqlConn,
  a: LoginAttempt,
  limits: Limits
): Promise<Exclude<LoginReservation, { ok: true }> | null> {
  const now = a.at.getTime();
  const accountAt = await decidingAt(
    c,
    'account = ? AND address = ?',
    [a.account, a.address],
    now,
    limits.perAccount
  );
  const addressAt = await decidingAt(c, 'address = ?', [a.address], now, limits.perAddress);
  return refusal(
    waitFor(accountAt, now, limits.perAccount),
    waitFor(addressAt, now, limits.perAddress)
  );
}

/** The newest-first `offset`-th attempt time inside the window, if the window is that full. */
async function decidingAt(
  c: SqlConn,
  where: string,
  params: unknown[],
  now: number,
  window: LoginWindow
): Promise<number | undefined> {
  const row = await c.row<{ at: number }>(
    `SELECT at FROM login_attempts WHERE ${where} AND at > ? ORDER BY at DESC LIMIT 1 OFFSET ?`,
    [...params, windowStart(now, window), decidingOffset(window)]
  );
  return row?.at;
}
