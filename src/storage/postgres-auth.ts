/**
 * PostgreSQL queries of the account and refresh-token stores (src/storage/types.ts, migration 2):
 * the twin of sqlite-auth.ts, bound by postgres.ts to its read and write paths so they share its
 * pool, locks and change notifications.
 */
import type pg from 'pg';
import { fail } from '../errors.js';
import type {
  AccountRole,
  AccountStore,
  RefreshTokenStore,
  StoredAccount,
  StoredRefreshToken,
} from './types.js';

interface Conn {
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

type Read = <T>(work: (c: Conn) => Promise<T>) => Promise<T>;
type Write = <T>(work: (c: Conn) => Promise<T>) => Promise<T>;

export interface AuthStores {
  readonly accounts: AccountStore;
  readonly refreshTokens: RefreshTokenStore;
}

interface AccountRow {
  name: string;
  role: AccountRole;
  namespaces: unknown;
  password_hash: string;
  created_at: Date;
  updated_at: Date;
}

interface RefreshRow {
  id: string;
  account: string;
  service: string;
  client_id: string;
  issued_at: Date;
  expires_at: Date;
}

const ACCOUNT =
  'SELECT name, role, namespaces, password_hash, created_at, updated_at FROM accounts';
const REFRESH = 'SELECT id, account, service, client_id, issued_at, expires_at FROM refresh_tokens';

export function bindAuthStores(read: Read, write: Write): AuthStores {
  return {
    accounts: {
      upsert: (a) =>
        write(async (c) => {
          const r = await c.query<{ inserted: boolean }>(
            `INSERT INTO accounts (name, role, namespaces, password_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (name) DO UPDATE SET role = excluded.role, namespaces = excluded.namespaces,
               password_hash = excluded.password_hash, updated_at = excluded.updated_at
             RETURNING (xmax = 0) AS inserted`,
            [a.name, a.role, JSON.stringify(a.namespaces), a.passwordHash, a.createdAt, a.updatedAt]
          );
          return r.rows[0]?.inserted ? 'created' : 'updated';
        }),
      get: (name) =>
        read(async (c) =>
          toAccount((await c.query<AccountRow>(`${ACCOUNT} WHERE name = $1`, [name])).rows[0])
        ),
      list: () =>
        read(async (c) =>
          (await c.query<AccountRow>(`${ACCOUNT} ORDER BY name`)).rows.map((r) => toAccount(r)!)
        ),
      remove: (name) =>
        write(
          async (c) =>
            ((await c.query('DELETE FROM accounts WHERE name = $1', [name])).rowCount ?? 0) > 0
        ),
      setPasswordHash: (name, hash, at) =>
        write(async (c) => {
          const r = await c.query(
            'UPDATE accounts SET password_hash = $1, updated_at = $2 WHERE name = $3',
            [hash, at, name]
          );
          if (r.rowCount === 0) fail('STORAGE_NOT_FOUND', `no account ${name}`);
        }),
    },
    refreshTokens: {
      save: (r: StoredRefreshToken) =>
        write(async (c) => {
          try {
            await c.query(
              `INSERT INTO refresh_tokens (id, account, service, client_id, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
              [r.id, r.account, r.service, r.clientId, r.issuedAt, r.expiresAt]
            );
          } catch (err) {
            const code = (err as { code?: string }).code;
            if (code === '23505')
              fail('STORAGE_CONFLICT', 'refresh token id exists', { cause: err });
            if (code === '23503')
              fail('STORAGE_NOT_FOUND', `no account ${r.account}`, { cause: err });
            throw err;
          }
        }),
      find: (id) =>
        read(async (c) => {
          const r = (await c.query<RefreshRow>(`${REFRESH} WHERE id = $1`, [id])).rows[0];
          return (
            r && {
              id: r.id,
              account: r.account,
              service: r.service,
              clientId: r.client_id,
              issuedAt: r.issued_at,
              expiresAt: r.expires_at,
            }
          );
        }),
      remove: (id) =>
        write(async (c) => void (await c.query('DELETE FROM refresh_tokens WHERE id = $1', [id]))),
      removeForAccount: (account) =>
        write(
          async (c) =>
            (await c.query('DELETE FROM refresh_tokens WHERE account = $1', [account])).rowCount ??
            0
        ),
    },
  };
}

function toAccount(r: AccountRow | undefined): StoredAccount | null {
  if (!r) return null;
  const ns = r.namespaces;
  if (!Array.isArray(ns) || !ns.every((n) => typeof n === 'string'))
    fail('STORAGE_FAILURE', `account ${r.name} has unreadable namespaces`);
  return {
    name: r.name,
    role: r.role,
    namespaces: ns,
    passwordHash: r.password_hash,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
