/**
 * The store tables' contract (storage-contract.ts) on SQLite and on a throwaway PostgreSQL 15
 * cluster; on PostgreSQL the concurrent-append check uses two instances on one database.
 */
import { after, before } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqlite } from '../../src/storage/sqlite.js';
import { openPostgres } from '../../src/storage/postgres.js';
import type { Storage } from '../../src/storage/types.js';
import { startPostgres, type StartedPostgres } from '../helpers/postgres.js';
import { setTamper, storeTablesContract } from './storage-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'countersign-store-tables-'));
let cluster: StartedPostgres;
before(async () => {
  cluster = await startPostgres();
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await cluster?.stop();
});

const where = new Map<
  Storage,
  { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string }
>();
setTamper(async (s, id) => {
  const w = where.get(s);
  if (!w) throw new Error('unknown storage');
  if (w.kind === 'sqlite') {
    const db = new Database(w.path);
    try {
      db.prepare("UPDATE audit_log SET details = 'not json' WHERE id = ?").run(id);
    } finally {
      db.close();
    }
  } else {
    await cluster.query("UPDATE audit_log SET details = 'not json' WHERE id = $1", [id], w.url);
  }
});

let n = 0;
storeTablesContract(
  'sqlite',
  async () => {
    const path = join(dir, `db-${++n}.sqlite`);
    const s = openSqlite(path);
    where.set(s, { kind: 'sqlite', path });
    return s;
  },
  async (s) => {
    const w = where.get(s);
    if (w?.kind !== 'sqlite') throw new Error('unknown storage');
    return openSqlite(w.path);
  }
);

storeTablesContract(
  'postgres',
  async () => {
    const url = await cluster.createDatabase();
    const s = await openPostgres(url, { pollIntervalMs: 200 });
    where.set(s, { kind: 'postgres', url });
    return s;
  },
  async (s) => {
    const w = where.get(s);
    if (w?.kind !== 'postgres') throw new Error('unknown storage');
    return openPostgres(w.url, { pollIntervalMs: 200 });
  }
);
