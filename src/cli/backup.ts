/**
 * `countersign backup` and `countersign restore` (docs/operations.md) for the SQLite backend.
 *
 *   countersign backup (--config FILE | --data-dir DIR) OUT
 *   countersign restore BACKUP (--config FILE | --data-dir DIR)
 *
 * A backup is a directory: `countersign.db`, a consistent copy made with SQLite's online backup
 * API while the server runs; the key file that unseals the server's private keys when the keys
 * are sealed under one (the data dir's generated `keyring.key` or `countersign.keys.keyFile`);
 * the generated TLS files (`tls/`) when the data dir has them; and `MANIFEST.json` with the
 * sha256 of each file and what must be kept separately. A passphrase
 * (COUNTERSIGN_KEY_PASSPHRASE) is never written anywhere: the backup says it is needed.
 *
 * Restore refuses to overwrite a database (stop the server and move it away first), checks every
 * file against the manifest and the database with `PRAGMA integrity_check`, puts the files where
 * the configuration says, and finally opens the key ring, so a wrong or missing passphrase or key
 * file is reported now rather than at the next start. PostgreSQL is backed up with pg_dump.
 */
import {
  chmodSync,
  copyFileSync,
  renameSync,
  rmSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { sha256Hex } from '../crypto/hash.js';
import { fail } from '../errors.js';
import { Keyring, DEFAULT_KEY_FILE } from '../signer/keyring.js';
import { openStorage } from '../storage/index.js';
import { backupSqlite, sqliteIntegrity } from '../storage/sqlite-file.js';
import { systemClock } from '../util/clock.js';
import { parseArgs, str, wantsHelp } from './args.js';

export const BACKUP_USAGE = `Usage:
  countersign backup (--config FILE | --data-dir DIR) OUT
  countersign restore BACKUP (--config FILE | --data-dir DIR)
`;

const FLAGS = { config: 'string', 'data-dir': 'string' } as const;
const DB_FILE = 'countersign.db';
const KEY_FILE = 'keyring.key';
const TLS_DIR = 'tls';
const MANIFEST = 'MANIFEST.json';

interface Manifest {
  readonly format: 'countersign-backup-1';
  readonly createdAt: string;
  readonly schemaVersion: number;
  /** File name in the backup → sha256 (hex). */
  readonly files: Record<string, string>;
  /** How the server's private keys are sealed, and what the restore needs besides this backup. */
  readonly keys: 'key file (included)' | 'passphrase (COUNTERSIGN_KEY_PASSPHRASE, not included)';
}

export interface BackupIo {
  readonly stdout: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
}

const processIo: BackupIo = { stdout: process.stdout, env: process.env };

function printUsage(io: BackupIo): number {
  io.stdout.write(BACKUP_USAGE);
  return 0;
}

export async function backup(argv: readonly string[], io: BackupIo = processIo): Promise<number> {
  if (wantsHelp(argv)) return printUsage(io);
  const p = parseArgs(argv, FLAGS);
  if (p.positionals.length !== 1)
    fail('USAGE', `backup takes one OUT directory\n\n${BACKUP_USAGE}`);
  const out = p.positionals[0] as string;
  const config = sqliteConfig(p, io.env, 'backup');
  if (existsSync(out)) fail('USAGE', `${out} already exists; a backup goes into a new directory`);
  mkdirSync(out, { recursive: true, mode: 0o700 });
  const files: Record<string, string> = {};
  const schemaVersion = await backupSqlite(config.storage.path, join(out, DB_FILE));
  files[DB_FILE] = fileSha256(join(out, DB_FILE));
  const keyFile = keyFileOf(config);
  if (keyFile !== undefined) {
    copyFileSync(keyFile, join(out, KEY_FILE));
    chmodSync(join(out, KEY_FILE), 0o600);
    files[KEY_FILE] = fileSha256(join(out, KEY_FILE));
  }
  const tls = join(config.dataDir, TLS_DIR);
  if (existsSync(tls)) cpSync(tls, join(out, TLS_DIR), { recursive: true });
  const manifest: Manifest = {
    format: 'countersign-backup-1',
    createdAt: systemClock.now().toISOString(),
    schemaVersion,
    files,
    keys:
      keyFile !== undefined
        ? 'key file (included)'
        : 'passphrase (COUNTERSIGN_KEY_PASSPHRASE, not included)',
  };
  writeFileSync(join(out, MANIFEST), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 });
  io.stdout.write(
    `backup of ${config.storage.path} written to ${out} (schema ${schemaVersion})\n` +
      (keyFile !== undefined
        ? `it includes the key file that unseals the server keys: keep the backup as secret as the server\n`
        : `the server keys are sealed under COUNTERSIGN_KEY_PASSPHRASE, which is NOT in the backup: keep it separately\n`)
  );
  return 0;
}

