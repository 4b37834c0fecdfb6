/**
 * Lowers the calling thread's scheduling priority, for worker threads that share a core with the
 * event loop (docs/performance.md "Reads during large uploads"). On Linux, setpriority() on a
 * thread ID changes that thread only, and /proc/thread-self names the calling thread. Elsewhere
 * nothing changes: the thread then competes as an equal, which costs read latency, never
 * correctness.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** Raises this thread's nice value by `steps` (capped at 19, the lowest priority). */
export function lowerThreadPriority(steps: number): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, Math.min(19, getPriority(tid) + steps));
  } catch {
    // not Linux, or no /proc: run at the process's priority
  }
}
