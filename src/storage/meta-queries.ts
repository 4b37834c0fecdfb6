/**
 * The metadata, key and settings stores (src/storage/types.ts), written once for both engines
 * over the port in sql.ts. Write functions expect to run inside a transaction holding their
 * plan's locks.
 */
import { fail } from '../errors.js';
import { changeOne, gunLock, insertUnique, whereClause } from './sql.js';
import type { Dialect, PendingChange, ReadRun, SqlConn, WriteRun } from './sql.js';
import type { Change, NewMeta, StorageTx, StoredKey, StoredMeta } from './types.js';

interface MetaRow {
  gun: string;
  role: string;
  version: number;
  sha256: string;
  data: Buffer;
  created_at: unknown;
}

interface KeyRow {
  key_id: string;
  gun: string;
  role: string;
  algorithm: StoredKey['algorithm'];
  key_type: string;
  public: string;
  sealed_private: Buffer;
  created_at: unknown;
  activated_at: unknown;
}

const META = 'SELECT gun, role, version, sha256, data, created_at FROM tuf_files';
const INSERT_META =
  'INSERT INTO tuf_files (gun, role, version, sha256, data, created_at) VALUES (?, ?, ?, ?, ?, ?)';
const KEY =
  'SELECT key_id, gun, role, algorithm, key_type, public, sealed_private, created_at, activated_at FROM server_keys';

export function bindMetaStores(
  read: ReadRun,
  write: WriteRun
): Pick<StorageTx, 'meta' | 'keys' | 'settings'> {
  return {
    meta: metaStore(read, write),
    keys: keyStore(read, write),
    settings: settingsStore(read, write),
  };
}

function metaStore(read: ReadRun, write: WriteRun): StorageTx['meta'] {
  return {
    updateMany: (gun, files, at) =>
      write({ locks: [gunLock(gun)], gun }, (c, feed) => updateMany(c, feed, gun, files, at)),
    getLatest: (gun, role) =>
      read((c) =>
        toMeta(c, `${META} WHERE gun = ? AND role = ? ORDER BY version DESC LIMIT 1`, [gun, role])
      ),
    // Several versions may hold identical bytes; the newest makes the answer deterministic.
    getByChecksum: (gun, role, sha256) =>
      read((c) =>
        toMeta(
          c,
          `${META} WHERE gun = ? AND role = ? AND sha256 = ? ORDER BY version DESC LIMIT 1`,
          [gun, role, sha256]
        )
      ),
    getByVersion: (gun, role, version) => read((c) => getByVersion(c, gun, role, version)),
    deleteGun: (gun, at) =>
      write({ locks: [gunLock(gun)], gun }, (c, feed) => deleteGun(c, feed, gun, at)),
    changes: (gun, changeId, records) => read((c) => changes(c, gun, changeId, records)),
    listGuns: (prefix) => read((c) => listGuns(c, prefix ?? '')),
    importVersion: (gun, file, createdAt) =>
      write({ locks: [gunLock(gun)], gun }, (c) => importVersion(c, gun, file, createdAt)),
    importChange: (change) =>
      write({ gun: change.gun }, (c, feed) => importChange(c, feed, change)),
  };
}

function keyStore(read: ReadRun, write: WriteRun): StorageTx['keys'] {
  return {
    insertPendingIfAbsent: (key) =>
      write({ locks: [['pending key', key.gun, key.role]], gun: key.gun }, (c) =>
        insertPendingIfAbsent(c, key)
      ),
    insert: (key) => write({ gun: key.gun }, (c) => insertKey(c, key)),
    get: (keyId) => read((c) => getKey(c, keyId)),
    listFor: (gun, role) =>
      read((c) =>
        toKeys(
          c,
          `${KEY} WHERE gun = ? AND role = ? ORDER BY created_at, ${c.dialect.insertionOrder}`,
          [gun, role]
        )
      ),
    getPending: (gun, role) => read((c) => getPending(c, gun, role)),
    markActive: (keyId, at) => write({}, (c) => markActive(c, keyId, at)),
    deleteFor: (gun) =>
      write(
        { gun },
        async (c) => void (await c.execute('DELETE FROM server_keys WHERE gun = ?', [gun]))
      ),
    listAll: () => read((c) => toKeys(c, `${KEY} ORDER BY ${c.dialect.insertionOrder}`, [])),
    replaceSealed: (keyId, sealed) =>
      write({}, (c) =>
        changeOne(
          c,
          'UPDATE server_keys SET sealed_private = ? WHERE key_id = ?',
          [sealed, keyId],
          `no key ${keyId}`
        )
      ),
  };
}