export async function restore(argv: readonly string[], io: BackupIo = processIo): Promise<number> {
  if (wantsHelp(argv)) return printUsage(io);
  const p = parseArgs(argv, FLAGS);
  if (p.positionals.length !== 1)
    fail('USAGE', `restore takes one BACKUP directory\n\n${BACKUP_USAGE}`);
  const from = p.positionals[0] as string;
  const config = sqliteConfig(p, io.env, 'restore');
  const manifest = readManifest(from);
  const db = config.storage.path;
  if (existsSync(db))
    fail('USAGE', `${db} exists: stop the server and move the database away before a restore`);
  const integrity = sqliteIntegrity(join(from, DB_FILE));
  if (integrity.result !== 'ok')
    fail('CONFIG_INVALID', `the backup's database fails its integrity check: ${integrity.result}`);
  // Everything is checked on a staging copy next to the database; only then is it renamed into
  // place, so a failed restore (say, the wrong passphrase) leaves the data dir as it was.
  const staging = `${db}.restoring`;
  mkdirSync(dirname(db), { recursive: true, mode: 0o700 });
  copyFileSync(join(from, DB_FILE), staging);
  chmodSync(staging, 0o600);
  const copiedKey = restoreKeyFile(config, manifest, from);
  try {
    await checkKeysUnseal({ ...config, storage: { backend: 'sqlite', path: staging } });
  } catch (err) {
    for (const f of [staging, `${staging}-wal`, `${staging}-shm`, copiedKey])
      if (f !== undefined) rmSync(f, { force: true });
    throw err;
  }
  renameSync(staging, db);
  const tls = join(config.dataDir, TLS_DIR);
  if (existsSync(join(from, TLS_DIR)) && !existsSync(tls))
    cpSync(join(from, TLS_DIR), tls, { recursive: true });
  io.stdout.write(`restored ${from} into ${db}; the server keys unseal\n`);
  return 0;
}

/** Puts the backup's key file where the configuration expects one; returns its path if it copied it. */
function restoreKeyFile(config: Config, manifest: Manifest, from: string): string | undefined {
  const keyFile = keyFileOf(config, true);
  if (manifest.files[KEY_FILE] === undefined || keyFile === undefined) return undefined;
  if (existsSync(keyFile)) {
    if (fileSha256(keyFile) !== manifest.files[KEY_FILE])
      fail('USAGE', `${keyFile} exists and differs from the backup's key file`);
    return undefined;
  }
  mkdirSync(dirname(keyFile), { recursive: true, mode: 0o700 });
  copyFileSync(join(from, KEY_FILE), keyFile);
  chmodSync(keyFile, 0o600); // the key ring refuses a key file others can read
  return keyFile;
}

function sqliteConfig(
  p: ReturnType<typeof parseArgs>,
  env: NodeJS.ProcessEnv,
  command: string
): Config & { storage: { backend: 'sqlite'; path: string } } {
  const config = loadConfig({ config: str(p, 'config'), dataDir: str(p, 'data-dir') }, env);
  if (config.storage.backend !== 'sqlite')
    fail(
      'USAGE',
      `${command} handles SQLite; back up PostgreSQL with pg_dump (docs/operations.md)`
    );
  return config as Config & { storage: { backend: 'sqlite'; path: string } };
}

/** The key file the key ring uses, or undefined when a passphrase seals the keys. */
function keyFileOf(config: Config, forRestore = false): string | undefined {
  if (config.keys.passphrase !== undefined && config.keys.passphrase !== '') return undefined;
  const path = config.keys.keyFile ?? join(config.dataDir, DEFAULT_KEY_FILE);
  return forRestore || existsSync(path) ? path : undefined;
}

function readManifest(dir: string): Manifest {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as Manifest;
  } catch (err) {
    return fail('USAGE', `${dir} is not a countersign backup (no readable ${MANIFEST})`, {
      cause: err,
    });
  }
  if (manifest.format !== 'countersign-backup-1' || typeof manifest.files !== 'object')
    fail('USAGE', `${dir}/${MANIFEST} is not a countersign backup manifest`);
  for (const [name, sha] of Object.entries(manifest.files)) {
    if (name.includes('/') || !existsSync(join(dir, name)))
      fail('USAGE', `the backup lacks ${name}`);
    if (fileSha256(join(dir, name)) !== sha)
      fail('CONFIG_INVALID', `${name} in the backup does not match its manifest checksum`);
  }
  if (manifest.files[DB_FILE] === undefined) fail('USAGE', `the backup has no ${DB_FILE}`);
  return manifest;
}

/** Opens the restored database and the key ring as `serve` would: a wrong secret fails here. */
async function checkKeysUnseal(config: Config): Promise<void> {
  const storage = await openStorage(config.storage);
  try {
    await Keyring.open({
      storage,
      passphrase: config.keys.passphrase,
      keyFile: config.keys.keyFile,
      dataDir: config.dataDir,
      clock: systemClock,
    });
  } finally {
    await storage.close();
  }
}

function fileSha256(path: string): string {
  return sha256Hex(readFileSync(path));
}
