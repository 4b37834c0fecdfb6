/**
 * WAL checkpoints off the event loop (docs/design.md "Durability of SQLite commits").
 *
 * SQLite's auto-checkpoint runs inside the COMMIT that takes the WAL past 1,000 pages: it copies
 * the frames into the database file and fsyncs both — 9–13 ms on the event loop for every 4 MB
 * written here, every fourth 10,000-target upload, every ~60 small publishes. The writer turns it
 * off (`wal_autocheckpoint = 0`) and a worker thread with a connection of its own
 * (src/storage/sqlite-checkpoint-worker.ts) runs PASSIVE checkpoints instead, at most once per
 * interval while commits keep coming. PASSIVE waits for no reader or writer: frames a reader
 * still needs stay for the next round, and writers append meanwhile.
 *
 * The thread starts once the WAL has grown past `startAfterBytes` (a database that is barely
 * written, such as most tests', never starts one). If it cannot start or dies, the writer gets
 * its auto-checkpoint back: the WAL must never grow without bound.
 */
import { Worker } from 'node:worker_threads';

export interface CheckpointsOptions {
  /** The database file. */
  readonly path: string;
  /** The WAL's size in bytes now (0 if it does not exist). */
  readonly walBytes: () => number;
  /** Gives the writer connection its auto-checkpoint back (the thread failed). */
  readonly restoreAutoCheckpoint: () => void;
  /** Start the thread once the WAL is this large (default: SQLite's own threshold, 1,000 pages). */
  readonly startAfterBytes?: number;
  /** At most one checkpoint per this many ms (default 1,000). */
  readonly intervalMs?: number;
  /** The worker's module (tests substitute one that fails). */
  readonly workerUrl?: URL;
}

/** What the worker thread is told at start (src/storage/sqlite-checkpoint-worker.ts). */
export interface CheckpointWorkerData {
  readonly path: string;
  readonly intervalMs: number;
  /**
   * One Int32 shared by both threads: 1 while commits are waiting for a checkpoint the thread
   * has been told about. The writer sets it; the thread clears it just before it checkpoints.
   */
  readonly waiting: Int32Array;
}

const DEFAULT_START_AFTER_BYTES = 1000 * 4096;
const DEFAULT_INTERVAL_MS = 1000;

export class Checkpoints {
  private worker: Worker | undefined;
  /** CheckpointWorkerData.waiting. */
  private readonly waiting = new Int32Array(new SharedArrayBuffer(4));
  /** The thread failed: the writer checkpoints by itself again. */
  private failed = false;
  private closed = false;

  constructor(private readonly o: CheckpointsOptions) {}

  /** Whether a checkpoint thread is running. */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /**
   * Called after each commit that wrote data: maybe starts the thread, then wakes it if no
   * earlier commit is already waiting for its next checkpoint. A message per commit woke the
   * thread on every publish, for about 0.1 ms of CPU each on the server's core (measured:
   * docs/performance.md "Publishing: where the POST's time goes").
   */
  committed(): void {
    if (this.failed || this.closed) return;
    if (!this.worker) {
      if (this.o.walBytes() < (this.o.startAfterBytes ?? DEFAULT_START_AFTER_BYTES)) return;
      this.start();
    }
    if (Atomics.exchange(this.waiting, 0, 1) === 0) this.worker?.postMessage('dirty');
  }

  /** Stops the thread, its connection closed, before the storage closes its own. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage('close');
    // A thread stuck in a checkpoint is not waited for long: the file stays consistent anyway.
    const timer = setTimeout(() => void worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }

  private start(): void {
    const data: CheckpointWorkerData = {
      path: this.o.path,
      intervalMs: this.o.intervalMs ?? DEFAULT_INTERVAL_MS,
      waiting: this.waiting,
    };
    let worker: Worker;
    try {
      worker = new Worker(
        this.o.workerUrl ?? new URL('./sqlite-checkpoint-worker.js', import.meta.url),
        {
          workerData: data,
        }
      );
    } catch {
      this.fail();
      return;
    }
    worker.unref();
    worker.on('error', () => this.fail(worker));
    worker.on('exit', () => this.fail(worker));
    this.worker = worker;
  }

  /** The thread is gone without being asked to go: back to SQLite's own checkpoints. */
  private fail(worker?: Worker): void {
    if (worker && this.worker !== worker) return; // closed on purpose, or already handled
    this.worker = undefined;
    if (this.failed || this.closed) return;
    this.failed = true;
    this.o.restoreAutoCheckpoint();
  }
}
