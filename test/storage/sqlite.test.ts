import { after, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
// Only to inspect and tamper with the file from outside; src/ reaches SQLite through sqlite.ts.
import Database from 'better-sqlite3';
import { isCountersignError } from '../../src/errors.js';
import { openStorage } from '../../src/storage/index.js';
import { openSqlite } from '../../src/storage/sqlite.js';
import { openCheckpointConnection, SQLITE_PAGE_CACHE_KIB } from '../../src/storage/sqlite-file.js';
import { SQLITE_MIGRATIONS } from '../../src/storage/migrations/sqlite.js';
import { fsyncFile } from '../../src/storage/wal-sync.js';
import { heldSyncs, turns } from '../helpers/held-syncs.js';
import type { Storage } from '../../src/storage/types.js';
import { gate, metaFile, rejectsWith, storageContract, T0 } from './contract.js';

const dir = mkdtempSync(join(tmpdir(), 'countersign-sqlite-'));
let n = 0;
const freshPath = (): string => join(dir, `db-${process.pid}-${n++}.sqlite`);
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

storageContract('sqlite', async () => openSqlite(freshPath()));

const CHILD = fileURLToPath(new URL('./sqlite-child.js', import.meta.url));

interface Child {
  go(): void;
  result: Promise<Record<string, unknown>>;
}

/** Starts sqlite-child.js and resolves once it has opened the database and waits for "go". */
async function startChild(mode: string, path: string, gun: string, count: number): Promise<Child> {
  const proc = spawn(process.execPath, [CHILD, mode, path, gun, String(count)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(proc);
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const first = await lines.next();
  assert.equal(first.value, 'ready', `child did not start: ${stderr}`);
  const result = (async () => {
    const line = await lines.next();
    const code = await exited;
    children.delete(proc);
    assert.equal(code, 0, `child ${mode} failed: ${stderr}`);
    return JSON.parse(String(line.value)) as Record<string, unknown>;
  })();
  return { go: () => proc.stdin.write('go\n'), result };
}

describe('SQLite storage', () => {
  describe('across OS processes', () => {
    it('serializes read-then-write transactions: every version once, no lost write', async () => {
      // The children also create the file and its schema concurrently.
      const path = freshPath();
      const perChild = 40;
      const kids = await Promise.all(
        [1, 2, 3].map(() => startChild('increment', path, 'g', perChild))
      );
      for (const k of kids) k.go();
      const written = (await Promise.all(kids.map((k) => k.result))).flatMap(
        (r) => r.written as number[]
      );

      const total = kids.length * perChild;
      assert.deepEqual(
        [...written].sort((a, b) => a - b),
        Array.from({ length: total }, (_, i) => i + 1)
      );
      const s = openSqlite(path);
      try {
        assert.equal((await s.meta.getLatest('g', 'timestamp'))?.version, total);
        for (let v = 1; v <= total; v++)
          assert.ok(await s.meta.getByVersion('g', 'timestamp', v), `version ${v}`);
        const changes = await s.meta.changes('g', 0, 1000);
        assert.deepEqual(
          changes.map((c) => c.version),
          Array.from({ length: total }, (_, i) => i + 1)
        );
      } finally {
        await s.close();
      }
    });

    it('lets exactly one process win each contested version', async () => {
      const path = freshPath();
      const count = 60;
      const kids = await Promise.all([1, 2].map(() => startChild('race', path, 'g', count)));
      for (const k of kids) k.go();
      const results = await Promise.all(kids.map((k) => k.result));
      const won = results.flatMap((r) => r.won as number[]).sort((a, b) => a - b);
      assert.deepEqual(
        won,
        Array.from({ length: count }, (_, i) => i + 1)
      );
      for (const r of results) {
        // Each process either wrote a version or was told it was already taken.
        assert.equal((r.won as number[]).length + (r.lost as number[]).length, count);
      }
      const s = openSqlite(path);
      try {
        assert.equal((await s.meta.changes('g', 0, 1000)).length, count);
      } finally {
        await s.close();
      }
    });

    it("changes generation() after another process's commit", async () => {
      const path = freshPath();
      const s = openSqlite(path);
      try {
        const g0 = s.generation();
        assert.equal(s.generation(), g0);
        const child = await startChild('write-one', path, 'g', 1);
        assert.equal(s.generation(), g0, 'opening the database elsewhere is not a commit');
        child.go();
        await child.result;
        const g1 = s.generation();
        assert.notEqual(g1, g0);
        assert.equal(s.generation(), g1);
        assert.equal((await s.meta.getLatest('g', 'timestamp'))?.version, 1);
      } finally {
        await s.close();
      }
    });

    it('shows another process nothing of a transaction that is still open', async () => {
      const path = freshPath();
      const s = openSqlite(path);
      try {
        const hold = gate();
        const wrote = gate();
        const done = s.transaction(async (tx) => {
          await tx.meta.updateMany('g', [metaFile('root', 1), metaFile('timestamp', 1)], T0);
          wrote.open();
          await hold.promise;
        });
        await wrote.promise;
        try {
          const during = await startChild('read', path, 'g', 0);
          during.go();
          assert.deepEqual(await during.result, { latest: null, changes: 0 });
        } finally {
          hold.open();
        }
        await done;
        const afterwards = await startChild('read', path, 'g', 0);
        afterwards.go();
        assert.deepEqual(await afterwards.result, { latest: 1, changes: 1 });
      } finally {
        await s.close();
      }
    });
  });

  describe('in one process', () => {
    it('shows a plain reader nothing of a long transaction, file by file', async () => {
      const s = openSqlite(freshPath());
      try {
        const step = [gate(), gate(), gate()];
        const proceed = [gate(), gate(), gate()];
        const done = s.transaction(async (tx) => {
          for (const [i, role] of ['root', 'targets', 'timestamp'].entries()) {
            await tx.meta.updateMany('g', [metaFile(role, 1)], T0);
            step[i]!.open();
            await proceed[i]!.promise;
          }
        });
        const g0 = s.generation();
        try {
          for (let i = 0; i < 3; i++) {
            await step[i]!.promise;
            for (const role of ['root', 'targets', 'timestamp'])
              assert.equal(await s.meta.getLatest('g', role), null);
            assert.equal(s.generation(), g0);
            proceed[i]!.open();
          }
        } finally {
          for (const p of proceed) p.open();
        }
        await done;
        assert.notEqual(s.generation(), g0);
        for (const role of ['root', 'targets', 'timestamp'])
          assert.equal((await s.meta.getLatest('g', role))?.version, 1);
      } finally {
        await s.close();
      }
    });

    it('refuses a plain write inside transaction() instead of waiting for itself', async () => {
      const s = openSqlite(freshPath());
      try {
        await s.transaction(async () => {
          await rejectsWith(s.meta.updateMany('g', [metaFile('root', 1)], T0), 'STORAGE_FAILURE');
          await rejectsWith(
            s.transaction(async () => undefined),
            'STORAGE_FAILURE'
          );
        });
        assert.equal(await s.meta.getLatest('g', 'root'), null);
      } finally {
        await s.close();
      }
    });

    it('refuses a tx used after its transaction ended', async () => {
      const s = openSqlite(freshPath());
      try {
        let leaked: Parameters<Parameters<Storage['transaction']>[0]>[0] | undefined;
        await s.transaction(async (tx) => {
          leaked = tx;
        });
        await rejectsWith(
          leaked!.meta.updateMany('g', [metaFile('root', 1)], T0),
          'STORAGE_FAILURE'
        );
        await rejectsWith(leaked!.meta.getLatest('g', 'root'), 'STORAGE_FAILURE');
        assert.equal(await s.meta.getLatest('g', 'root'), null);
      } finally {
        await s.close();
      }
    });

    it('waits for an open transaction before closing', async () => {
      const path = freshPath();
      const s = openSqlite(path);
      const hold = gate();
      const done = s.transaction((tx) =>
        tx.meta.updateMany('g', [metaFile('root', 1)], T0).then(() => hold.promise)
      );
      const closed = s.close();
      hold.open();
      await Promise.all([done, closed]);
      await rejectsWith(s.meta.getLatest('g', 'root'), 'STORAGE_FAILURE');
      const reopened = openSqlite(path);
      assert.equal((await reopened.meta.getLatest('g', 'root'))?.version, 1);
      await reopened.close();
    });
  });

  describe('durability (src/storage/wal-sync.ts)', () => {
    it('answers a write once the WAL is fsynced, and frees the write lock before that', async () => {
      const path = freshPath();
      const { calls, syncFile } = heldSyncs();
      const s = openSqlite(path, { syncFile });
      try {
        let firstDone = false;
        const first = s
          .transaction((tx) => tx.meta.updateMany('g', [metaFile('root', 1)], T0))
          .then(() => (firstDone = true));
        await turns();
        assert.deepEqual(
          calls.map((c) => c.path),
          [`${path}-wal`]
        );
        assert.equal(firstDone, false, 'not answered before the fsync');
        // The lock is free: a second writer commits while the first one's fsync runs ...
        let secondDone = false;
        const second = s.meta
          .updateMany('g', [metaFile('targets', 1)], T0)
          .then(() => (secondDone = true));
        await turns();
        assert.equal((await s.meta.getLatest('g', 'targets'))?.version, 1);
        assert.equal(calls.length, 1, '... and waits for a sync that starts after it');
        calls[0]!.settle();
        await first;
        await turns();
        assert.equal(secondDone, false);
        assert.equal(calls.length, 2);
        calls[1]!.settle();
        await second;
      } finally {
        for (const c of calls) c.settle();
        await s.close();
      }
    });

    it('fails a write whose fsync failed, naming it; the next write syncs again', async () => {
      const { calls, syncFile } = heldSyncs();
      const s = openSqlite(freshPath(), { syncFile });
      try {
        const failed = s.transaction((tx) => tx.meta.updateMany('g', [metaFile('root', 1)], T0));
        await turns();
        calls[0]!.settle(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
        await assert.rejects(
          failed,
          (err: Error) =>
            isCountersignError(err, 'STORAGE_FAILURE') && /could not be fsynced/.test(err.message)
        );
        const next = s.meta.updateMany('g', [metaFile('root', 2)], T0);
        await turns();
        assert.equal(calls.length, 2);
        calls[1]!.settle();
        await next;
      } finally {
        await s.close();
      }
    });

    it('with the real fsync, a reopened file has every answered write', async () => {
      const path = freshPath();
      const synced: string[] = [];
      const s = openSqlite(path, {
        syncFile: async (p) => {
          await fsyncFile(p);
          synced.push(p);
        },
      });
      for (let v = 1; v <= 5; v++) await s.meta.updateMany('g', [metaFile('root', v)], T0);
      assert.ok(synced.length >= 5 && synced.every((p) => p === `${path}-wal`));
      await s.close();
      const reopened = openSqlite(path);
      assert.equal((await reopened.meta.getLatest('g', 'root'))?.version, 5);
      await reopened.close();
    });
  });

  describe('file and schema', () => {
    it('creates the file with mode 0600, in WAL mode', async () => {
      const path = freshPath();
      const s = openSqlite(path);
      await s.meta.updateMany('g', [metaFile('root', 1)], T0);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.ok(existsSync(`${path}-wal`));
      await s.close();
      const db = new Database(path, { readonly: true });
      try {
        assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      } finally {
        db.close();
      }
    });

    it("keeps every connection's page cache at SQLITE_PAGE_CACHE_KIB, not better-sqlite3's 16 MB", async () => {
      // Every connection sets pragmas while it opens: remember each one, then ask it.
      const pragma = mock.method(Database.prototype, 'pragma');
      const path = freshPath();
      let s: Storage | undefined;
      let checkpointer: ReturnType<typeof openCheckpointConnection> | undefined;
      try {
        s = openSqlite(path);
        checkpointer = openCheckpointConnection(path);
      } finally {
        pragma.mock.restore();
      }
      const opened = new Set(pragma.mock.calls.map((c) => c.this as Database.Database));
      try {
        // The writer, the reader and the checkpoint thread's connection.
        assert.equal(opened.size, 3);
        const unconfigured = new Database(':memory:');
        assert.equal(unconfigured.pragma('cache_size', { simple: true }), -16000);
        unconfigured.close();
        for (const db of opened)
          assert.equal(db.pragma('cache_size', { simple: true }), -SQLITE_PAGE_CACHE_KIB);
      } finally {
        checkpointer?.close();
        await s?.close();
      }
    });

    it('applies each migration once, also when reopened or opened concurrently', async () => {
      const path = freshPath();
      const opened = [openSqlite(path), openSqlite(path), openSqlite(path)];
      await opened[0]!.meta.updateMany('g', [metaFile('root', 1)], T0);
      await Promise.all(opened.map((s) => s.close()));
      const reopened = openSqlite(path);
      assert.equal((await reopened.meta.getLatest('g', 'root'))?.version, 1);
      await reopened.close();
      const db = new Database(path, { readonly: true });
      try {
        const rows = db
          .prepare('SELECT version, name FROM schema_migrations ORDER BY version')
          .all();
        assert.deepEqual(
          rows,
          SQLITE_MIGRATIONS.map((m) => ({ version: m.version, name: m.name }))
        );
      } finally {
        db.close();
      }
    });

    it('refuses a database whose schema is newer than this program', async () => {
      const path = freshPath();
      await openSqlite(path).close();
      const db = new Database(path);
      db.prepare(
        "INSERT INTO schema_migrations (version, name) VALUES (9999, 'from the future')"
      ).run();
      db.close();
      assert.throws(
        () => openSqlite(path),
        (err) => isCountersignError(err, 'CONFIG_INVALID')
      );
    });

    it('creates missing parent directories', async () => {
      const path = join(dir, `nested-${process.pid}`, 'data', 'countersign.db');
      const s = openSqlite(path);
      await s.close();
      assert.ok(existsSync(path));
    });

    it('refuses an in-memory database', () => {
      assert.throws(
        () => openSqlite(':memory:'),
        (err) => isCountersignError(err, 'CONFIG_INVALID')
      );
    });
  });

  describe('openStorage', () => {
    it('opens SQLite', async () => {
      // backend postgres: test/storage/postgres.test.ts.
      const s = await openStorage({ backend: 'sqlite', path: freshPath() });
      assert.equal(s.kind, 'sqlite');
      await s.close();
    });
  });
});
