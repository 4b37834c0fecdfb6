/** Group commit of the WAL fsync (src/storage/wal-sync.ts), with a sync function the test drives. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fsyncFile, KeptOpenFile, WalSync } from '../../../src/storage/wal-sync.js';
import { heldSyncs, turns } from '../../helpers/held-syncs.js';

/** Whether `p` has settled, without waiting for it. */
function tracked<T>(p: Promise<T>) {
  const state = { settled: false, error: undefined as unknown };
  p.then(
    () => (state.settled = true),
    (err: unknown) => {
      state.settled = true;
      state.error = err;
    }
  );
  return state;
}

describe('WalSync', () => {
  it('syncs the WAL file once for a lone commit', async () => {
    const { calls, syncFile: sync } = heldSyncs();
    const wal = new WalSync(() => sync('/data/db.sqlite-wal'));
    const done = tracked(wal.after());
    await turns();
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.path, '/data/db.sqlite-wal');
    assert.equal(done.settled, false, 'not durable before the sync ends');
    calls[0]!.settle();
    await turns();
    assert.equal(done.settled, true);
  });

  it('makes commits during a sync wait for one more sync, which they share', async () => {
    const { calls, syncFile: sync } = heldSyncs();
    const wal = new WalSync(() => sync('w'));
    const first = tracked(wal.after());
    const during = [tracked(wal.after()), tracked(wal.after()), tracked(wal.after())];
    await turns();
    assert.equal(calls.length, 1, 'the second sync starts only when the first ends');
    calls[0]!.settle();
    await turns();
    assert.equal(first.settled, true);
    assert.ok(
      during.every((d) => !d.settled),
      'a sync that began before a commit does not cover it'
    );
    assert.equal(calls.length, 2, 'one sync for the three commits made meanwhile');
    calls[1]!.settle();
    await turns();
    assert.ok(during.every((d) => d.settled && d.error === undefined));
    // Idle again: the next commit starts a sync at once.
    const later = tracked(wal.after());
    await turns();
    assert.equal(calls.length, 3);
    calls[2]!.settle();
    await turns();
    assert.equal(later.settled, true);
  });

  it("passes a failed sync's error to the commits it was for; the next commit syncs anew", async () => {
    const { calls, syncFile: sync } = heldSyncs();
    const wal = new WalSync(() => sync('w'));
    const first = tracked(wal.after());
    const second = tracked(wal.after());
    await turns();
    calls[0]!.settle(new Error('EIO'));
    await turns();
    assert.equal((first.error as Error).message, 'EIO');
    assert.equal(second.settled, false, 'the queued commit still gets a sync of its own');
    calls[1]!.settle();
    await turns();
    assert.equal(second.settled, true);
    assert.equal(second.error, undefined);
  });

  it('fsyncFile syncs a real file; a file that is gone needs nothing; other errors are errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'countersign-walsync-'));
    try {
      const file = join(dir, 'db-wal');
      writeFileSync(file, 'frames');
      await fsyncFile(file);
      await fsyncFile(join(dir, 'never-created-wal'));
      // Any other failure to open is an error, not "nothing to sync".
      await assert.rejects(
        fsyncFile(join(file, 'x')),
        (err: NodeJS.ErrnoException) => err.code === 'ENOTDIR'
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('KeptOpenFile syncs through one descriptor, opened once the file exists and closed with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'countersign-walsync-'));
    /** This process's descriptors open on `file`. */
    const openOn = (file: string) =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === file;
        } catch {
          return false; // the descriptor readdir itself used
        }
      }).length;
    try {
      const file = join(dir, 'db-wal');
      const kept = new KeptOpenFile(file);
      await kept.sync(); // no file yet: nothing to sync, nothing kept
      assert.equal(openOn(file), 0);
      writeFileSync(file, 'frames');
      await kept.sync();
      await Promise.all([kept.sync(), kept.sync()]);
      assert.equal(openOn(file), 1, 'one descriptor for every sync');
      await kept.close();
      assert.equal(openOn(file), 0);
      await kept.sync(); // after close: synced by path, nothing left open
      assert.equal(openOn(file), 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
