/**
 * The fsync that makes an SQLite commit durable, taken off the event loop (docs/design.md
 * "Durability of SQLite commits").
 *
 * better-sqlite3 is synchronous: with `synchronous = FULL` every COMMIT fsyncs the WAL on the
 * event loop, and every GET waits that long (2–12 ms on a shared disk; longer for a large
 * upload). Instead the writer commits with `synchronous = NORMAL` — SQLite appends the WAL frames
 * without syncing them, which in WAL mode never corrupts the database, it can only lose the last
 * commits to a power cut — and the commit's caller then awaits `WalSync.after()`: an fsync of the
 * `-wal` file on libuv's thread pool, started after the COMMIT returned. Linux syncs a file, not
 * a descriptor, so our own descriptor of it syncs every frame SQLite wrote through its own.
 * An acknowledged write has been fsynced, as before. What changes: another reader of the file can
 * see a commit up to one fsync before it is durable.
 *
 * Group commit: a commit made while a sync runs needs a sync that starts after it; every such
 * commit shares the next one, so a burst of writers costs two syncs, not one each. The write lock
 * is released before the sync, so the next writer's work overlaps it.
 */
import { open, type FileHandle } from 'node:fs/promises';

/** Makes what has been written to `path` durable. */
export type SyncFile = (path: string) => Promise<void>;

/**
 * fsync of the file at `path`, opened for the occasion. A file that is gone was removed by SQLite
 * after a checkpoint that synced the database itself (the last connection's close), so there is
 * nothing left to sync.
 */
export const fsyncFile: SyncFile = async (path) => {
  const handle = await openUnlessGone(path);
  if (!handle) return;
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
};

/**
 * fsync of one file through a descriptor kept open between calls: one trip to the thread pool per
 * commit instead of three (open, fsync, close). SQLite never replaces the `-wal` file of a
 * database while a connection to it is open — it truncates or overwrites it in place — so the
 * descriptor stays the file's for as long as the storage that owns it is open.
 */
export class KeptOpenFile {
  private handle: Promise<FileHandle | undefined> | undefined;
  private closed = false;

  constructor(private readonly path: string) {}

  readonly sync = async (): Promise<void> => {
    // A commit that finished just before its storage closed still gets its sync, by path.
    if (this.closed) return fsyncFile(this.path);
    this.handle ??= openUnlessGone(this.path).then((h) => {
      if (!h) this.handle = undefined; // not there yet: look again next time
      return h;
    });
    await (await this.handle)?.sync();
  };

  /** Closes the descriptor once the syncs under way on it have finished. */
  async close(): Promise<void> {
    this.closed = true;
    const handle = this.handle;
    this.handle = undefined;
    await (await handle?.catch(() => undefined))?.close();
  }
}

async function openUnlessGone(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export class WalSync {
  /** The sync in progress. */
  private running: Promise<void> | undefined;
  /** The sync that starts when the running one ends, shared by every commit made meanwhile. */
  private queued: Promise<void> | undefined;

  /** `sync` makes everything written to the WAL so far durable. */
  constructor(private readonly sync: () => Promise<void>) {}

  /**
   * Resolves when a sync that started after this call has finished: everything committed before
   * the call is durable. Rejects with the sync's error.
   */
  after(): Promise<void> {
    if (!this.running) return this.start();
    this.queued ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.start();
      });
    return this.queued;
  }

  private start(): Promise<void> {
    const run = this.sync().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }
}