function settingsStore(read: ReadRun, write: WriteRun): StorageTx['settings'] {
  return {
    get: (name) => read((c) => getSetting(c, name)),
    putIfAbsent: (name, value) => write({}, (c) => putSettingIfAbsent(c, name, value)),
    put: (name, value) =>
      write({}, async (c) => {
        await c.execute(
          'INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
          [name, value]
        );
      }),
  };
}

async function updateMany(
  c: SqlConn,
  feed: PendingChange[],
  gun: string,
  files: readonly NewMeta[],
  at: Date
): Promise<void> {
  const roles = new Set<string>();
  for (const f of files) {
    if (roles.has(f.role))
      fail('STORAGE_OLD_VERSION', `two files for role ${f.role} in one update`);
    roles.add(f.role);
  }
  if (files.length === 0) return;
  // Checked inside the write transaction (under the GUN's lock on PostgreSQL), so no other
  // writer can slip a version in between.
  // The list is padded to a power of two (a repeated role changes nothing), so a handful of SQL
  // texts serve any upload: both engines cache what they make of a text, keyed by it.
  const list = [...roles];
  while ((list.length & (list.length - 1)) !== 0) list.push(list[0]!);
  const newest = await c.row<Record<string, number | null>>(
    newestVersionsSql(list.length),
    list.flatMap((role) => [gun, role])
  );
  const stored = new Map(list.map((role, i) => [role, newest?.[`v${i}`] ?? undefined]));
  for (const f of files) {
    const max = stored.get(f.role);
    if (max !== undefined && f.version <= max) {
      fail(
        'STORAGE_OLD_VERSION',
        `${gun} ${f.role} version ${f.version} is not above stored version ${max}`
      );
    }
  }
  try {
    for (const f of files) {
      await c.execute(INSERT_META, [gun, f.role, f.version, f.sha256, f.data, at.toISOString()]);
      if (f.role === 'timestamp')
        feed.push({ at, gun, version: f.version, sha256: f.sha256, category: 'update' });
    }
  } catch (err) {
    if (c.dialect.isUniqueViolation(err)) {
      fail('STORAGE_OLD_VERSION', `${gun}: a version already exists`, { cause: err });
    }
    throw err;
  }
}

/**
 * The newest stored version of each of `n` roles, in one row (`v0` … `v<n-1>`, null for a role
 * with none). One scalar MAX per role, because each is answered by a single seek at the end of
 * the `(gun, role, version)` index on both engines, whatever the history; the GROUP BY over
 * `role IN (…)` this replaced read every stored version of each role instead, so each publish
 * got slower as a repository aged (CPU 10 µs at 20 versions, 415 µs at 2,000; this one 4 µs at
 * either; docs/performance.md "Publishing").
 */
export function newestVersionsSql(n: number): string {
  let sql = newestVersionsTexts.get(n);
  if (sql === undefined) {
    const each = Array.from(
      { length: n },
      (_, i) => `(SELECT MAX(version) FROM tuf_files WHERE gun = ? AND role = ?) AS v${i}`
    );
    sql = `SELECT ${each.join(', ')}`;
    newestVersionsTexts.set(n, sql);
  }
  return sql;
}

/** The texts made so far, by role count: a power of two up to the roles of one upload. */
const newestVersionsTexts = new Map<number, string>();

