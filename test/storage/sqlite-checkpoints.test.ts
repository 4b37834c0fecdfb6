/**
 * WAL checkpoints in a thread instead of inside COMMIT (src/storage/checkpoints.ts,
 * src/storage/sqlite-checkpoint-worker.ts), with the real SQLite storage: the thread copies the
 * WAL into the database file, closes before the storage so the WAL is removed at close, and a
 * thread that fails gives the writer SQLite's own auto-checkpoint back.
 */
import { after, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { openSqlite } from '../../src/storage/sqlite.js';
import type { Storage } from '../../src/storage/types.js';
import { metaFile, T0 } from './contract.js';

const dir = mkdtempSync(join(tmpdir(), 'countersign-checkpoints-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = () => join(dir, `db-${n++}.sqlite`);
const sizeOf = (file: string) => statSync(file, { throwIfNoEntry: false })?.size ?? 0;

/** Writes `count` versions of a targets file of `bytes` bytes each, one commit each. */
async function writeVersions(s: Storage, from: number, count: number, bytes: number) {
  for (let v = from; v < from + count; v++) {
    const data = Buffer.alloc(bytes, v % 251);
    await s.meta.updateMany('acme/app', [metaFile('targets', v, data)], T0);
  }
}

/** Resolves once `check` holds, polling every 20 ms; fails after `ms`. */
async function eventually(check: () => boolean, ms: number, what: string) {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('SQLite checkpoints off the event loop', () => {
  it('the thread copies the WAL into the database file; the WAL is gone after close', async () => {
    const path = freshPath();
    const s = openSqlite(path, { checkpoints: { startAfterBytes: 0, intervalMs: 20 } });
    const before = sizeOf(path);
    await writeVersions(s, 1, 3, 200_000);
    // The writer never checkpoints (auto-checkpoint off, and 600 KB is below its threshold
    // anyway): only the thread can have moved the pages into the file.
    await eventually(() => sizeOf(path) >= before + 600_000, 5000, 'the database file grows');
    assert.equal((await s.meta.getLatest('acme/app', 'targets'))?.version, 3);
    await s.close();
    assert.equal(existsSync(`${path}-wal`), false, 'the last connection removed the WAL');
  });

  it('wakes the thread once per checkpoint, not once per commit, and misses no commit', async () => {
    const path = freshPath();
    const posted = mock.method(Worker.prototype, 'postMessage');
    const s = openSqlite(path, { checkpoints: { startAfterBytes: 0, intervalMs: 2000 } });
    try {
      const wakeUps = () => posted.mock.calls.filter((c) => c.arguments[0] === 'dirty').length;
      // The first checkpoint runs as soon as the thread hears of a commit, the next one an
      // interval later: forty commits wake it once or twice (a message each, before).
      await writeVersions(s, 1, 40, 20_000);
      assert.ok(wakeUps() >= 1 && wakeUps() <= 2, `${wakeUps()} wake-ups`);
      await eventually(() => sizeOf(path) >= 800_000, 8000, 'the forty commits checkpointed');
      // Commits after those checkpoints wake the thread again, and reach the file too.
      const copied = sizeOf(path);
      const before = wakeUps();
      await writeVersions(s, 41, 10, 100_000);
      assert.ok(wakeUps() - before >= 1 && wakeUps() - before <= 2, `${wakeUps() - before}`);
      await eventually(() => sizeOf(path) >= copied + 1_000_000, 8000, 'later commits too');
    } finally {
      posted.mock.restore();
      await s.close();
    }
  });

  it('without the thread (it failed), the writer checkpoints by itself again', async () => {
    const path = freshPath();
    const s = openSqlite(path, {
      checkpoints: {
        startAfterBytes: 0,
        workerUrl: new URL('data:text/javascript,throw new Error("no checkpoints today")'),
      },
    });
    try {
      // SQLite's own threshold is 1,000 pages (4 MB): past it, a COMMIT checkpoints. The thread
      // fails while the first megabytes are written.
      for (let v = 1; v <= 8; v++) {
        await writeVersions(s, v, 1, 1_000_000);
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.ok(sizeOf(path) >= 4_000_000, `database file ${sizeOf(path)} bytes`);
    } finally {
      await s.close();
    }
  });
});
