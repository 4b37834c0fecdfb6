/**
 * Migration 7: a lookup by checksum is one index seek however long a role's history is (SQLite's
 * plan for the query getByChecksum runs), and it still answers the newest version holding the
 * bytes. PostgreSQL gets the same index; its planner, which keeps statistics, is not asserted.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqlite } from '../../src/storage/sqlite.js';
import { T0 } from './contract.js';

const dir = mkdtempSync(join(tmpdir(), 'countersign-checksum-index-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('tuf_files lookups by checksum', () => {
  it('seek the (gun, role, sha256, version) index, with no scan of the history', async () => {
    const path = join(dir, 'plan.sqlite');
    const storage = openSqlite(path);
    const files = Array.from({ length: 300 }, (_, i) => Buffer.from(`targets version ${i + 1}`));
    try {
      for (const [i, data] of files.entries()) {
        await storage.meta.updateMany(
          'g',
          [{ role: 'targets', version: i + 1, data, sha256: sha256(data) }],
          T0
        );
      }
      const first = await storage.meta.getByChecksum('g', 'targets', sha256(files[0]!));
      assert.equal(first?.version, 1);
      assert.ok(first?.data.equals(files[0]!));
    } finally {
      await storage.close();
    }
    const db = new Database(path, { readonly: true });
    try {
      const plan = db
        .prepare(
          'EXPLAIN QUERY PLAN SELECT * FROM tuf_files WHERE gun = ? AND role = ? AND sha256 = ? ORDER BY version DESC LIMIT 1'
        )
        .all('g', 'targets', sha256(files[0]!)) as { detail: string }[];
      const details = plan.map((p) => p.detail).join('; ');
      assert.match(
        details,
        /USING INDEX tuf_files_checksum_version \(gun=\? AND role=\? AND sha256=\?\)/
      );
      assert.doesNotMatch(details, /TEMP B-TREE/, 'no sort: the index gives the version order');
    } finally {
      db.close();
    }
  });
});
