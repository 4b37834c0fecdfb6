/**
 * Password logins (HTTP Basic at the token endpoint and the store API), in this order:
 *   1. a place in the line for a password hash (src/auth/hash-slots.ts), or 503 when it is full;
 *   2. an attempt reserved in the database (src/auth/rate-limit.ts), or 429 with the wait;
 *   3. scrypt against the stored hash — or against a dummy hash for an unknown name, so neither
 *      the answer nor its timing tells which accounts exist — once a hash slot is free;
 *   4. the right password gives the reservation back; a wrong one leaves it as the failure.
 * Reserving before hashing is what makes the limit hold under concurrency: a burst of guesses
 * is counted as it arrives, not after each guess has cost us a hash.
 */
import type { AccountStore } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { HashSlots } from './hash-slots.js';
import { hashPassword, needsRehash, verifyPasswordOrDummy } from './passwords.js';
import { principalOf, type Principal } from './principal.js';
import { addressKey, type LoginRateLimiter } from './rate-limit.js';
import type { BasicCredentials } from './token-request.js';

export type LoginResult =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly reason: 'invalid' }
  | {
      readonly ok: false;
      /** rate_limited: this account or address failed too often; busy: too many logins at once. */
      readonly reason: 'rate_limited' | 'busy';
      readonly retryAfterMs: number;
    };

export interface PasswordLoginOptions {
  readonly accounts: AccountStore;
  readonly limiter: LoginRateLimiter;
  readonly slots: HashSlots;
  readonly clock: Clock;
  readonly log: Logger;
}

/** A Retry-After header value: whole seconds, at least 1. */
export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

/** What a caller told to wait because every hash slot is taken should wait. */
const BUSY_RETRY_MS = 1000;

export class PasswordLogin {
  private readonly o: PasswordLoginOptions;

  constructor(options: PasswordLoginOptions) {
    this.o = options;
  }

  /** `address` is the client's address (src/http/client-address.ts), which the limits key on. */
  async login(credentials: BasicCredentials, address: string): Promise<LoginResult> {
    const { accounts, limiter, log } = this.o;
    const { username, password } = credentials;
    const ticket = this.o.slots.enter(addressKey(address));
    if (ticket === null) {
      log.warn({ account: username, address }, 'login refused: too many logins at once');
      return { ok: false, reason: 'busy', retryAfterMs: BUSY_RETRY_MS };
    }
    try {
      const reservation = await limiter.reserve(username, address);
      if (!reservation.ok) {
        log.warn(
          { account: username, address, limitedBy: reservation.limitedBy },
          'login rate-limited'
        );
        return { ok: false, reason: 'rate_limited', retryAfterMs: reservation.retryAfterMs };
      }
      const account = await accounts.get(username);
      await ticket.turn();
      const matches = await verifyPasswordOrDummy(password, account?.passwordHash);
      ticket.done();
      if (!matches || account === null) {
        log.info({ account: username, address }, 'login failed');
        return { ok: false, reason: 'invalid' };
      }
      await limiter.succeeded(reservation.id, username, address);
      this.rehashIfWeak(account.name, account.passwordHash, password);
      return { ok: true, principal: principalOf(account) };
    } finally {
      ticket.done();
    }
  }

  private rehashIfWeak(name: string, passwordHash: string, password: string): void {
    if (!needsRehash(passwordHash)) return;
    // Best effort: a failure here must not turn a good login into an error.
    hashPassword(password)
      .then((hash) => this.o.accounts.setPasswordHash(name, hash, this.o.clock.now()))
      .catch((err: unknown) =>
        this.o.log.warn({ account: name, err: String(err) }, 'password re-hash failed')
      );
  }
}
