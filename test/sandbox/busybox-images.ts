/**
 * Test images for healthcheck-run, built here from the static busybox of Debian's
 * busybox-static (/bin/busybox) with umoci, so nothing is pulled from outside: one layer holding
 * busybox, applet links, /etc/passwd and /etc/group (user `app`, 1000) and a page for httpd;
 * entrypoint, user and HEALTHCHECK set in the image config as a Docker build writes them.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ImageLayout, type Descriptor } from '../helpers/images.js';

const run = promisify(execFile);

const APPLETS = ['sh', 'httpd', 'wget', 'sleep', 'true', 'false', 'echo', 'cat', 'nc', 'dd'];

export interface BusyboxImage {
  readonly entrypoint: readonly string[];
  readonly cmd?: readonly string[];
  readonly user?: string;
  /** Docker's Healthcheck (Test, and timings in nanoseconds). */
  readonly healthcheck?: {
    readonly Test: readonly string[];
    readonly Interval?: number;
    readonly Timeout?: number;
    readonly Retries?: number;
    readonly StartPeriod?: number;
  };
}

/** Builds `ref` into `layout` (an ImageLayout from ../helpers/images.ts). */
export async function buildBusyboxImage(
  layout: ImageLayout,
  ref: string,
  spec: BusyboxImage
): Promise<Descriptor> {
  const tmp = await mkdtemp(join(os.tmpdir(), 'countersign-busybox-'));
  try {
    const root = join(tmp, 'root');
    await mkdir(join(root, 'bin'), { recursive: true });
    await mkdir(join(root, 'etc'));
    await mkdir(join(root, 'www'));
    await copyFile('/bin/busybox', join(root, 'bin', 'busybox'));
    for (const a of APPLETS) await symlink('busybox', join(root, 'bin', a));
    await writeFile(
      join(root, 'etc', 'passwd'),
      'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/:/bin/sh\n'
    );
    await writeFile(join(root, 'etc', 'group'), 'root:x:0:\napp:x:1000:\n');
    await writeFile(join(root, 'www', 'index.html'), 'healthy\n');
    const image = `${layout.path}:${ref}`;
    await umoci('new', '--image', image);
    await umoci('insert', '--image', image, root, '/');
    await layout.editConfig(ref, (c) => {
      c.os = 'linux';
      c.architecture = 'amd64';
      c.config = {
        ...(c.config ?? {}),
        Env: ['PATH=/bin'],
        Entrypoint: [...spec.entrypoint],
        ...(spec.cmd ? { Cmd: [...spec.cmd] } : {}),
        ...(spec.user !== undefined ? { User: spec.user } : {}),
        ...(spec.healthcheck ? { Healthcheck: { ...spec.healthcheck } } : {}),
      };
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return layout.descriptor(ref);
}

async function umoci(...args: string[]): Promise<void> {
  try {
    await run('umoci', args, { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`umoci ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}
