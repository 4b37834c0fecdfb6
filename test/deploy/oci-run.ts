/**
 * Runs an unpacked OCI bundle with raw `runc` (podman's default rlimits are refused on these
 * machines; runc with the bundle's own config is not). The container gets a network namespace
 * made here with `ip netns add`, holding only its loopback: the server listens on 0.0.0.0:4443
 * as the image says, and probes reach it with `ip netns exec` on 127.0.0.1, so no traffic leaves
 * loopback and no port on the host is taken.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, runChecked, Service, type RunResult } from '../helpers/proc.js';

interface Mount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

interface RuntimeSpec {
  process: {
    terminal: boolean;
    user: { uid: number; gid: number };
    args: string[];
    env: string[];
    cwd: string;
    capabilities?: { ambient?: string[] };
  };
  root: { path: string; readonly?: boolean };
  mounts: Mount[];
  linux: { namespaces: { type: string; path?: string }[] };
}

export interface BundleChanges {
  /** Appended to the image's entrypoint, as `docker run IMAGE ARGS…` would. */
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Host path → container path; `ro` mounts read-only. */
  readonly binds: readonly { source: string; destination: string; ro?: boolean }[];
  readonly netnsPath: string;
}

/** Adjusts umoci's config.json: arguments, environment, bind mounts, our network namespace. */
export function configureBundle(bundle: string, changes: BundleChanges): RuntimeSpec {
  const path = join(bundle, 'config.json');
  const spec = JSON.parse(readFileSync(path, 'utf8')) as RuntimeSpec;
  spec.process.terminal = false;
  // As docker and podman run a non-root user: no ambient capabilities (umoci grants some).
  if (spec.process.capabilities) spec.process.capabilities.ambient = [];
  spec.process.args.push(...changes.args);
  spec.process.env.push(...Object.entries(changes.env).map(([k, v]) => `${k}=${v}`));
  for (const b of changes.binds) {
    // umoci turns each VOLUME into a tmpfs; the bind replaces it.
    spec.mounts = spec.mounts.filter((m) => m.destination !== b.destination);
    spec.mounts.push({
      destination: b.destination,
      type: 'bind',
      source: b.source,
      options: ['rbind', b.ro ? 'ro' : 'rw'],
    });
  }
  // The image must run with nothing but /data writable.
  spec.root.readonly = true;
  spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== 'network');
  spec.linux.namespaces.push({ type: 'network', path: changes.netnsPath });
  writeFileSync(path, JSON.stringify(spec, null, 2));
  return spec;
}

/** A network namespace with its loopback up; `remove()` deletes it. */
export class NetworkNamespace {
  private constructor(readonly name: string) {}

  static async create(): Promise<NetworkNamespace> {
    const name = `countersign-img-${randomBytes(4).toString('hex')}`;
    await runChecked('ip', ['netns', 'add', name]);
    const ns = new NetworkNamespace(name);
    await runChecked('ip', ['-n', name, 'link', 'set', 'lo', 'up']).catch(async (e: unknown) => {
      await ns.remove();
      throw e;
    });
    return ns;
  }

  get path(): string {
    return `/var/run/netns/${this.name}`;
  }

  /** Runs a host program inside the namespace (it sees only the container's loopback). */
  exec(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<RunResult> {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args], {
      ...(env ? { env } : {}),
      timeoutMs: 20_000,
    });
  }

  async remove(): Promise<void> {
    await run('ip', ['netns', 'delete', this.name]);
  }
}

/** One container run by runc in the foreground, its output kept; `stop()` kills and deletes it. */
export class RuncContainer {
  private constructor(
    readonly id: string,
    private readonly stateDir: string,
    readonly service: Service
  ) {}

  static start(bundle: string, stateDir: string): RuncContainer {
    const id = `countersign-img-${randomBytes(4).toString('hex')}`;
    const service = Service.start('runc', ['--root', stateDir, 'run', '--bundle', bundle, id]);
    return new RuncContainer(id, stateDir, service);
  }

  /** The container's first process, as the host sees it. */
  async hostPid(): Promise<number> {
    const r = await runChecked('runc', ['--root', this.stateDir, 'state', this.id]);
    return (JSON.parse(r.stdout) as { pid: number }).pid;
  }

  /** `runc exec`: a command inside the running container, as the image's user. */
  exec(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<RunResult> {
    const envArgs = Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
    return run('runc', ['--root', this.stateDir, 'exec', ...envArgs, this.id, ...args], {
      timeoutMs: 20_000,
    });
  }

  async stop(): Promise<void> {
    await run('runc', ['--root', this.stateDir, 'kill', this.id, 'TERM']);
    const exited = await Promise.race([
      this.service.exited.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 10_000)),
    ]);
    if (!exited) await run('runc', ['--root', this.stateDir, 'kill', this.id, 'KILL']);
    await run('runc', ['--root', this.stateDir, 'delete', '--force', this.id]);
    await this.service.stop();
  }
}