async function importVersion(
  c: SqlConn,
  gun: string,
  f: NewMeta,
  createdAt: Date
): Promise<'stored' | 'present'> {
  const stored = await getByVersion(c, gun, f.role, f.version);
  if (stored) {
    if (stored.data.equals(f.data)) return 'present';
    fail(
      'STORAGE_CONFLICT',
      `${gun} ${f.role} version ${f.version} is already stored with other bytes`
    );
  }
  await c.execute(INSERT_META, [gun, f.role, f.version, f.sha256, f.data, createdAt.toISOString()]);
  return 'stored';
}

/**
 * Like every changefeed row, an imported one goes through the pending feed (so on PostgreSQL ids
 * follow commit order); a record already stored, or already pending in this transaction, is not.
 */
async function importChange(
  c: SqlConn,
  feed: PendingChange[],
  change: Omit<Change, 'id'>
): Promise<'stored' | 'present'> {
  const same = (p: PendingChange): boolean =>
    p.gun === change.gun &&
    p.version === change.version &&
    p.sha256 === change.sha256 &&
    p.category === change.category &&
    p.at.getTime() === change.createdAt.getTime();
  if (feed.some(same)) return 'present';
  const found = await c.row(
    'SELECT 1 FROM changefeed WHERE gun = ? AND version = ? AND sha256 = ? AND category = ? AND created_at = ?',
    [change.gun, change.version, change.sha256, change.category, change.createdAt.toISOString()]
  );
  if (found !== null) return 'present';
  const { createdAt: at, gun, version, sha256, category } = change;
  feed.push({ at, gun, version, sha256, category });
  return 'stored';
}

/** Appends changefeed rows now (SQLite, inside the write that produced them). */
export async function addChanges(c: SqlConn, feed: readonly PendingChange[]): Promise<void> {
  for (const p of feed) {
    await c.execute(
      'INSERT INTO changefeed (created_at, gun, version, sha256, category) VALUES (?, ?, ?, ?, ?)',
      [p.at.toISOString(), p.gun, p.version, p.sha256, p.category]
    );
  }
}

function getByVersion(
  c: SqlConn,
  gun: string,
  role: string,
  version: number
): Promise<StoredMeta | null> {
  return toMeta(c, `${META} WHERE gun = ? AND role = ? AND version = ?`, [gun, role, version]);
}

async function deleteGun(
  c: SqlConn,
  feed: PendingChange[],
  gun: string,
  at: Date
): Promise<boolean> {
  // `=` compares exactly (binary collation): a/b never matches a/bc or a/b/c.
  if ((await c.execute('DELETE FROM tuf_files WHERE gun = ?', [gun])) === 0) return false;
  feed.push({ at, gun, version: 0, sha256: '', category: 'deletion' });
  return true;
}

/** notary's SQLStorage.GetChanges, rule for rule (docs/protocol.md §1.4). */
async function changes(
  c: SqlConn,
  gun: string | null,
  changeId: number,
  records: number
): Promise<Change[]> {
  const reversed = changeId < 0 || records < 0;
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (gun !== null) {
    where.push('gun = ?');
    params.push(gun);
  }
  if (!reversed) {
    where.push('id > ?');
    params.push(changeId);
  } else if (changeId > 0) {
    where.push('id < ?');
    params.push(changeId);
  }
  params.push(Math.abs(records));
  const rows = await c.rows<Omit<Change, 'createdAt'> & { created_at: unknown }>(
    `SELECT id, created_at, gun, version, sha256, category FROM changefeed
     ${whereClause(where)} ORDER BY id ${reversed ? 'DESC' : 'ASC'} LIMIT ?`,
    params
  );
  if (reversed) rows.reverse();
  return rows.map(({ created_at, ...r }) => ({ ...r, createdAt: c.dialect.date(created_at) }));
}

