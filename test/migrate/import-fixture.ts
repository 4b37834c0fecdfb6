/** Shared by the import-notary tests: running the command, reading Countersign's state back, tampering. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { openStorage } from '../../src/storage/index.js';
import type { Cleanup } from '../helpers/cleanup.js';
import { countersignCli } from '../helpers/countersign.js';
import { repoRoot } from '../helpers/paths.js';
import type { RunResult } from '../helpers/proc.js';
import type { StartedPostgres } from '../helpers/postgres.js';
import type { NotaryDatabase, NotaryDeployment } from '../helpers/notary-deployment.js';
import { populatedDeployment, type PopulatedScenario } from './notary-scenario.js';

/** Countersign's key-ring passphrase in these tests (so no key file warning). */
export const KEY_PASSPHRASE = 'countersign key ring passphrase';

export interface NotaryRow {
  gun: string;
  role: string;
  version: number;
  data: Buffer;
  created_ms: number;
}

/** How one SQL engine holds notary's databases: a fresh one, and notary's rows read in its dialect. */
export interface NotaryEngine {
  database(): Promise<NotaryDatabase>;
  /** Every tuf_files row of the server database, ordered by gun, role, version. */
  tufRows(serverDbUrl: string): Promise<NotaryRow[]>;
  /** The key_id of every private_keys row of the signer database. */
  keyIds(signerDbUrl: string): Promise<string[]>;
}

/** The notary side of an import test: the populated deployment and what it holds, read before the import. */
export interface NotarySide {
  readonly notary: NotaryDeployment;
  readonly scenario: PopulatedScenario;
  readonly rows: NotaryRow[];
  readonly keyIds: string[];
}

/** notary-server + notary-signer on two of ENGINE's databases, populated; its rows and key ids. */
export async function populatedNotarySide(
  cleanup: Cleanup,
  engine: NotaryEngine
): Promise<NotarySide> {
  const { notary, scenario } = await populatedDeployment(cleanup, {
    serverDb: await engine.database(),
    signerDb: await engine.database(),
  });
  return {
    notary,
    scenario,
    rows: await engine.tufRows(notary.serverDb.url),
    keyIds: await engine.keyIds(notary.signerDb.url),
  };
}

/** import-notary's flags naming NOTARY's two databases, then TARGET (where Countersign stores). */
export function importSources(notary: NotaryDeployment, ...target: string[]): string[] {
  return ['--from-db', notary.serverDb.url, '--signer-db', notary.signerDb.url, ...target];
}

export function importNotary(args: readonly string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return countersignCli(['import-notary', ...args], {
    COUNTERSIGN_KEY_PASSPHRASE: KEY_PASSPHRASE,
    ...env,
  });
}

/** No warning on a successful run. */
export function assertCleanRun(r: RunResult): void {
  assert.equal(r.stderr, '', r.stderr);
}

/**
 * What the tests compare before and after (storage by data dir, or by config file): GUNs, the whole changefeed, the notary rows found, the keys held.
 */
export async function countersignState(
  where: string | { config: string },
  rows: readonly NotaryRow[],
  keyIds: readonly string[]
): Promise<{
  guns: string[];
  changes: { gun: string; version: number; sha256: string; category: string; created_ms: number }[];
  rows: { data: Buffer; createdAt: number }[];
  keys: string[];
}> {
  const flags = typeof where === 'string' ? { dataDir: where } : where;
  const storage = await openStorage(loadConfig(flags).storage);
  try {
    const found = [];
    for (const r of rows) {
      const got = await storage.meta.getByVersion(r.gun, r.role, r.version);
      if (got) found.push({ data: got.data, createdAt: got.createdAt.getTime() });
    }
    const keys = [];
    for (const id of keyIds) if (await storage.keys.get(id)) keys.push(id);
    return {
      guns: await storage.meta.listGuns(),
      changes: (await storage.meta.changes(null, 0, 1_000_000)).map((c) => ({
        gun: c.gun,
        version: c.version,
        sha256: c.sha256,
        category: c.category,
        created_ms: c.createdAt.getTime(),
      })),
      rows: found,
      keys,
    };
  } finally {
    await storage.close();
  }
}

/** Moves the last digit of a metadata file's `expires`: same shape, broken signature. */
export function changeExpiry(data: Buffer): Buffer {
  const text = data.toString('latin1');
  const changed = text.replace(
    /("expires":"[^"]*?)(\d)(Z?")/,
    (_m, head: string, d: string, tail: string) => `${head}${(Number(d) + 1) % 10}${tail}`
  );
  assert.notEqual(changed, text);
  return Buffer.from(changed, 'latin1');
}

/**
 * A copy of a notary-server PostgreSQL database with each file's bytes passed through `transform`
 * (its sha256 column recomputed, as notary-server itself would have written it).
 */
export async function copyNotaryDatabase(
  pg: StartedPostgres,
  from: string,
  transform: (row: NotaryRow) => Buffer
): Promise<string> {
  const url = await pg.createDatabase();
  await pg.query(
    readFileSync(join(repoRoot, 'scripts/bench/notary-server-postgres.sql'), 'utf8'),
    [],
    url
  );
  const rows = await pg.query<NotaryRow & { created_at: Date }>(
    'SELECT gun, role, version, data, created_at FROM tuf_files ORDER BY id',
    [],
    from
  );
  for (const r of rows) {
    const data = transform(r);
    await pg.query(
      'INSERT INTO tuf_files (gun, role, version, data, sha256, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)',
      [
        r.gun,
        r.role,
        r.version,
        data,
        createHash('sha256').update(data).digest('hex'),
        r.created_at,
      ],
      url
    );
  }
  const changes = await pg.query<Record<string, unknown>>(
    'SELECT created_at, gun, version, sha256, category FROM changefeed ORDER BY id',
    [],
    from
  );
  for (const c of changes) {
    await pg.query(
      'INSERT INTO changefeed (created_at, gun, version, sha256, category) VALUES ($1, $2, $3, $4, $5)',
      [c.created_at, c.gun, c.version, c.sha256, c.category],
      url
    );
  }
  return url;
}
