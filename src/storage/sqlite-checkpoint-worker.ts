/**
 * The checkpoint thread of one SQLite database (src/storage/checkpoints.ts): a connection of its
 * own that runs `PRAGMA wal_checkpoint(PASSIVE)` when told that commits happened, at most once per
 * interval. Only ever run as a worker thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { CheckpointWorkerData } from './checkpoints.js';
import { lowerThreadPriority } from '../util/thread-priority.js';
import { openCheckpointConnection } from './sqlite-file.js';

if (!parentPort) throw new Error('sqlite-checkpoint-worker runs only as a worker thread');
const port = parentPort;
const { path, intervalMs, waiting } = workerData as CheckpointWorkerData;
// Copying pages is CPU the event loop's reads should not wait behind; the WAL only grows a little
// longer while they keep the core busy.
lowerThreadPriority(10);
const connection = openCheckpointConnection(path);
let last = 0;
let timer: NodeJS.Timeout | undefined;

port.on('message', (message: 'dirty' | 'close') => {
  if (message === 'close') {
    clearTimeout(timer);
    connection.close();
    port.close();
    return;
  }
  // Commits during the wait are covered by the checkpoint already scheduled.
  timer ??= setTimeout(checkpoint, Math.max(0, last + intervalMs - Date.now()));
});

function checkpoint(): void {
  timer = undefined;
  last = Date.now();
  // Cleared before, not after: a commit from now on wakes the thread again, and one that came
  // before is in the WAL this checkpoint copies.
  Atomics.store(waiting, 0, 0);
  // Busy (another process checkpointing, a writer holding a lock it needs) just means "next
  // time"; anything else ends the thread, and the writer checkpoints by itself again.
  connection.checkpoint();
}
