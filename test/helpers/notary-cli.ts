/**
 * The real `notary` CLI (0.7) bound to one server under test, with its own trust directory,
 * config file and passphrases, so tests can play several independent clients.
 */
import { copyFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from './cleanup.js';
import { CommandError, run, type RunResult } from './proc.js';
import type { ServerUnderTest } from './server-under-test.js';
import { parseTable } from './table.js';

export interface TrustPinning {
  /** GUN (or GUN prefix ending in `/`) → PEM CA file the root certificate must chain to. */
  ca?: Record<string, string>;
  /** GUN → allowed root certificate key ids. */
  certs?: Record<string, string[]>;
  disableTofu?: boolean;
}

export interface NotaryClientOptions {
  server: ServerUnderTest;
  /** Use this trust directory instead of a fresh one (it is then not removed on dispose). */
  trustDir?: string;
  /** One passphrase for root, targets, snapshot and delegation keys. */
  passphrase?: string;
  /** Sent as NOTARY_AUTH (base64 of `user:password`). */
  auth?: { username: string; password: string };
  trustPinning?: TrustPinning;
  /** Pass -D to every command (chatty, but shows the HTTP exchange on failure). */
  debug?: boolean;
  /** Per command, default 60 s. */
  timeoutMs?: number;
  /** Extra environment variables for every command. */
  env?: Record<string, string>;
}

export interface NotaryTarget {
  name: string;
  digestHex: string;
  size: number;
  role: string;
}

export interface NotaryDelegation {
  role: string;
  paths: string[];
  keyIds: string[];
  threshold: number;
}

export interface NotaryKey {
  role: string;
  /** As printed: empty for root/delegation keys; GUNs over 25 characters are cut to `...<tail>`. */
  gun: string;
  /** The canonical (bare public key) id. */
  keyId: string;
  location: string;
}

/** Whether a `key list` row belongs to `gun`, allowing for notary's `...<tail>` truncation. */
export function isKeyForGun(key: NotaryKey, gun: string): boolean {
  return key.gun === gun || (key.gun.startsWith('...') && gun.endsWith(key.gun.slice(3)));
}

/** `check: false` returns a failed run instead of throwing a CommandError. */
export interface CheckOption {
  check?: boolean;
}

export interface PublishOption extends CheckOption {
  /** Add -p: publish right away instead of staging. */
  publish?: boolean;
}

export const DEFAULT_PASSPHRASE = 'countersign-test-passphrase';

export class NotaryClient implements AsyncDisposable {
  private constructor(
    readonly options: NotaryClientOptions,
    /** Holds config.json, the CA copy and HOME; removed on dispose. */
    readonly dir: string,
    readonly trustDir: string,
    readonly configFile: string
  ) {}

  static async create(options: NotaryClientOptions): Promise<NotaryClient> {
    const dir = makeTempDir('notary-client-');
    const trustDir = options.trustDir ?? join(dir, 'trust');
    mkdirSync(trustDir, { recursive: true });
    const remote: Record<string, unknown> = { url: options.server.url };
    if (options.server.caFile) {
      // A private copy: the server's files may be gone before this client is disposed.
      const ca = join(dir, 'server-ca.crt');
      copyFileSync(options.server.caFile, ca);
      remote.root_ca = ca;
    }
    const config: Record<string, unknown> = { trust_dir: trustDir, remote_server: remote };
    const p = options.trustPinning;
    if (p) {
      config.trust_pinning = {
        ...(p.ca ? { ca: p.ca } : {}),
        ...(p.certs ? { certs: p.certs } : {}),
        ...(p.disableTofu !== undefined ? { disable_tofu: p.disableTofu } : {}),
      };
    }
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    return new NotaryClient(options, dir, trustDir, configFile);
  }

  /** Another client of the same server with an empty trust directory (no keys, no cache). */
  fresh(overrides: Partial<Omit<NotaryClientOptions, 'trustDir'>> = {}): Promise<NotaryClient> {
    return NotaryClient.create({ ...this.options, ...overrides, trustDir: undefined });
  }

  /** A client using this very trust directory (same keys, same cache), e.g. with other config. */
  sharingTrustDir(
    overrides: Partial<Omit<NotaryClientOptions, 'trustDir'>> = {}
  ): Promise<NotaryClient> {
    return NotaryClient.create({ ...this.options, ...overrides, trustDir: this.trustDir });
  }

  /**
   * A client with a copy of this trust directory as it is now: same keys, and a cache that stays
   * behind when this client moves on (e.g. holds root v1 while the server gets v3).
   */
  async cloneTrustDir(
    overrides: Partial<Omit<NotaryClientOptions, 'trustDir'>> = {}
  ): Promise<NotaryClient> {
    const client = await NotaryClient.create({
      ...this.options,
      ...overrides,
      trustDir: undefined,
    });
    cpSync(this.trustDir, client.trustDir, { recursive: true });
    return client;
  }

  env(): NodeJS.ProcessEnv {
    const pass = this.options.passphrase ?? DEFAULT_PASSPHRASE;
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: this.dir,
      TMPDIR: tmpdir(),
      NOTARY_ROOT_PASSPHRASE: pass,
      NOTARY_TARGETS_PASSPHRASE: pass,
      NOTARY_SNAPSHOT_PASSPHRASE: pass,
      NOTARY_DELEGATION_PASSPHRASE: pass,
      ...this.options.env,
    };
    const a = this.options.auth;
    if (a) env.NOTARY_AUTH = Buffer.from(`${a.username}:${a.password}`).toString('base64');
    return env;
  }

  /** `notary -c <config> …args`; never throws on a non-zero exit. */
  run(args: readonly string[], opts: { input?: string | Buffer } = {}): Promise<RunResult> {
    const argv = ['-c', this.configFile, ...(this.options.debug ? ['-D'] : []), ...args];
    return run('notary', argv, {
      env: this.env(),
      cwd: this.dir,
      input: opts.input,
      timeoutMs: this.options.timeoutMs ?? 60_000,
    });
  }

  private async exec(
    args: string[],
    check: boolean | undefined,
    input?: string | Buffer
  ): Promise<RunResult> {
    const r = await this.run(args, { input });
    if (r.code !== 0 && check !== false) throw new CommandError(`notary ${args.join(' ')}`, r);
    return r;
  }

  init(
    gun: string,
    opts: PublishOption & { rootKey?: string; rootCert?: string } = {}
  ): Promise<RunResult> {
    const args = ['init', gun];
    if (opts.rootKey) args.push('--rootkey', opts.rootKey);
    if (opts.rootCert) args.push('--rootcert', opts.rootCert);
    if (opts.publish) args.push('-p');
    return this.exec(args, opts.check);
  }

  publish(gun: string, opts: CheckOption = {}): Promise<RunResult> {
    return this.exec(['publish', gun], opts.check);
  }

  add(
    gun: string,
    target: string,
    file: string,
    opts: PublishOption & { roles?: string[]; custom?: string } = {}
  ): Promise<RunResult> {
    return this.exec(['add', gun, target, file, ...stagingFlags(opts)], opts.check);
  }

  addHash(
    gun: string,
    target: string,
    size: number,
    sha256Hex: string,
    opts: PublishOption & { sha512Hex?: string; roles?: string[]; custom?: string } = {}
  ): Promise<RunResult> {
    const args = ['addhash', gun, target, String(size), '--sha256', sha256Hex];
    if (opts.sha512Hex) args.push('--sha512', opts.sha512Hex);
    return this.exec([...args, ...stagingFlags(opts)], opts.check);
  }

  remove(
    gun: string,
    target: string,
    opts: PublishOption & { roles?: string[] } = {}
  ): Promise<RunResult> {
    return this.exec(['remove', gun, target, ...stagingFlags(opts)], opts.check);
  }

  /** `notary list`, parsed; throws if the command fails (e.g. no trust data). */
  async list(gun: string, opts: { roles?: string[] } = {}): Promise<NotaryTarget[]> {
    const args = ['list', gun];
    for (const r of opts.roles ?? []) args.push('-r', r);
    const r = await this.exec(args, true);
    return parseTable(r.stdout).map((row) => ({
      name: row.NAME ?? '',
      digestHex: row.DIGEST ?? '',
      size: Number(row['SIZE (BYTES)']),
      role: row.ROLE ?? '',
    }));
  }

  /** `notary lookup` → `<name> sha256:<hex> <size>`, parsed. */
  async lookup(gun: string, target: string): Promise<Omit<NotaryTarget, 'role'>> {
    const r = await this.exec(['lookup', gun, target], true);
    const m = r.stdout.trim().match(/^(.*) sha256:([0-9a-f]{64}) (\d+)$/);
    if (!m) throw new Error(`unexpected notary lookup output: ${JSON.stringify(r.stdout)}`);
    return { name: m[1]!, digestHex: m[2]!, size: Number(m[3]) };
  }

  /** `notary verify GUN TARGET`, fed `data` on stdin; exit 0 iff the bytes match the target. */
  verify(gun: string, target: string, data: string | Buffer): Promise<RunResult> {
    return this.exec(['verify', gun, target, '-q'], false, data);
  }

  keyRotate(
    gun: string,
    role: 'root' | 'targets' | 'snapshot' | 'timestamp',
    opts: CheckOption & { serverManaged?: boolean; keys?: string[]; legacy?: number } = {}
  ): Promise<RunResult> {
    const args = ['key', 'rotate', gun, role];
    if (opts.serverManaged) args.push('-r');
    for (const k of opts.keys ?? []) args.push('-k', k);
    if (opts.legacy !== undefined) args.push('-l', String(opts.legacy));
    // Root rotation asks "Are you sure … (yes/no)" and, without a yes, prints "Aborting action."
    // and exits 0 having done nothing.
    return this.exec(args, opts.check, role === 'root' ? 'yes\n' : undefined);
  }

  /** `notary key import`; the PEM may be plain (it is re-encrypted with the passphrase). */
  keyImport(
    pemFile: string,
    opts: CheckOption & { role?: string; gun?: string } = {}
  ): Promise<RunResult> {
    const args = ['key', 'import', pemFile];
    if (opts.role) args.push('-r', opts.role);
    if (opts.gun) args.push('-g', opts.gun);
    return this.exec(args, opts.check);
  }

  async keyList(): Promise<NotaryKey[]> {
    const r = await this.exec(['key', 'list'], true);
    return parseTable(r.stdout).map((row) => ({
      role: row.ROLE ?? '',
      gun: row.GUN ?? '',
      keyId: row['KEY ID'] ?? '',
      location: row.LOCATION ?? '',
    }));
  }

  delegationAdd(
    gun: string,
    role: string,
    certFiles: string[],
    opts: PublishOption & { paths?: string[]; allPaths?: boolean } = {}
  ): Promise<RunResult> {
    const args = ['delegation', 'add', gun, role, ...certFiles];
    if (opts.allPaths ?? opts.paths === undefined) args.push('--all-paths');
    if (opts.paths?.length) args.push('--paths', opts.paths.join(','));
    if (opts.publish) args.push('-p');
    return this.exec(args, opts.check);
  }

  /** `notary delegation list`, parsed; continuation lines (extra keys/paths) are merged. */
  async delegationList(gun: string): Promise<NotaryDelegation[]> {
    const r = await this.exec(['delegation', 'list', gun], true);
    const out: NotaryDelegation[] = [];
    for (const row of parseTable(r.stdout)) {
      const role = row.ROLE ?? '';
      if (role !== '' || out.length === 0) {
        out.push({ role, paths: [], keyIds: [], threshold: Number(row.THRESHOLD) });
      }
      const d = out[out.length - 1]!;
      if (row.PATHS) d.paths.push(row.PATHS === '"" <all paths>' ? '' : row.PATHS);
      if (row['KEY IDS']) d.keyIds.push(row['KEY IDS']);
    }
    return out;
  }

  witness(gun: string, roles: string[], opts: PublishOption = {}): Promise<RunResult> {
    return this.exec(['witness', gun, ...roles, ...(opts.publish ? ['-p'] : [])], opts.check);
  }

  /** `notary delete GUN --remote`: deletes the server's copy and the local cache. */
  deleteRemote(gun: string, opts: CheckOption = {}): Promise<RunResult> {
    return this.exec(['delete', gun, '--remote'], opts.check);
  }

  /** Removes this client's directory; a trust dir passed in belongs to its creator and stays. */
  async dispose(): Promise<void> {
    await removeTempDir(this.dir);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

function stagingFlags(opts: PublishOption & { roles?: string[]; custom?: string }): string[] {
  const args: string[] = [];
  for (const r of opts.roles ?? []) args.push('-r', r);
  if (opts.custom) args.push('--custom', opts.custom);
  if (opts.publish) args.push('-p');
  return args;
}
