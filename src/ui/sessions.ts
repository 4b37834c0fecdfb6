/**
 * UI sessions, kept in the account store's refresh-token table (src/auth/refresh-tokens.ts): the
 * browser holds an opaque random token, the database only its SHA-256, so a copy of the database
 * cannot be replayed and logout (or removing the account) truly ends the session.
 *
 * A record's `expiresAt` is the idle deadline. Activity slides it by rotating the token (a new
 * record, the old one removed) at most once per `rotateAfterMs`, so the refresh-token store needs
 * no update method. The record's `clientId` carries what must survive a rotation: when the
 * session began (for the absolute limit) and its CSRF token.
 */
import { randomBytes } from 'node:crypto';
import { refreshTokenId } from '../auth/refresh-tokens.js';
import type { RefreshTokenStore, StoredRefreshToken } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { newCsrfToken } from './csrf.js';

/**
 * The `service` of UI session records: no token service is named this (it holds a space), so a
 * session token is never redeemable at /auth/token, and docker's refresh tokens are no sessions.
 */
export const UI_SESSION_SERVICE = 'countersign-ui session';

export const DEFAULT_IDLE_MS = 30 * 60 * 1000;
export const DEFAULT_ABSOLUTE_MS = 12 * 60 * 60 * 1000;

const TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;

export interface UiSession {
  readonly account: string;
  readonly csrf: string;
  /** The token the browser must hold from now on (a new one after a rotation). */
  readonly token: string;
  readonly rotated: boolean;
}

export interface UiSessionsOptions {
  readonly store: RefreshTokenStore;
  readonly clock: Clock;
  readonly idleMs?: number;
  readonly absoluteMs?: number;
}

export class UiSessions {
  readonly idleMs: number;
  private readonly absoluteMs: number;
  private readonly rotateAfterMs: number;

  constructor(private readonly o: UiSessionsOptions) {
    this.idleMs = o.idleMs ?? DEFAULT_IDLE_MS;
    this.absoluteMs = o.absoluteMs ?? DEFAULT_ABSOLUTE_MS;
    this.rotateAfterMs = Math.min(60_000, Math.floor(this.idleMs / 4));
  }

  /** A new session for an account that has just proved its password. */
  async start(account: string): Promise<UiSession> {
    const now = this.o.clock.now().getTime();
    const csrf = newCsrfToken();
    const token = await this.save(account, `ui:${now}:${csrf}`, now);
    return { account, csrf, token, rotated: true };
  }

  /** The session a cookie names, or null when it is unknown, idle too long or too old. */
  async resume(token: string | undefined): Promise<UiSession | null> {
    if (token === undefined || !TOKEN_FORMAT.test(token)) return null;
    const record = await this.o.store.find(refreshTokenId(token));
    if (record === undefined || record.service !== UI_SESSION_SERVICE) return null;
    const binding = parseBinding(record.clientId);
    const now = this.o.clock.now().getTime();
    if (
      binding === null ||
      now >= record.expiresAt.getTime() ||
      now >= binding.startedAt + this.absoluteMs
    ) {
      await this.o.store.remove(record.id);
      return null;
    }
    if (now - record.issuedAt.getTime() < this.rotateAfterMs)
      return { account: record.account, csrf: binding.csrf, token, rotated: false };
    const next = await this.save(record.account, record.clientId, now);
    await this.o.store.remove(record.id);
    return { account: record.account, csrf: binding.csrf, token: next, rotated: true };
  }

  /** Logout: the token stops working at once, on every instance. */
  async end(token: string | undefined): Promise<void> {
    if (token === undefined || !TOKEN_FORMAT.test(token)) return;
    const id = refreshTokenId(token);
    const record = await this.o.store.find(id);
    if (record?.service === UI_SESSION_SERVICE) await this.o.store.remove(id);
  }

  private async save(account: string, clientId: string, now: number): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const record: StoredRefreshToken = {
      id: refreshTokenId(token),
      account,
      service: UI_SESSION_SERVICE,
      clientId,
      issuedAt: new Date(now),
      expiresAt: new Date(now + this.idleMs),
    };
    await this.o.store.save(record);
    return token;
  }
}

function parseBinding(clientId: string): { startedAt: number; csrf: string } | null {
  const m = /^ui:(\d{1,16}):([A-Za-z0-9_-]{43})$/.exec(clientId);
  return m ? { startedAt: Number(m[1]), csrf: m[2]! } : null;
}
