/**
 * The metadata, key and settings stores (src/storage/types.ts), written once for both engines
 * over the port in sql.ts. Write functions expect to run inside a transaction holding their
 * plan's locks.
 */
import { fail } from '../errors.js';
import { changeOne, gunLock, insertOne, statement, Where } from './sql.js';
import type { PendingChange, ReadRun, SqlConn, WritePlan, WriteRun } from './sql.js';
import { optionalTime, plain, table, time } from './table.js';
import type { Change, NewMeta, StorageTx, StoredKey, StoredMeta } from './types.js';

const META = table<StoredMeta>('tuf_files', {
  ...plain('gun role version sha256 data'),
  createdAt: time,
});
const KEY = table<StoredKey>('server_keys', {
  ...plain('keyId gun role algorithm keyType'),
  publicB64: 'public',
  ...plain('sealedPrivate'),
  createdAt: time,
  activatedAt: optionalTime,
});
const THIS_ROLE = 'WHERE gun = ? AND role = ?';
const PUT_SETTING = 'INSERT INTO settings (name, value) VALUES (?, ?)';
/** Changefeed rows as written; their ids come from the database. */
const CHANGE = table<PendingChange>('changefeed', {
  ...plain('gun version sha256 category'),
  createdAt: time,
});

export function bindMetaStores(
  read: ReadRun,
  write: WriteRun
): Pick<StorageTx, 'meta' | 'keys' | 'settings'> {
  const gunWrite = (gun: string): WritePlan => ({ locks: [gunLock(gun)], gun });
  const ordered = (c: SqlConn): string => `ORDER BY created_at, ${c.dialect.insertionOrder}`;
  return {
    meta: {
      updateMany: (gun, files, at) =>
        write(gunWrite(gun), (c, feed) => updateMany(c, feed, gun, files, at)),
      getLatest: (gun, role) =>
        read((c) =>
          META.one(c, 'WHERE gun = ? AND role = ? ORDER BY version DESC LIMIT 1', [gun, role])
        ),
      getByChecksum: (gun, role, sha256) => {
        // Several versions may hold identical bytes; the newest makes the answer deterministic.
        const newest = 'WHERE gun = ? AND role = ? AND sha256 = ? ORDER BY version DESC LIMIT 1';
        return read((c) => META.one(c, newest, [gun, role, sha256]));
      },
      getByVersion: (gun, role, version) => read((c) => getByVersion(c, gun, role, version)),
      deleteGun: (gun, at) => write(gunWrite(gun), (c, feed) => deleteGun(c, feed, gun, at)),
      changes: (gun, changeId, records) => read((c) => changes(c, gun, changeId, records)),
      listGuns: (prefix) => read((c) => listGuns(c, prefix ?? '')),
      importVersion: (gun, file, createdAt) =>
        write(gunWrite(gun), (c) => importVersion(c, gun, file, createdAt)),
      importChange: (change) =>
        write({ gun: change.gun }, (c, feed) => importChange(c, feed, change)),
    },
    keys: {
      insertPendingIfAbsent: (key) =>
        write({ locks: [['pending key', key.gun, key.role]], gun: key.gun }, (c) =>
          insertPendingIfAbsent(c, key)
        ),
      insert: (key) => write({ gun: key.gun }, (c) => insertKey(c, key)),
      get: (keyId) => read((c) => getKey(c, keyId)),
      listFor: (gun, role) => read((c) => KEY.all(c, `${THIS_ROLE} ${ordered(c)}`, [gun, role])),
      getPending: (gun, role) => read((c) => getPending(c, gun, role)),
      markActive: (keyId, at) => write({}, (c) => markActive(c, keyId, at)),
      deleteFor: (gun) => write({ gun }, statement('DELETE FROM server_keys WHERE gun = ?', [gun])),
      listAll: () => read((c) => KEY.all(c, `ORDER BY ${c.dialect.insertionOrder}`)),
      replaceSealed: (keyId, sealed) => {
        const sql = 'UPDATE server_keys SET sealed_private = ? WHERE key_id = ?';
        return write({}, changeOne(sql, [sealed, keyId], `no key ${keyId}`));
      },
    },
    settings: {
      get: (name) => read((c) => getSetting(c, name)),
      putIfAbsent: (name, value) => write({}, (c) => putSettingIfAbsent(c, name, value)),
      put: (name, value) => {
        const upsert = `${PUT_SETTING} ON CONFLICT (name) DO UPDATE SET value = excluded.value`;
        return write({}, statement(upsert, [name, value]));
      },
    },
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
      await c.execute(META.insert, META.values({ ...f, gun, createdAt: at }));
      if (f.role === 'timestamp')
        feed.push({ createdAt: at, gun, version: f.version, sha256: f.sha256, category: 'update' });
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
  await c.execute(META.insert, META.values({ ...f, gun, createdAt }));
  return 'stored';
}

/**
 * Like every changefeed row, an imported one goes through the pending feed (so on PostgreSQL ids
 * follow commit order); a record already stored, or already pending in this transaction, is not.
 */
async function importChange(
  c: SqlConn,
  feed: PendingChange[],
  change: PendingChange
): Promise<'stored' | 'present'> {
  const same = (p: PendingChange): boolean =>
    p.gun === change.gun &&
    p.version === change.version &&
    p.sha256 === change.sha256 &&
    p.category === change.category &&
    p.createdAt.getTime() === change.createdAt.getTime();
  if (feed.some(same)) return 'present';
  const found = await c.row(
    'SELECT 1 FROM changefeed WHERE gun = ? AND version = ? AND sha256 = ? AND category = ? AND created_at = ?',
    [change.gun, change.version, change.sha256, change.category, change.createdAt.toISOString()]
  );
  if (found !== null) return 'present';
  feed.push(change);
  return 'stored';
}

/** Appends changefeed rows now (SQLite, inside the write that produced them). */
export async function addChanges(c: SqlConn, feed: readonly PendingChange[]): Promise<void> {
  for (const p of feed) await c.execute(CHANGE.insert, CHANGE.values(p));
}

function getByVersion(
  c: SqlConn,
  gun: string,
  role: string,
  version: number
): Promise<StoredMeta | null> {
  return META.one(c, `${THIS_ROLE} AND version = ?`, [gun, role, version]);
}

async function deleteGun(
  c: SqlConn,
  feed: PendingChange[],
  gun: string,
  at: Date
): Promise<boolean> {
  // `=` compares exactly (binary collation): a/b never matches a/bc or a/b/c.
  if ((await c.execute('DELETE FROM tuf_files WHERE gun = ?', [gun])) === 0) return false;
  feed.push({ createdAt: at, gun, version: 0, sha256: '', category: 'deletion' });
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
  const where = new Where().given('gun = ?', gun ?? undefined);
  if (!reversed) where.and('id > ?', changeId);
  else if (changeId > 0) where.and('id < ?', changeId);
  const order = `ORDER BY id ${reversed ? 'DESC' : 'ASC'}${where.limit(Math.abs(records))}`;
  const rows = await c.rows(
    `SELECT id, ${CHANGE.columns} FROM changefeed ${where.sql} ${order}`,
    where.params,
    (r: Record<string, unknown>, d) => CHANGE.map(r, d) as Change
  );
  return reversed ? rows.reverse() : rows;
}

function listGuns(c: SqlConn, prefix: string): Promise<string[]> {
  const match = c.dialect.prefixMatch('gun', prefix);
  return c.rows(
    `SELECT DISTINCT gun FROM tuf_files WHERE role = 'timestamp' AND ${match.sql} ORDER BY gun`,
    match.params,
    (r: { gun: string }) => r.gun
  );
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
  return insertOne(KEY.insert, KEY.values(key), `key ${key.keyId} already exists`)(c);
}

function getKey(c: SqlConn, keyId: string): Promise<StoredKey | null> {
  return KEY.one(c, 'WHERE key_id = ?', [keyId]);
}

function getPending(c: SqlConn, gun: string, role: string): Promise<StoredKey | null> {
  const order = c.dialect.insertionOrder;
  const newest = `ORDER BY created_at DESC, ${order} DESC LIMIT 1`;
  return KEY.one(c, `${THIS_ROLE} AND activated_at IS NULL ${newest}`, [gun, role]);
}

async function markActive(c: SqlConn, keyId: string, at: Date): Promise<void> {
  const n = await c.execute(
    'UPDATE server_keys SET activated_at = ? WHERE key_id = ? AND activated_at IS NULL',
    [at.toISOString(), keyId]
  );
  if (n === 0 && !(await getKey(c, keyId))) fail('STORAGE_NOT_FOUND', `no key ${keyId}`);
}

const settingValue = (r: { value: string }): string => r.value;

function getSetting(c: SqlConn, name: string): Promise<string | null> {
  return c.row('SELECT value FROM settings WHERE name = ?', [name], settingValue);
}

async function putSettingIfAbsent(c: SqlConn, name: string, value: string): Promise<string> {
  // On PostgreSQL a concurrent inserter's uncommitted row makes ON CONFLICT wait for its
  // outcome; the SELECT that follows (a new snapshot under READ COMMITTED) sees the winner's value.
  const inserted = await c.row(
    `${PUT_SETTING} ON CONFLICT (name) DO NOTHING RETURNING value`,
    [name, value],
    settingValue
  );
  return inserted ?? (await getSetting(c, name))!;
}
