/**
 * Building deploy/Containerfile without a registry or a container engine, with Debian's tools:
 * - a Node base image assembled here: `mmdebstrap` makes a minimal Debian bookworm root (no C++
 *   toolchain, like the slim node images, so the build stage installs one with apt), this
 *   machine's node, npm and Node headers go under /usr/local as in the official node images, and
 *   `buildah` imports it from scratch;
 * - `buildah bud` (storage driver vfs, chroot isolation: both work as root without a daemon, overlay
 *   mounts or user namespaces) builds the Containerfile on it with `--build-arg BASE=…`;
 * - `buildah push … oci:` and `umoci unpack` turn the image into a runtime bundle (rootfs and a
 *   config.json made from the image's own config: user, entrypoint, environment, working dir).
 * Everything lives under one directory (buildah's storage included), so removing it is the cleanup.
 */
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';
import { runChecked, type RunResult } from '../helpers/proc.js';

const MINUTES = 60_000;

/** This machine's Node: the binary, its headers and the npm that ships with it. */
function hostNode(): { binary: string; headers: string; npm: string } {
  const binary = realpathSync(process.execPath);
  const prefix = dirname(dirname(binary));
  return {
    binary,
    headers: join(prefix, 'include/node'),
    npm: join(prefix, 'lib/node_modules/npm'),
  };
}

export class ImageBuilder {
  constructor(private readonly workDir: string) {}

  private get storage(): string[] {
    return [
      '--storage-driver',
      'vfs',
      '--root',
      join(this.workDir, 'storage'),
      '--runroot',
      join(this.workDir, 'run'),
    ];
  }

  buildah(args: readonly string[], timeoutMs = 10 * MINUTES): Promise<RunResult> {
    return runChecked('buildah', [...this.storage, ...args], { timeoutMs });
  }

  /** mmdebstrap's bookworm with node under /usr/local, as a tarball; returns its path. */
  async debianRootfs(): Promise<string> {
    const node = hostNode();
    const tarball = join(this.workDir, 'base.tar');
    const hook = [
      'set -e',
      'mkdir -p "$1/usr/local/bin" "$1/usr/local/include" "$1/usr/local/lib/node_modules"',
      `cp ${node.binary} "$1/usr/local/bin/node"`,
      `cp -a ${node.headers} "$1/usr/local/include/node"`,
      `cp -a ${node.npm} "$1/usr/local/lib/node_modules/npm"`,
      'ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"',
      'ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"',
      // This machine reaches the npm registry through a TLS proxy whose CA is only in the host's
      // bundle; the build stage's npm needs it (NODE_EXTRA_CA_CERTS in the base's config).
      'cp /etc/ssl/certs/ca-certificates.crt "$1/etc/ssl/certs/ca-certificates.crt"',
    ].join('\n');
    await runChecked(
      'mmdebstrap',
      [
        '--variant=minbase',
        '--include=ca-certificates',
        `--customize-hook=${hook}`,
        'bookworm',
        tarball,
      ],
      { timeoutMs: 15 * MINUTES }
    );
    return tarball;
  }

  /** Imports a root filesystem tarball as a local image named `name`. */
  async importBase(tarball: string, name: string): Promise<void> {
    const ctr = (await this.buildah(['from', 'scratch'])).stdout.trim();
    try {
      await this.buildah(['add', ctr, tarball, '/']);
      await this.buildah([
        'config',
        '--env',
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        '--env',
        'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt',
        ctr,
      ]);
      await this.buildah(['commit', '--format', 'docker', ctr, name]);
    } finally {
      await this.buildah(['rm', ctr]);
    }
  }

  /** `buildah bud` of deploy/Containerfile on `base`, Docker format (it keeps HEALTHCHECK). */
  async buildContainerfile(base: string, tag: string): Promise<RunResult> {
    return this.buildah(
      [
        'bud',
        '--isolation',
        'chroot',
        '--format',
        'docker',
        '--pull-never',
        '--build-arg',
        `BASE=${base}`,
        '-f',
        join(repoRoot, 'deploy/Containerfile'),
        '-t',
        tag,
        repoRoot,
      ],
      30 * MINUTES
    );
  }

  /** The image's Docker config (User, Entrypoint, Healthcheck, Volumes, ExposedPorts, Env). */
  async imageConfig(tag: string): Promise<DockerImageConfig> {
    const out = await this.buildah(['inspect', '--type', 'image', tag]);
    return (JSON.parse(out.stdout) as { Docker: { config: DockerImageConfig } }).Docker.config;
  }

  /** An OCI runtime bundle (rootfs + config.json) made by umoci from the image. */
  async unpackBundle(tag: string, bundle: string): Promise<void> {
    const layout = join(this.workDir, 'oci');
    await this.buildah(['push', tag, `oci:${layout}:test`]);
    await runChecked('umoci', ['unpack', '--image', `${layout}:test`, bundle], {
      timeoutMs: 10 * MINUTES,
    });
  }
}

export interface DockerImageConfig {
  User?: string;
  Entrypoint?: string[];
  Cmd?: string[] | null;
  Env?: string[];
  WorkingDir?: string;
  Volumes?: Record<string, unknown>;
  ExposedPorts?: Record<string, unknown>;
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number };
}
