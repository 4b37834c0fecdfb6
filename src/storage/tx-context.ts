/**
 * "Is this async call running inside a transaction, and which one?" for the storage backends,
 * paid for only while a transaction is open.
 *
 * On Node 20 an AsyncLocalStorage works through an async_hooks `init` hook that runs for every
 * async resource the process creates (each socket, write request and tick), and once `run()` has
 * been called it stays on for good. A metadata GET creates several such resources and never
 * needs the context, yet with the hook on it served about a tenth fewer requests per second. So
 * the storage is switched off again (`disable()`, which also forgets every stored value) whenever
 * no transaction is left in flight; the next transaction switches it back on.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export class TxContext<T> {
  private readonly storage = new AsyncLocalStorage<T>();
  private inFlight = 0;

  /** Runs `fn` with `value` as the context of everything it awaits, until its promise settles. */
  async run<R>(value: T, fn: () => Promise<R>): Promise<R> {
    this.inFlight++;
    try {
      return await this.storage.run(value, fn);
    } finally {
      // Only at zero: disabling drops the values of every context, including other open ones.
      if (--this.inFlight === 0) this.storage.disable();
    }
  }

  /** The value of the innermost `run` this call descends from, if one is still open. */
  get(): T | undefined {
    return this.inFlight === 0 ? undefined : this.storage.getStore();
  }
}
