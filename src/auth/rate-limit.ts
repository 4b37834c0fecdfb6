/**
 * Failed-login limiter for the token endpoint and Basic logins: a sliding window log of failure
 * times per account and per client address. A login may be attempted while both have fewer
 * than their limit of failures inside the window; otherwise the caller answers 429 with
 * Retry-After. Success clears the account's failures (not the address's: one address guessing
 * many accounts stays limited).
 *
 * Memory is bounded: each key keeps at most `maxFailures` times, and each table at most
 * `maxKeys` keys, the least recently failed evicted first. IPv6 clients are keyed by their /64,
 * since one host usually owns a whole /64.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { fail } from '../errors.js';
import type { Clock } from '../util/clock.js';

export interface WindowLimit {
  readonly maxFailures: number;
  readonly windowMs: number;
}

export interface LoginRateLimiterOptions {
  readonly clock: Clock;
  readonly perAccount?: WindowLimit;
  readonly perAddress?: WindowLimit;
  /** Keys kept per table (accounts, addresses) before the stalest is dropped. */
  readonly maxKeys?: number;
}

export interface LoginDecision {
  readonly allowed: boolean;
  /** 0 when allowed; otherwise how long until one more attempt is allowed. */
  readonly retryAfterMs: number;
  readonly limitedBy?: 'account' | 'address';
}

export const DEFAULT_ACCOUNT_LIMIT: WindowLimit = { maxFailures: 10, windowMs: 15 * 60_000 };
export const DEFAULT_ADDRESS_LIMIT: WindowLimit = { maxFailures: 30, windowMs: 15 * 60_000 };
export const DEFAULT_MAX_KEYS = 10_000;

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

/** One sliding window log per key, in a size-bounded map kept in least-recently-failed order. */
class FailureLog {
  private readonly entries = new Map<string, number[]>();

  constructor(
    private readonly limit: WindowLimit,
    private readonly maxKeys: number
  ) {}

  private recent(key: string, now: number): number[] {
    const times = this.entries.get(key);
    if (times === undefined) return [];
    const kept = times.filter((t) => t > now - this.limit.windowMs);
    if (kept.length === 0) this.entries.delete(key);
    else if (kept.length !== times.length) this.entries.set(key, kept);
    return kept;
  }

  /** 0 when another attempt is allowed, else ms until the oldest counted failure leaves the window. */
  waitMs(key: string, now: number): number {
    const times = this.recent(key, now);
    if (times.length < this.limit.maxFailures) return 0;
    return times[times.length - this.limit.maxFailures]! + this.limit.windowMs - now;
  }

  add(key: string, now: number): void {
    const times = this.recent(key, now);
    times.push(now);
    this.entries.delete(key);
    this.entries.set(key, times.slice(-this.limit.maxFailures));
    while (this.entries.size > this.maxKeys) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  clear(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

function checkLimit(limit: WindowLimit, what: string): WindowLimit {
  if (!Number.isSafeInteger(limit.maxFailures) || limit.maxFailures < 1) {
    fail('CONFIG_INVALID', `${what} maxFailures must be a positive integer`);
  }
  if (!Number.isSafeInteger(limit.windowMs) || limit.windowMs < 1) {
    fail('CONFIG_INVALID', `${what} windowMs must be a positive integer`);
  }
  return limit;
}

export class LoginRateLimiter {
  private readonly clock: Clock;
  private readonly accounts: FailureLog;
  private readonly addresses: FailureLog;

  constructor(options: LoginRateLimiterOptions) {
    const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1)
      fail('CONFIG_INVALID', 'maxKeys must be positive');
    this.clock = options.clock;
    this.accounts = new FailureLog(
      checkLimit(options.perAccount ?? DEFAULT_ACCOUNT_LIMIT, 'perAccount'),
      maxKeys
    );
    this.addresses = new FailureLog(
      checkLimit(options.perAddress ?? DEFAULT_ADDRESS_LIMIT, 'perAddress'),
      maxKeys
    );
  }

  /** Whether `account` may try a password from `address` now. Call before checking the password. */
  check(account: string, address: string): LoginDecision {
    const now = this.clock.now().getTime();
    const byAccount = this.accounts.waitMs(account, now);
    const byAddress = this.addresses.waitMs(addressKey(address), now);
    if (byAccount === 0 && byAddress === 0) return { allowed: true, retryAfterMs: 0 };
    return byAccount >= byAddress
      ? { allowed: false, retryAfterMs: byAccount, limitedBy: 'account' }
      : { allowed: false, retryAfterMs: byAddress, limitedBy: 'address' };
  }

  recordFailure(account: string, address: string): void {
    const now = this.clock.now().getTime();
    this.accounts.add(account, now);
    this.addresses.add(addressKey(address), now);
  }

  recordSuccess(account: string): void {
    this.accounts.clear(account);
  }

  /** How many keys each table holds (for metrics and tests). */
  get tracked(): { accounts: number; addresses: number } {
    return { accounts: this.accounts.size, addresses: this.addresses.size };
  }
}