async function listGuns(c: SqlConn, prefix: string): Promise<string[]> {
  const match = c.dialect.prefixMatch('gun', prefix);
  const rows = await c.rows<{ gun: string }>(
    `SELECT DISTINCT gun FROM tuf_files WHERE role = 'timestamp' AND ${match.sql} ORDER BY gun`,
    match.params
  );
  return rows.map((r) => r.gun);
}

async function insertPendingIfAbsent(c: SqlConn, key: StoredKey): Promise<StoredKey> {
  // Under the (gun, role) lock: a concurrent caller on any instance waits here, then finds ours.
  const pending = await getPending(c, key.gun, key.role);
  if (pending) return pending;
  // It is inserted as pending whatever activatedAt says: that is what the caller asked for.
  const stored: StoredKey = { ...key, activatedAt: null };
  await insertKey(c, stored);
  return stored;
}

function insertKey(c: SqlConn, key: StoredKey): Promise<void> {
  return insertUnique(
    c,
    `INSERT INTO server_keys (key_id, gun, role, algorithm, key_type, public, sealed_private, created_at, activated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      key.keyId,
      key.gun,
      key.role,
      key.algorithm,
      key.keyType,
      key.publicB64,
      key.sealedPrivate,
      key.createdAt.toISOString(),
      key.activatedAt?.toISOString() ?? null,
    ],
    'STORAGE_CONFLICT',
    `key ${key.keyId} already exists`
  );
}

function getKey(c: SqlConn, keyId: string): Promise<StoredKey | null> {
  return c.row(`${KEY} WHERE key_id = ?`, [keyId], keyOfRow);
}

function getPending(c: SqlConn, gun: string, role: string): Promise<StoredKey | null> {
  const order = c.dialect.insertionOrder;
  const sql = `${KEY} WHERE gun = ? AND role = ? AND activated_at IS NULL ORDER BY created_at DESC, ${order} DESC LIMIT 1`;
  return c.row(sql, [gun, role], keyOfRow);
}

async function markActive(c: SqlConn, keyId: string, at: Date): Promise<void> {
  const n = await c.execute(
    'UPDATE server_keys SET activated_at = ? WHERE key_id = ? AND activated_at IS NULL',
    [at.toISOString(), keyId]
  );
  if (n === 0 && !(await getKey(c, keyId))) fail('STORAGE_NOT_FOUND', `no key ${keyId}`);
}

async function getSetting(c: SqlConn, name: string): Promise<string | null> {
  return (
    (await c.row<{ value: string }>('SELECT value FROM settings WHERE name = ?', [name]))?.value ??
    null
  );
}

async function putSettingIfAbsent(c: SqlConn, name: string, value: string): Promise<string> {
  // On PostgreSQL a concurrent inserter's uncommitted row makes ON CONFLICT wait for its
  // outcome; the SELECT that follows (a new snapshot under READ COMMITTED) sees the winner's value.
  const inserted = await c.row<{ value: string }>(
    'INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING RETURNING value',
    [name, value]
  );
  return inserted?.value ?? (await getSetting(c, name))!;
}

/** At most one metadata row (every caller's SQL ends in LIMIT 1 or names a unique version). */
function toMeta(c: SqlConn, sql: string, params: readonly unknown[]): Promise<StoredMeta | null> {
  return c.row(sql, params, metaOfRow);
}

function metaOfRow(r: MetaRow, d: Dialect): StoredMeta {
  const { gun, role, version, sha256, data } = r;
  return { gun, role, version, sha256, data, createdAt: d.date(r.created_at) };
}

function toKeys(c: SqlConn, sql: string, params: readonly unknown[]): Promise<StoredKey[]> {
  return c.rows(sql, params, keyOfRow);
}

function keyOfRow(r: KeyRow, d: Dialect): StoredKey {
  return {
    keyId: r.key_id,
    gun: r.gun,
    role: r.role,
    algorithm: r.algorithm,
    keyType: r.key_type,
    publicB64: r.public,
    sealedPrivate: r.sealed_private,
    createdAt: d.date(r.created_at),
    activatedAt: r.activated_at === null ? null : d.date(r.activated_at),
  };
}
