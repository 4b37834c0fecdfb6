/**
 * Bounds the password hashes running at once, and shares the waiting fairly between client
 * addresses. scrypt is deliberately costly (≈32 MiB and tens of ms each) and runs on libuv's
 * small thread pool: without a bound, a burst of guesses fills the pool and an honest login
 * queues behind all of them (the issue measured 7.45 s instead of 175 ms). Here at most
 * `maxInFlight` hashes run; waiters are served round-robin by address, so a login from an
 * address with nobody else waiting goes next, however many one other address has queued.
 * Beyond `maxWaiting` waiters a login is refused at once (503 with Retry-After) instead of
 * queueing without end.
 */

export interface HashSlotsOptions {
  readonly maxInFlight: number;
  readonly maxWaiting: number;
}

/** A place in the line: `turn()` resolves when a hash may run; `done()` frees the slot. */
export interface HashTicket {
  turn(): Promise<void>;
  /** Gives the place (or the slot) back; call exactly once, also when the login goes no further. */
  done(): void;
}

export const DEFAULT_HASH_SLOTS: HashSlotsOptions = { maxInFlight: 2, maxWaiting: 256 };

export class HashSlots {
  private running = 0;
  /** Tickets handed out and not yet done: running, queued, or about to ask for their turn. */
  private admitted = 0;
  /** Waiters by address key, in the order the addresses take turns. */
  private readonly queues = new Map<string, (() => void)[]>();

  constructor(private readonly o: HashSlotsOptions = DEFAULT_HASH_SLOTS) {}

  /** A ticket for a hash on behalf of `address`, or null when the line is full. */
  enter(address: string): HashTicket | null {
    if (this.admitted >= this.o.maxInFlight + this.o.maxWaiting) return null;
    this.admitted++;
    let state: 'new' | 'queued' | 'running' | 'done' = 'new';
    let wake: (() => void) | undefined;
    let granted: Promise<void> | undefined;
    return {
      turn: () =>
        (granted ??= new Promise<void>((resolve) => {
          if (state !== 'new') return resolve();
          if (this.running < this.o.maxInFlight && this.queues.size === 0) {
            this.running++;
            state = 'running';
            return resolve();
          }
          state = 'queued';
          wake = () => {
            state = 'running';
            resolve();
          };
          const queue = this.queues.get(address) ?? [];
          queue.push(wake);
          this.queues.set(address, queue);
        })),
      done: () => {
        if (state === 'done') return;
        if (state === 'queued') this.dequeue(address, wake!);
        if (state === 'running') {
          this.running--;
          this.next();
        }
        state = 'done';
        this.admitted--;
      },
    };
  }

  /** Hashes running and logins admitted but not running (metrics, tests). */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.admitted - this.running };
  }

  /** Hands a free slot to the first waiter of the address whose turn it is. */
  private next(): void {
    if (this.running >= this.o.maxInFlight) return;
    const first = this.queues.entries().next();
    if (first.done === true) return;
    const [address, queue] = first.value;
    const wake = queue.shift()!;
    this.queues.delete(address);
    // The address goes to the back of the line, behind every other address waiting.
    if (queue.length > 0) this.queues.set(address, queue);
    this.running++;
    wake();
  }

  private dequeue(address: string, wake: () => void): void {
    const queue = this.queues.get(address);
    const at = queue?.indexOf(wake) ?? -1;
    if (queue === undefined || at < 0) return;
    queue.splice(at, 1);
    if (queue.length === 0) this.queues.delete(address);
  }
}
