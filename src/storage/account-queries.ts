/**
 * The account, refresh-token and login-attempt stores (src/storage/types.ts, migrations 2 and 4),
 * written once for both engines over the port in sql.ts. Login counters write through the
 * `counters` path (stores.ts). A reservation counts and records in one serialized step (SQLite's
 * write lock; on PostgreSQL a lock on the address, since both counts it checks belong to that
 * address), so a burst of concurrent guesses cannot all slip past the count.
 */
import { fail } from '../errors.js';
import { changeOne, insertOne, statement } from './sql.js';
import { json, plain, table, time } from './table.js';
import type { ReadRun, SqlConn, WriteRun } from './sql.js';
import type {
  LoginAttempt,
  LoginAttemptStore,
  LoginLimits,
  LoginReservation,
  LoginWindow,
  Storage,
  StoredAccount,
  StoredRefreshToken,
} from './types.js';

const ACCOUNT = table<StoredAccount>(
  'accounts',
  {
    ...plain('name role'),
    namespaces: json,
    ...plain('passwordHash'),
    createdAt: time,
    updatedAt: time,
  },
  ({ name, namespaces }: { name: string; namespaces: unknown }) => {
    if (!Array.isArray(namespaces) || !namespaces.every((n) => typeof n === 'string')) {
      fail('STORAGE_FAILURE', `account ${name} has unreadable namespaces`);
    }
  }
);
const REFRESH = table<StoredRefreshToken>('refresh_tokens', {
  ...plain('id account service clientId'),
  issuedAt: time,
  expiresAt: time,
});

export function bindAccountStores(
  read: ReadRun,
  write: WriteRun
): Pick<Storage, 'accounts' | 'refreshTokens'> {
  return {
    accounts: {
      upsert: (a) => write({}, (c) => upsertAccount(c, a)),
      get: (name) => read((c) => ACCOUNT.one(c, 'WHERE name = ?', [name])),
      list: () => read((c) => ACCOUNT.all(c, 'ORDER BY name')),
      remove: (name) =>
        write(
          {},
          async (c) => (await c.execute('DELETE FROM accounts WHERE name = ?', [name])) > 0
        ),
      setPasswordHash: (name, hash, at) => {
        const sql = 'UPDATE accounts SET password_hash = ?, updated_at = ? WHERE name = ?';
        return write({}, changeOne(sql, [hash, at.toISOString(), name], `no account ${name}`));
      },
    },
    refreshTokens: {
      save: (r) => {
        const [exists, missing] = ['refresh token id exists', `no account ${r.account}`];
        return write({}, insertOne(REFRESH.insert, REFRESH.values(r), exists, missing));
      },
      find: async (id) => (await read((c) => REFRESH.one(c, 'WHERE id = ?', [id]))) ?? undefined,
      remove: (id) => write({}, statement('DELETE FROM refresh_tokens WHERE id = ?', [id])),
      removeForAccount: (account) =>
        write({}, (c) => c.execute('DELETE FROM refresh_tokens WHERE account = ?', [account])),
    },
  };
}

async function upsertAccount(c: SqlConn, a: StoredAccount): Promise<'created' | 'updated'> {
  // Without an "inserted" flag from the engine (SQLite), the writer's lock makes a look first exact.
  const flag = c.dialect.insertedFlag;
  const existed =
    flag === null ? (await c.row(`${ACCOUNT.select} WHERE name = ?`, [a.name])) !== null : false;
  const row = await c.row<{ inserted: boolean }>(
    `${ACCOUNT.insert} ON CONFLICT (name) DO UPDATE SET role = excluded.role,
       namespaces = excluded.namespaces, password_hash = excluded.password_hash,
       updated_at = excluded.updated_at ${flag === null ? '' : `RETURNING ${flag} AS inserted`}`,
    ACCOUNT.values(a)
  );
  const created = flag === null ? !existed : row?.inserted === true;
  return created ? 'created' : 'updated';
}

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
    count: ({ account = null, address = null }) =>
      read(async (c) => {
        const row = await c.row<{ n: number }>(
          `SELECT count(*) AS n FROM login_attempts
            WHERE (CAST(? AS TEXT) IS NULL OR account = ?) AND (CAST(? AS TEXT) IS NULL OR address = ?)`,
          [account, account, address, address]
        );
        return row?.n ?? 0;
      }),
  };
}

/** Inside the counters' transaction: prune, count again, and record when there is room. */
async function reserve(
  c: SqlConn,
  a: LoginAttempt,
  limits: LoginLimits
): Promise<LoginReservation> {
  // Attempts older than every window are of no use to anyone.
  const longest = Math.max(limits.perAccount.windowMs, limits.perAddress.windowMs);
  await c.execute('DELETE FROM login_attempts WHERE at <= ?', [a.at.getTime() - longest]);
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
  limits: LoginLimits
): Promise<Exclude<LoginReservation, { ok: true }> | null> {
  const pair = 'account = ? AND address = ?';
  const accountWait = await waitFor(c, pair, [a.account, a.address], a.at, limits.perAccount);
  const addressWait = await waitFor(c, 'address = ?', [a.address], a.at, limits.perAddress);
  if (accountWait === 0 && addressWait === 0) return null;
  return accountWait >= addressWait
    ? { ok: false, limitedBy: 'account', retryAfterMs: accountWait }
    : { ok: false, limitedBy: 'address', retryAfterMs: addressWait };
}

/**
 * ms until the window of the attempts `where` selects has room (at least 1), or 0 when it has
 * now. Newest first, the `maxAttempts`-th attempt inside the window exists exactly when the
 * window is full, and its time plus the window is when one more attempt fits again.
 */
async function waitFor(
  c: SqlConn,
  where: string,
  params: unknown[],
  at: Date,
  window: LoginWindow
): Promise<number> {
  const now = at.getTime();
  const deciding = await c.row<{ at: number }>(
    `SELECT at FROM login_attempts WHERE ${where} AND at > ? ORDER BY at DESC LIMIT 1 OFFSET ?`,
    [...params, now - window.windowMs, window.maxAttempts - 1]
  );
  return deciding === null ? 0 : Math.max(1, deciding.at + window.windowMs - now);
}
