/**
 * The real docker CLI (28.x) with content trust on, pointed at one notary server under test and
 * (optionally) at a Docker Engine stand-in, with a private DOCKER_CONFIG: its own keys, trust
 * cache, stored logins and the server's CA in `tls/<host:port>/ca.crt`.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from './cleanup.js';
import { authConfigKey } from './image-ref.js';
import { CommandError, run, type RunResult } from './proc.js';
import type { ServerUnderTest } from './server-under-test.js';

export interface DockerClientOptions {
  /** The trust server; docker insists on https. */
  server: ServerUnderTest;
  /** DOCKER_HOST, e.g. `engine.dockerHost`. Default: a socket path where nothing listens. */
  dockerHost?: string;
  /** Stored registry logins written to config.json, keyed by an image of that registry. */
  logins?: Array<{ image: string; username: string; password: string }>;
  /** DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE / _REPOSITORY_PASSPHRASE. */
  passphrases?: { root?: string; repository?: string };
  debug?: boolean;
  timeoutMs?: number;
  env?: Record<string, string>;
}

export interface TrustInspectKey {
  ID: string;
}

export interface TrustInspectSigner {
  Name: string;
  Keys: TrustInspectKey[];
}

export interface TrustInspectTag {
  SignedTag: string;
  /** Hex, without `sha256:`. */
  Digest: string;
  /** Signer names; `Repo Admin` for the top-level targets role. */
  Signers: string[];
}

/** One element of `docker trust inspect` JSON output. */
export interface TrustInspectRepo {
  Name: string;
  SignedTags: TrustInspectTag[];
  Signers: TrustInspectSigner[];
  AdministrativeKeys: TrustInspectSigner[];
}

export const DEFAULT_DOCKER_PASSPHRASE = 'countersign-docker-passphrase';

export class DockerClient implements AsyncDisposable {
  private constructor(
    readonly options: DockerClientOptions,
    /** DOCKER_CONFIG (and HOME); removed on dispose. */
    readonly configDir: string
  ) {}

  static async create(options: DockerClientOptions): Promise<DockerClient> {
    if (!options.server.url.startsWith('https://')) {
      throw new Error(`docker needs an https trust server, got ${options.server.url}`);
    }
    const dir = makeTempDir('docker-config-');
    if (options.server.caFile) {
      // Docker reads extra roots for the trust server from here (not /etc/docker/certs.d).
      const tlsDir = join(dir, 'tls', options.server.hostPort);
      mkdirSync(tlsDir, { recursive: true });
      copyFileSync(options.server.caFile, join(tlsDir, 'ca.crt'));
    }
    const client = new DockerClient(options, dir);
    client.writeConfig(options.logins ?? []);
    return client;
  }

  /** Replaces the stored logins (config.json `auths`). */
  setLogins(logins: Array<{ image: string; username: string; password: string }>): void {
    this.writeConfig(logins);
  }

  private writeConfig(logins: Array<{ image: string; username: string; password: string }>): void {
    const auths: Record<string, { auth: string }> = {};
    for (const l of logins) {
      auths[authConfigKey(l.image)] = {
        auth: Buffer.from(`${l.username}:${l.password}`).toString('base64'),
      };
    }
    writeFileSync(join(this.configDir, 'config.json'), JSON.stringify({ auths }, null, 2));
  }

  env(): NodeJS.ProcessEnv {
    const p = this.options.passphrases ?? {};
    return {
      PATH: process.env.PATH,
      HOME: this.configDir,
      TMPDIR: tmpdir(),
      DOCKER_CONFIG: this.configDir,
      DOCKER_HOST: this.options.dockerHost ?? `unix://${join(this.configDir, 'no-engine.sock')}`,
      DOCKER_CONTENT_TRUST: '1',
      DOCKER_CONTENT_TRUST_SERVER: this.options.server.url,
      DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: p.root ?? DEFAULT_DOCKER_PASSPHRASE,
      DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: p.repository ?? DEFAULT_DOCKER_PASSPHRASE,
      // No "What's next" hints and no CLI plugins from the host.
      DOCKER_CLI_HINTS: 'false',
      ...this.options.env,
    };
  }

  /** `docker …args` in the config dir; never throws on a non-zero exit. */
  run(
    args: readonly string[],
    opts: { input?: string; env?: Record<string, string> } = {}
  ): Promise<RunResult> {
    const argv = [...(this.options.debug ? ['--debug'] : []), ...args];
    return run('docker', argv, {
      env: { ...this.env(), ...opts.env },
      cwd: this.configDir,
      input: opts.input,
      timeoutMs: this.options.timeoutMs ?? 60_000,
    });
  }

  private async exec(args: string[], check = true): Promise<RunResult> {
    const r = await this.run(args);
    if (r.code !== 0 && check) throw new CommandError(`docker ${args.join(' ')}`, r);
    return r;
  }

  /** `docker trust inspect` as JSON; repositories without trust data come back as an error. */
  async trustInspect(image: string): Promise<TrustInspectRepo[]> {
    const r = await this.exec(['trust', 'inspect', image]);
    return JSON.parse(r.stdout) as TrustInspectRepo[];
  }

  /** `docker trust inspect --pretty`, raw text. */
  async trustInspectPretty(image: string): Promise<string> {
    return (await this.exec(['trust', 'inspect', '--pretty', image])).stdout;
  }

  /** `docker trust key generate NAME --dir DIR`; returns the public key file. */
  async trustKeyGenerate(name: string, dir = this.configDir): Promise<string> {
    await this.exec(['trust', 'key', 'generate', name, '--dir', dir]);
    return join(dir, `${name}.pub`);
  }

  trustSignerAdd(
    name: string,
    repo: string,
    pubKeyFiles: string[],
    opts: { check?: boolean } = {}
  ): Promise<RunResult> {
    return this.exec(
      ['trust', 'signer', 'add', ...pubKeyFiles.flatMap((k) => ['--key', k]), name, repo],
      opts.check
    );
  }

  trustSignerRemove(
    name: string,
    repo: string,
    opts: { check?: boolean } = {}
  ): Promise<RunResult> {
    return this.exec(['trust', 'signer', 'remove', '--force', name, repo], opts.check);
  }

  trustSign(image: string, opts: { local?: boolean; check?: boolean } = {}): Promise<RunResult> {
    return this.exec(['trust', 'sign', ...(opts.local ? ['--local'] : []), image], opts.check);
  }

  trustRevoke(image: string, opts: { check?: boolean } = {}): Promise<RunResult> {
    return this.exec(['trust', 'revoke', '--yes', image], opts.check);
  }

  push(image: string, opts: { check?: boolean } = {}): Promise<RunResult> {
    return this.exec(['push', image], opts.check);
  }

  pull(image: string, opts: { check?: boolean } = {}): Promise<RunResult> {
    return this.exec(['pull', image], opts.check);
  }

  async dispose(): Promise<void> {
    await removeTempDir(this.configDir);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
