/**
 * The retry schedule of a webhook delivery (docs/webhooks.md "Retries"): the first retry after
 * `firstRetryMs`, each later one twice as long as the one before, capped at `maxDelayMs`, up to
 * `maxAttempts` attempts in all; then the delivery is `failed`. Pure: the caller passes the time.
 */
export interface RetryPolicy {
  readonly firstRetryMs: number;
  readonly maxDelayMs: number;
  readonly maxAttempts: number;
}

/** The wait after attempt number `attempt` (1-based) failed, or null when no attempt is left. */
export function retryDelay(policy: RetryPolicy, attempt: number): number | null {
  if (attempt >= policy.maxAttempts) return null;
  // 2 ** 40 is past any cap; stopping there keeps the product finite.
  const factor = 2 ** Math.min(attempt - 1, 40);
  return Math.min(policy.firstRetryMs * factor, policy.maxDelayMs);
}

/** Every wait of a delivery that always fails, for the documentation and the tests. */
export function retrySchedule(policy: RetryPolicy): number[] {
  const out: number[] = [];
  for (let attempt = 1; ; attempt++) {
    const d = retryDelay(policy, attempt);
    if (d === null) return out;
    out.push(d);
  }
}
