/**
 * Password logins (HTTP Basic at the token endpoint and the store API): the rate limiter first,
 * then scrypt against the stored hash — or against a dummy hash for an unknown name, so neither
 * the answer nor its timing tells which accounts exist. A limited login is refused before any
 * password is checked, so guessing costs the guesser time, not us CPU.
 */
import type { AccountStore } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { hashPassword, needsRehash, verifyPasswordOrDummy } from './passwords.js';
import { principalOf, type Principal } from './principal.js';
import type { LoginRateLimiter } from './rate-limit.js';
import type { BasicCredentials } from './token-request.js';

export type LoginResult =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly reason: 'invalid' }
  | { readonly ok: false; readonly reason: 'rate_limited'; readonly retryAfterMs: number };

export interface PasswordLoginOptions {
  readonly accounts: AccountStore;
  readonly limiter: LoginRateLimiter;
  readonly clock: Clock;
  readonly log: Logger;
}

export class PasswordLogin {
  private readonly o: PasswordLoginOptions;

  constructor(options: PasswordLoginOptions) {
    this.o = options;
  }

  /** `address` is the client's socket address (rate limiting per address). */
  async login(credentials: BasicCredentials, address: string): Promise<LoginResult> {
    const { accounts, limiter, log } = this.o;
    const { username, password } = credentials;
    const decision = limiter.check(username, address);
    if (!decision.allowed) {
      log.warn({ account: username, address, limitedBy: decision.limitedBy }, 'login rate-limited');
      return { ok: false, reason: 'rate_limited', retryAfterMs: decision.retryAfterMs };
    }
    const account = await accounts.get(username);
    if (!(await verifyPasswordOrDummy(password, account?.passwordHash)) || account === null) {
      limiter.recordFailure(username, address);
      log.info({ account: username, address }, 'login failed');
      return { ok: false, reason: 'invalid' };
    }
    limiter.recordSuccess(username);
    if (needsRehash(account.passwordHash)) {
      // Best effort: a failure here must not turn a good login into an error.
      hashPassword(password)
        .then((hash) => accounts.setPasswordHash(account.name, hash, this.o.clock.now()))
        .catch((err: unknown) =>
          log.warn({ account: account.name, err: String(err) }, 'password re-hash failed')
        );
    }
    return { ok: true, principal: principalOf(account) };
  }
}
