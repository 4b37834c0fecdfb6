/**
 * Refresh (identity) tokens for the OAuth form of the token endpoint:
 * `POST realm` with `grant_type=refresh_token&refresh_token=…&service=…&client_id=…&scope=…`
 * (docker/distribution `registry/client/auth/session.go` `fetchTokenWithOAuth`; docker stores the
 * token it gets from `docker login` and sends it instead of a password).
 *
 * A refresh token is 32 random bytes, base64url. Only its SHA-256 is stored, so a copy of the
 * store cannot be replayed; it is bound to one account, one service and the client_id it was
 * issued to, and expires. Deciding what the account may do stays with the caller, on every use,
 * so a removed account or a narrowed namespace takes effect immediately.
 */
import { createHash, randomBytes } from 'node:crypto';
import { fail } from '../errors.js';
import type { Clock } from '../util/clock.js';
import { DAY_MS } from '../util/duration.js';
import type { RefreshTokenStore, StoredRefreshToken } from '../storage/types.js';
import { BearerChallengeError } from './token-error.js';

export const DEFAULT_REFRESH_LIFETIME_MS = 90 * DAY_MS;

/**
 * Refresh tokens are kept by the storage layer (src/storage/types.ts): only their SHA-256 as the
 * record's id, never the token itself.
 */
export type RefreshTokenRecord = StoredRefreshToken;
export type { RefreshTokenStore };

export interface RefreshTokensOptions {
  readonly store: RefreshTokenStore;
  readonly clock: Clock;
  readonly lifetimeMs?: number;
}

export interface RefreshBinding {
  readonly service: string;
  readonly clientId: string;
}

const TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;

export function refreshTokenId(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function refused(message: string): never {
  throw new BearerChallengeError(message, 'invalid_token');
}

export class RefreshTokens {
  private readonly store: RefreshTokenStore;
  private readonly clock: Clock;
  private readonly lifetimeMs: number;

  constructor(options: RefreshTokensOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.lifetimeMs = options.lifetimeMs ?? DEFAULT_REFRESH_LIFETIME_MS;
    if (!(this.lifetimeMs > 0)) fail('CONFIG_INVALID', 'refresh token lifetime must be positive');
  }

  /** A new refresh token for an account that has just proved its password. */
  async issue(account: string, binding: RefreshBinding): Promise<string> {
    if (account === '') fail('USAGE', 'anonymous clients get no refresh token');
    const token = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    await this.store.save({
      id: refreshTokenId(token),
      account,
      service: binding.service,
      clientId: binding.clientId,
      issuedAt: now,
      expiresAt: new Date(now.getTime() + this.lifetimeMs),
    });
    return token;
  }

  /** The record of a presented token; 401 invalid_token when unknown, expired or bound elsewhere. */
  async redeem(token: string, binding: RefreshBinding): Promise<RefreshTokenRecord> {
    if (!TOKEN_FORMAT.test(token)) refused('malformed refresh token');
    const record = await this.store.find(refreshTokenId(token));
    if (record === undefined) return refused('unknown refresh token');
    if (this.clock.now().getTime() >= record.expiresAt.getTime()) {
      await this.store.remove(record.id);
      refused('refresh token has expired');
    }
    if (record.service !== binding.service) refused('refresh token was issued for another service');
    if (record.clientId !== binding.clientId) refused('refresh token was issued to another client');
    return record;
  }

  async revoke(token: string): Promise<void> {
    await this.store.remove(refreshTokenId(token));
  }

  async revokeAccount(account: string): Promise<number> {
    return this.store.removeForAccount(account);
  }
}

/** An in-memory store, for tests and single-process development servers. */
export class MemoryRefreshTokenStore implements RefreshTokenStore {
  private readonly records = new Map<string, RefreshTokenRecord>();

  async save(record: RefreshTokenRecord): Promise<void> {
    if (this.records.has(record.id)) fail('STORAGE_CONFLICT', 'refresh token id exists');
    this.records.set(record.id, record);
  }

  async find(id: string): Promise<RefreshTokenRecord | undefined> {
    return this.records.get(id);
  }

  async remove(id: string): Promise<void> {
    this.records.delete(id);
  }

  async removeForAccount(account: string): Promise<number> {
    let n = 0;
    for (const [id, r] of this.records) {
      if (r.account === account) {
        this.records.delete(id);
        n++;
      }
    }
    return n;
  }

  get size(): number {
    return this.records.size;
  }
}
