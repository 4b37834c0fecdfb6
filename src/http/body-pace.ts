/**
 * A minimum pace for upload bodies (docs/reliability.md "Slow and hostile clients"), after
 * Apache's mod_reqtimeout (`body=20,MinRate=500`): a body has `graceMs` to start, and each
 * `minBytesPerSecond` bytes received buy it one more second. A client that falls behind is cut
 * off with 408 `SLOW_BODY`.
 *
 * Why: an upload reserves its declared size in the upload budget (src/http/upload-budget.ts)
 * before its body is read. Without a pace, a few clients that declare 100 MiB and then send a
 * byte a second hold the whole budget until the request timeout (5 minutes), and every honest
 * publish meanwhile waits and gets 503 `BUSY`. Node's own timeouts do not help: `requestTimeout`
 * is the whole request's ceiling, and a socket idle timeout is reset by every byte.
 */
import { CountersignError } from '../errors.js';

export interface BodyPaceLimits {
  /** Time a body has before it must keep pace at all. */
  readonly graceMs: number;
  /** Bytes per second, on average since the body started, that keep it alive past the grace. */
  readonly minBytesPerSecond: number;
}

/** mod_reqtimeout's defaults: 20 s to start, then at least 500 bytes a second on average. */
export const DEFAULT_BODY_PACE: BodyPaceLimits = { graceMs: 20_000, minBytesPerSecond: 500 };

/** How often a stalled body is looked at: a client that sends nothing raises no event. */
const CHECK_INTERVAL_MS = 1_000;

/** The moment (ms since the body started) by which a body that has `received` bytes is late. */
export function bodyDeadlineMs(limits: BodyPaceLimits, received: number): number {
  return limits.graceMs + (received / limits.minBytesPerSecond) * 1000;
}

/**
 * Watches one body. `received(n)` on every chunk; `onLate` is called once when the body falls
 * behind, with the error to answer. `stop()` when the body is done (or failed for another reason).
 */
export class BodyPace {
  private bytes = 0;
  private readonly startedAt: number;
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly limits: BodyPaceLimits,
    private readonly onLate: (err: CountersignError) => void,
    private readonly now: () => number = () => performance.now()
  ) {
    this.startedAt = now();
    this.timer = setInterval(() => this.check(), CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  received(n: number): void {
    this.bytes += n;
  }

  /** Whether the body is behind its pace now (also checked every second by the timer). */
  check(): boolean {
    if (this.stopped) return false;
    const elapsed = this.now() - this.startedAt;
    if (elapsed <= bodyDeadlineMs(this.limits, this.bytes)) return false;
    this.stop();
    this.onLate(
      new CountersignError('SLOW_BODY', undefined, {
        detail:
          `${this.bytes} bytes in ${Math.round(elapsed / 1000)} s, under ` +
          `${this.limits.minBytesPerSecond} bytes a second after a ${this.limits.graceMs / 1000} s grace`,
      })
    );
    return true;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }
}
