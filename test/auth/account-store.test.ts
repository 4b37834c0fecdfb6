import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from '../../src/storage/sqlite.js';
import { accountStoreContract } from './account-store-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'countersign-accounts-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

accountStoreContract(
  'sqlite',
  async () => openSqlite(join(dir, `db-${++n}.sqlite`)),
  async () => openSqlite(join(dir, `db-${n}.sqlite`))
);
