/**
 * Brings exactly the verified digest from the staging registry into an OCI layout (skopeo,
 * by digest, never by tag) and unpacks it into a bundle's rootfs (umoci raw unpack, file owners
 * mapped into the container's host ID range). Credentials go through a 0600 auth file in the
 * run's own directory, never on a command line.
 */
import { lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ID_RANGE } from './oci-spec.js';
import { runToolChecked } from './tools.js';

export interface ImageSource {
  /** `http://host:port` or `https://host:port`. */
  readonly registryUrl: string;
  readonly repository: string;
  /** The platform manifest to run: `sha256:…`. */
  readonly digest: string;
  /** PEM of the registry's CA, for https. */
  readonly ca?: string;
  readonly username?: string;
  readonly password?: string;
}

const LAYOUT_TAG = 'run';

/** `docker://HOST/REPO@DIGEST` → `DIR/layout:run`; `workDir` is the run's private directory. */
export async function pullImage(
  src: ImageSource,
  workDir: string,
  timeoutMs: number
): Promise<string> {
  if (!/^sha256:[0-9a-f]{64}$/.test(src.digest)) throw new Error(`not a digest: ${src.digest}`);
  const url = new URL(src.registryUrl);
  const args = ['copy', '--quiet', '--retry-times', '0'];
  if (url.protocol === 'http:') args.push('--src-tls-verify=false');
  else if (src.ca) {
    const certDir = join(workDir, 'certs');
    await mkdir(certDir, { recursive: true, mode: 0o700 });
    await writeFile(join(certDir, 'ca.crt'), src.ca, { mode: 0o600 });
    args.push(`--src-cert-dir=${certDir}`);
  }
  if (src.username !== undefined) {
    const authFile = join(workDir, 'auth.json');
    const auth = Buffer.from(`${src.username}:${src.password ?? ''}`).toString('base64');
    await writeFile(authFile, JSON.stringify({ auths: { [url.host]: { auth } } }), { mode: 0o600 });
    args.push(`--src-authfile=${authFile}`);
  } else args.push('--src-no-creds');
  const layout = join(workDir, 'layout');
  args.push(`docker://${url.host}/${src.repository}@${src.digest}`, `oci:${layout}:${LAYOUT_TAG}`);
  await runToolChecked('skopeo', args, { timeoutMs });
  return layout;
}

/** Unpacks the layout's image into `rootfs`, owners shifted to `uidBase`+. */
export async function unpackImage(
  layout: string,
  rootfs: string,
  uidBase: number,
  timeoutMs: number
): Promise<void> {
  const map = `0:${uidBase}:${ID_RANGE}`;
  await runToolChecked(
    'umoci',
    [
      'raw',
      'unpack',
      '--uid-map',
      map,
      '--gid-map',
      map,
      '--image',
      `${layout}:${LAYOUT_TAG}`,
      rootfs,
    ],
    { timeoutMs }
  );
}

/** The image config JSON of the layout's image, as stored (the bytes skopeo verified). */
export async function layoutConfig(layout: string): Promise<Record<string, unknown>> {
  const blob = (digest: string) =>
    readFile(join(layout, 'blobs', 'sha256', digest.replace(/^sha256:/, '')), 'utf8');
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string }[];
  };
  const manifest = JSON.parse(await blob(index.manifests[0]!.digest)) as {
    config: { digest: string };
  };
  return JSON.parse(await blob(manifest.config.digest)) as Record<string, unknown>;
}

/** Sum of the layout's layer sizes (compressed, as pulled). */
export async function layoutLayerBytes(layout: string): Promise<number> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string }[];
  };
  const manifest = JSON.parse(
    await readFile(join(layout, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7)), 'utf8')
  ) as { layers?: { size: number }[] };
  return (manifest.layers ?? []).reduce((n, l) => n + l.size, 0);
}

/** Bytes of regular files under `dir` (hard links counted once), without following links. */
export async function unpackedBytes(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        const st = await lstat(path);
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
        total += st.size;
      }
    }
  };
  await walk(dir);
  return total;
}
