/**
 * A global bound on the bytes of Notary uploads in flight (issue 20: ten concurrent 99 MiB
 * uploads took the process from 199 MB to 1 GB). Each upload reserves its size — the declared
 * Content-Length, or the per-upload cap when the body is chunked — before its body is read, and
 * holds it until its update is stored, since the parsed files live that long.
 *
 * Uploads that do not fit wait in arrival order, their bodies unread (the socket's buffers and
 * TCP flow control hold them, not our heap); one that waits longer than `maxWaitMs` is refused
 * with 503 and Retry-After. An upload is always admitted when nothing else is in flight, so a
 * budget below the per-upload cap never blocks one upload for good. Memory held by uploads is
 * therefore at most max(budget, one upload), whatever the concurrency.
 */
import { CountersignError } from '../errors.js';

export interface UploadBudgetOptions {
  /** Bytes of upload bodies in flight at once. */
  readonly maxBytes: number;
  /** How long an upload may wait for room before it is refused (503). */
  readonly maxWaitMs: number;
}

/** 256 MiB in flight (two uploads at the 100 MiB cap), waiting up to 30 s for room. */
export const DEFAULT_UPLOAD_BUDGET: UploadBudgetOptions = {
  maxBytes: 256 * 1024 * 1024,
  maxWaitMs: 30_000,
};

/** Seconds a refused client is told to wait (Retry-After). */
export const RETRY_AFTER_SECONDS = 5;

interface Waiter {
  readonly bytes: number;
  readonly grant: () => void;
}

export class UploadBudget {
  private inFlight = 0;
  private readonly queue: Waiter[] = [];

  constructor(private readonly o: UploadBudgetOptions) {}

  /** Bytes reserved right now (for tests and metrics). */
  get reserved(): number {
    return this.inFlight;
  }

  /**
   * Reserves `bytes`; resolves with the function that gives them back (call it exactly once).
   * Rejects with BUSY (503) after `maxWaitMs` without room.
   */
  acquire(bytes: number): Promise<() => void> {
    if (this.queue.length === 0 && this.fits(bytes)) return Promise.resolve(this.take(bytes));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        bytes,
        grant: () => {
          clearTimeout(timer);
          resolve(this.take(bytes));
        },
      };
      const timer = setTimeout(() => {
        const at = this.queue.indexOf(waiter);
        if (at >= 0) this.queue.splice(at, 1);
        this.admitWaiting(); // the next one may fit where this one did not
        reject(
          new CountersignError('BUSY', undefined, {
            detail: `uploads in flight use the server's ${this.o.maxBytes}-byte upload budget; retry later`,
          })
        );
      }, this.o.maxWaitMs);
      this.queue.push(waiter);
    });
  }

  private fits(bytes: number): boolean {
    return this.inFlight === 0 || this.inFlight + bytes <= this.o.maxBytes;
  }

  private take(bytes: number): () => void {
    this.inFlight += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight -= bytes;
      this.admitWaiting();
    };
  }

  /** Grants waiting uploads in arrival order while the first one fits. */
  private admitWaiting(): void {
    while (this.queue.length > 0 && this.fits((this.queue[0] as Waiter).bytes))
      (this.queue.shift() as Waiter).grant();
  }
}
