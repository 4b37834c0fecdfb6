/**
 * Failed-login limits for the token endpoint and Basic logins (docs/auth.md "Login limits"): a
 * sliding window of attempts per (account, client address) and per client address, kept in the
 * database (LoginAttemptStore) so every worker and instance counts the same attempts.
 *
 * An attempt is reserved BEFORE its password is hashed, in the step that counts the earlier
 * ones: however many guesses arrive at once, only as many as the limit ever reach scrypt. The
 * right password then gives its reservation back and clears its pair's failures; a wrong one
 * leaves the reservation standing as the failure. There is no account-wide lock: failures from
 * one address never block the right password from another, so nobody can lock the team out
 * from outside. IPv6 clients are keyed by their /64, since one host usually owns a whole /64.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { fail } from '../errors.js';
import type { LoginAttemptStore, LoginReservation, LoginWindow } from '../storage/types.js';
import type { Clock } from '../util/clock.js';

export interface WindowLimit {
  readonly maxFailures: number;
  readonly windowMs: number;
}

export interface LoginRateLimiterOptions {
  readonly clock: Clock;
  readonly store: LoginAttemptStore;
  /** Attempts of one account from one address (key `countersign.auth.loginLimits.perAccount`). */
  readonly perAccount?: WindowLimit;
  readonly perAddress?: WindowLimit;
}

export const DEFAULT_ACCOUNT_LIMIT: WindowLimit = { maxFailures: 10, windowMs: 15 * 60_000 };
export const DEFAULT_ADDRESS_LIMIT: WindowLimit = { maxFailures: 30, windowMs: 15 * 60_000 };

function expandIPv6(address: string): string[] | null {
  const [head = '', tail] = address.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  if (tail === undefined) return left.length === 8 ? left : null;
  return [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
}

/** The key an address is limited under: IPv4 as is (also when IPv4-mapped), IPv6 by its /64. */
export function addressKey(address: string): string {
  const bare = address.replace(/%.*$/, '').toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (mapped !== null && isIPv4(mapped[1]!)) return mapped[1]!;
  if (isIPv4(bare)) return bare;
  if (isIPv6(bare) && !bare.includes('.')) {
    const groups = expandIPv6(bare);
    if (groups !== null)
      return `${groups
        .slice(0, 4)
        .map((g) => Number.parseInt(g, 16).toString(16))
        .join(':')}::/64`;
  }
  return bare;
}

function checkLimit(limit: WindowLimit, what: string): LoginWindow {
  if (!Number.isSafeInteger(limit.maxFailures) || limit.maxFailures < 1) {
    fail('CONFIG_INVALID', `${what} maxFailures must be a positive integer`);
  }
  if (!Number.isSafeInteger(limit.windowMs) || limit.windowMs < 1) {
    fail('CONFIG_INVALID', `${what} windowMs must be a positive integer`);
  }
  return { maxAttempts: limit.maxFailures, windowMs: limit.windowMs };
}

export class LoginRateLimiter {
  private readonly clock: Clock;
  private readonly store: LoginAttemptStore;
  private readonly limits: { perAccount: LoginWindow; perAddress: LoginWindow };

  constructor(options: LoginRateLimiterOptions) {
    this.clock = options.clock;
    this.store = options.store;
    this.limits = {
      perAccount: checkLimit(options.perAccount ?? DEFAULT_ACCOUNT_LIMIT, 'perAccount'),
      perAddress: checkLimit(options.perAddress ?? DEFAULT_ADDRESS_LIMIT, 'perAddress'),
    };
  }

  /**
   * Reserves one attempt of `account` from `address`, or says how long to wait. Call before
   * checking the password; a reserved attempt counts as a failure until `succeeded`.
   */
  reserve(account: string, address: string): Promise<LoginReservation> {
    return this.store.reserve(
      { account, address: addressKey(address), at: this.clock.now() },
      this.limits
    );
  }

  /** The password was right: the attempt and the pair's earlier failures no longer count. */
  succeeded(id: number, account: string, address: string): Promise<void> {
    return this.store.succeeded(id, account, addressKey(address));
  }
}
