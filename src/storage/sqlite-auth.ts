/**
 * SQLite queries of the account and refresh-token stores (src/storage/types.ts, migration 2).
 * Kept beside sqlite.ts rather than inside it: sqlite.ts binds these to its read and write paths,
 * so they share its connections, its writer lock and its transactions.
 */
import type Database from 'better-sqlite3';
import { Statements } from './sqlite-statements.js';
import { fail } from '../errors.js';
import type {
  AccountRole,
  AccountStore,
  RefreshTokenStore,
  StoredAccount,
  StoredRefreshToken,
} from './types.js';

export interface AuthStores {
  readonly accounts: AccountStore;
  readonly refreshTokens: RefreshTokenStore;
}

/** sqlite.ts's Run, narrowed to what these stores touch. */
type AuthRun = <T>(work: (q: { readonly auth: AuthQueries }) => T) => Promise<T>;

export function bindAuthStores(read: AuthRun, write: AuthRun): AuthStores {
  return {
    accounts: {
      upsert: (account) => write((q) => q.auth.upsertAccount(account)),
      get: (name) => read((q) => q.auth.getAccount(name)),
      list: () => read((q) => q.auth.listAccounts()),
      remove: (name) => write((q) => q.auth.removeAccount(name)),
      setPasswordHash: (name, hash, at) => write((q) => q.auth.setPasswordHash(name, hash, at)),
    },
    refreshTokens: {
      save: (record) => write((q) => q.auth.saveRefreshToken(record)),
      find: (id) => read((q) => q.auth.findRefreshToken(id)),
      remove: (id) => write((q) => q.auth.removeRefreshToken(id)),
      removeForAccount: (account) => write((q) => q.auth.removeRefreshTokensOf(account)),
    },
  };
}

interface AccountRow {
  name: string;
  role: AccountRole;
  namespaces: string;
  password_hash: string;
  created_at: string;
  updated_at: string;
}

interface RefreshRow {
  id: string;
  account: string;
  service: string;
  client_id: string;
  issued_at: string;
  expires_at: string;
}

const ACCOUNT =
  'SELECT name, role, namespaces, password_hash, created_at, updated_at FROM accounts';
const REFRESH = 'SELECT id, account, service, client_id, issued_at, expires_at FROM refresh_tokens';

function sqliteCode(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}

/** All SQL of these stores, synchronous, bound to one connection. */
export class AuthQueries {
  private readonly statements: Statements;

  constructor(db: Database.Database) {
    this.statements = new Statements(db);
  }

  upsertAccount(a: StoredAccount): 'created' | 'updated' {
    const existed = this.getAccount(a.name) !== null;
    this.sql(
      `INSERT INTO accounts (name, role, namespaces, password_hash, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET role = excluded.role, namespaces = excluded.namespaces,
         password_hash = excluded.password_hash, updated_at = excluded.updated_at`
    ).run(
      a.name,
      a.role,
      JSON.stringify(a.namespaces),
      a.passwordHash,
      a.createdAt.toISOString(),
      a.updatedAt.toISOString()
    );
    return existed ? 'updated' : 'created';
  }

  getAccount(name: string): StoredAccount | null {
    return toAccount(this.sql(`${ACCOUNT} WHERE name = ?`).get(name));
  }

  listAccounts(): StoredAccount[] {
    return this.sql(`${ACCOUNT} ORDER BY name`)
      .all()
      .map((r) => toAccount(r)!);
  }

  removeAccount(name: string): boolean {
    return this.sql('DELETE FROM accounts WHERE name = ?').run(name).changes > 0;
  }

  setPasswordHash(name: string, hash: string, at: Date): void {
    const { changes } = this.sql(
      'UPDATE accounts SET password_hash = ?, updated_at = ? WHERE name = ?'
    ).run(hash, at.toISOString(), name);
    if (changes === 0) fail('STORAGE_NOT_FOUND', `no account ${name}`);
  }

  saveRefreshToken(r: StoredRefreshToken): void {
    try {
      this.sql(
        `INSERT INTO refresh_tokens (id, account, service, client_id, issued_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?)`
      ).run(
        r.id,
        r.account,
        r.service,
        r.clientId,
        r.issuedAt.toISOString(),
        r.expiresAt.toISOString()
      );
    } catch (err) {
      const code = sqliteCode(err);
      if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
        fail('STORAGE_CONFLICT', 'refresh token id exists', { cause: err });
      }
      if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        fail('STORAGE_NOT_FOUND', `no account ${r.account}`, { cause: err });
      }
      throw err;
    }
  }

  findRefreshToken(id: string): StoredRefreshToken | undefined {
    const r = this.sql(`${REFRESH} WHERE id = ?`).get(id) as RefreshRow | undefined;
    return r === undefined
      ? undefined
      : {
          id: r.id,
          account: r.account,
          service: r.service,
          clientId: r.client_id,
          issuedAt: new Date(r.issued_at),
          expiresAt: new Date(r.expires_at),
        };
  }

  removeRefreshToken(id: string): void {
    this.sql('DELETE FROM refresh_tokens WHERE id = ?').run(id);
  }

  removeRefreshTokensOf(account: string): number {
    return this.sql('DELETE FROM refresh_tokens WHERE account = ?').run(account).changes;
  }

  private sql(text: string): Database.Statement {
    return this.statements.get(text);
  }
}

function toAccount(row: unknown): StoredAccount | null {
  if (row === undefined) return null;
  const r = row as AccountRow;
  const namespaces = JSON.parse(r.namespaces) as unknown;
  if (!Array.isArray(namespaces) || !namespaces.every((n) => typeof n === 'string')) {
    fail('STORAGE_FAILURE', `account ${r.name} has unreadable namespaces`);
  }
  return {
    name: r.name,
    role: r.role,
    namespaces,
    passwordHash: r.password_hash,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}
