/**
 * Giving the event loop a turn in the middle of long work, so that requests waiting on sockets
 * are answered between its steps instead of after all of them (docs/performance.md "Reads
 * during large uploads").
 */

/** Resolves after the event loop has polled for I/O once (setImmediate: after pending I/O callbacks). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
