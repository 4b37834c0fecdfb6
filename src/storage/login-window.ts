/**
 * The sliding-window arithmetic both engines' login counters share (LoginAttemptStore in
 * types.ts): which rows count, and how long a full window makes the caller wait. The engines
 * only run the queries.
 */
import type { LoginReservation, LoginWindow } from './types.js';

/** Rows with `at` above this are inside the window at `now`. */
export function windowStart(now: number, window: LoginWindow): number {
  return now - window.windowMs;
}

/**
 * The OFFSET that finds the attempt deciding a full window: ordered newest first, the
 * `maxAttempts`-th row exists exactly when the window is full, and its time plus the window is
 * when one more attempt fits again.
 */
export function decidingOffset(window: LoginWindow): number {
  return window.maxAttempts - 1;
}

/** ms until a window whose deciding attempt was at `decidingAt` has room; 0 when it has now. */
export function waitFor(decidingAt: number | undefined, now: number, window: LoginWindow): number {
  if (decidingAt === undefined) return 0;
  return Math.max(1, decidingAt + window.windowMs - now);
}

/** The refusal two waits add up to, or null when both windows have room. */
export function refusal(
  accountWaitMs: number,
  addressWaitMs: number
): Exclude<LoginReservation, { ok: true }> | null {
  if (accountWaitMs === 0 && addressWaitMs === 0) return null;
  return accountWaitMs >= addressWaitMs
    ? { ok: false, limitedBy: 'account', retryAfterMs: accountWaitMs }
    : { ok: false, limitedBy: 'address', retryAfterMs: addressWaitMs };
}

/** Attempts older than every window are of no use to anyone. */
export function pruneBefore(
  now: number,
  limits: { perAccount: LoginWindow; perAddress: LoginWindow }
): number {
  return now - Math.max(limits.perAccount.windowMs, limits.perAddress.windowMs);
}
