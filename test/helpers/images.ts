/**
 * Test images built with umoci in an OCI layout and pushed with skopeo (Debian packages), so
 * the registry holds content our own client did not write. OCI image configs have no
 * Healthcheck; where one is wanted it is added to the config JSON here (new config blob, new
 * manifest, index.json updated), as a Docker build would have written it.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ImageSpec {
  /** Sizes in bytes of layers of random (incompressible) content; default one of 1 KiB. */
  layers?: number[];
  user?: string;
  labels?: Record<string, string>;
  /** Docker's Healthcheck.Test, e.g. `['CMD-SHELL', 'test -e /data']`. */
  healthcheck?: string[];
  os?: string;
  architecture?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string };
  annotations?: Record<string, string>;
}

export interface PushOptions {
  /** `v2s2` converts to Docker schema 2 manifests (and manifest lists). */
  format?: 'oci' | 'v2s2';
  /** Registry CA for TLS; without it TLS verification is off (plain HTTP registries). */
  certDir?: string;
  credentials?: { username: string; password: string };
}

const REF_NAME = 'org.opencontainers.image.ref.name';

/** An OCI image layout in a temporary directory, holding any number of tagged images. */
export class ImageLayout {
  private constructor(
    readonly dir: string,
    readonly path: string
  ) {}

  static async create(): Promise<ImageLayout> {
    const dir = await mkdtemp(join(os.tmpdir(), 'countersign-images-'));
    const path = join(dir, 'layout');
    await umoci('init', '--layout', path);
    return new ImageLayout(dir, path);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Builds image `ref`: empty base, config settings, one inserted file per layer, healthcheck. */
  async build(ref: string, spec: ImageSpec = {}): Promise<Descriptor> {
    const image = `${this.path}:${ref}`;
    await umoci('new', '--image', image);
    const config = [
      'config',
      '--image',
      image,
      '--os',
      spec.os ?? 'linux',
      '--architecture',
      spec.architecture ?? 'amd64',
    ];
    if (spec.user !== undefined) config.push('--config.user', spec.user);
    for (const [k, v] of Object.entries(spec.labels ?? {}))
      config.push('--config.label', `${k}=${v}`);
    await umoci(...config);
    let i = 0;
    for (const size of spec.layers ?? [1024]) {
      const file = join(this.dir, `layer-${ref}-${i}.bin`);
      await writeFile(file, randomBytes(size));
      await umoci('insert', '--image', image, file, `/data/layer-${i}.bin`);
      await rm(file);
      i++;
    }
    if (spec.healthcheck) {
      const test = spec.healthcheck;
      await this.editConfig(ref, (c) => {
        const inner = (c.config ?? {}) as Record<string, unknown>;
        inner.Healthcheck = {
          Test: test,
          Interval: 30_000_000_000,
          Timeout: 5_000_000_000,
          Retries: 3,
        };
        c.config = inner;
      });
    }
    return this.descriptor(ref);
  }

  /** An OCI index `ref` over already built images, each with the platform of its config. */
  async buildIndex(ref: string, children: string[]): Promise<Descriptor> {
    const manifests: Descriptor[] = [];
    for (const child of children) {
      const d = await this.descriptor(child);
      const manifest = JSON.parse((await this.readBlob(d.digest)).toString('utf8')) as {
        config: Descriptor;
      };
      const config = JSON.parse((await this.readBlob(manifest.config.digest)).toString('utf8')) as {
        os: string;
        architecture: string;
      };
      manifests.push({
        mediaType: d.mediaType,
        digest: d.digest,
        size: d.size,
        platform: { os: config.os, architecture: config.architecture },
      });
    }
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests,
      })
    );
    const digest = await this.writeBlob(bytes);
    await this.setRef(ref, {
      mediaType: 'application/vnd.oci.image.index.v1+json',
      digest,
      size: bytes.length,
    });
    return this.descriptor(ref);
  }

  /** Rewrites the image config of `ref` (new blob, new manifest, index.json updated). */
  async editConfig(
    ref: string,
    edit: (config: Record<string, unknown>) => void
  ): Promise<Descriptor> {
    const d = await this.descriptor(ref);
    const manifest = JSON.parse((await this.readBlob(d.digest)).toString('utf8')) as {
      config: Descriptor;
    };
    const config = JSON.parse(
      (await this.readBlob(manifest.config.digest)).toString('utf8')
    ) as Record<string, unknown>;
    edit(config);
    const configBytes = Buffer.from(JSON.stringify(config));
    manifest.config = {
      ...manifest.config,
      digest: await this.writeBlob(configBytes),
      size: configBytes.length,
    };
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    await this.setRef(ref, {
      mediaType: d.mediaType,
      digest: await this.writeBlob(manifestBytes),
      size: manifestBytes.length,
    });
    return this.descriptor(ref);
  }

  /** The descriptor index.json holds for `ref`. */
  async descriptor(ref: string): Promise<Descriptor> {
    const index = await this.readIndex();
    const d = index.manifests.find((m) => m.annotations?.[REF_NAME] === ref);
    if (!d) throw new Error(`no image ${ref} in ${this.path}`);
    return d;
  }

  /** The image manifest of `ref` (parsed) as stored in the layout. */
  async manifest(ref: string): Promise<{ config: Descriptor; layers: Descriptor[] }> {
    const d = await this.descriptor(ref);
    return JSON.parse((await this.readBlob(d.digest)).toString('utf8')) as {
      config: Descriptor;
      layers: Descriptor[];
    };
  }

  async readBlob(digest: string): Promise<Buffer> {
    return readFile(join(this.path, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));
  }

  /** Pushes `ref` (an image or, with all its children, an index) to `host/dest` with skopeo. */
  async push(host: string, ref: string, dest: string, options: PushOptions = {}): Promise<void> {
    const args = ['copy', '--quiet', '--all'];
    args.push(options.certDir ? `--dest-cert-dir=${options.certDir}` : '--dest-tls-verify=false');
    if (options.format === 'v2s2') args.push('--format', 'v2s2');
    if (options.credentials)
      args.push('--dest-creds', `${options.credentials.username}:${options.credentials.password}`);
    args.push(`oci:${this.path}:${ref}`, `docker://${host}/${dest}`);
    await tool('skopeo', args);
  }

  private async readIndex(): Promise<{ schemaVersion: number; manifests: Descriptor[] }> {
    return JSON.parse(await readFile(join(this.path, 'index.json'), 'utf8')) as {
      schemaVersion: number;
      manifests: Descriptor[];
    };
  }

  private async setRef(ref: string, d: Descriptor): Promise<void> {
    const index = await this.readIndex();
    index.manifests = index.manifests.filter((m) => m.annotations?.[REF_NAME] !== ref);
    index.manifests.push({ ...d, annotations: { [REF_NAME]: ref } });
    await writeFile(join(this.path, 'index.json'), JSON.stringify(index));
  }

  private async writeBlob(bytes: Buffer): Promise<string> {
    const hex = createHash('sha256').update(bytes).digest('hex');
    await writeFile(join(this.path, 'blobs', 'sha256', hex), bytes);
    return `sha256:${hex}`;
  }
}

/** `skopeo inspect --raw` and `--format {{.Digest}}` of an image in a registry. */
export async function skopeoDigest(host: string, repoTag: string): Promise<string> {
  const { stdout } = await tool('skopeo', [
    'inspect',
    '--tls-verify=false',
    '--format',
    '{{.Digest}}',
    `docker://${host}/${repoTag}`,
  ]);
  return stdout.trim();
}

async function umoci(...args: string[]): Promise<void> {
  await tool('umoci', args);
}

async function tool(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(cmd, args, { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}
