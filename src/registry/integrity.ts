/**
 * Registry integrity, as verification reports it: the tag still serves the signed manifest
 * (`registry-manifest`), and every blob that manifest references is present and hashes to its
 * descriptor (`registry-blobs`). A mismatch or a missing object is a failed check with a detail
 * naming it; a registry that cannot be reached throws (NETWORK, REGISTRY_AUTH), because that says
 * nothing about the image and verification should be re-run, not failed.
 */
import { CountersignError } from '../errors.js';
import type { RegistryClient } from './client.js';
import { digestOf } from './digest.js';
import { mapLimit } from './limit.js';
import {
  isForeignLayer,
  parseManifest,
  platformName,
  type Descriptor,
  type Manifest,
} from './manifest.js';
import { BlobTally, type BlobProgressListener } from './progress.js';

export interface RegistryCheck {
  name: 'registry-manifest' | 'registry-blobs';
  passed: boolean;
  detail: string;
}

/** The name the issue uses for a verification entry. */
export type Check = RegistryCheck;

export interface SignedManifest {
  /** The signed target's sha256, hex. */
  sha256Hex: string;
  /** The signed target's length in bytes. */
  length: number;
}

const MAX_INDEX_DEPTH = 4;
const BLOB_CONCURRENCY = 4;
const MAX_LISTED_PROBLEMS = 10;

/**
 * The manifest the tag serves now hashes to the signed sha256, and the manifest fetched by that
 * digest hashes to it and has the signed length.
 */
export async function checkManifest(
  client: RegistryClient,
  repo: string,
  tag: string,
  expected: SignedManifest
): Promise<RegistryCheck> {
  const result = (passed: boolean, detail: string): RegistryCheck => ({
    name: 'registry-manifest',
    passed,
    detail,
  });
  if (!/^[a-f0-9]{64}$/.test(expected.sha256Hex)) {
    return result(
      false,
      `the signed target has no valid sha256 (${JSON.stringify(expected.sha256Hex)})`
    );
  }
  const signed = `sha256:${expected.sha256Hex}`;
  const where = `${repo}:${tag} on ${client.url}`;

  const byTag = await notFoundAsNull(() => client.getManifestBytes(repo, tag));
  if (!byTag) return result(false, `${where}: the tag does not exist`);
  const tagDigest = digestOf(byTag.bytes);
  if (tagDigest !== signed) {
    return result(
      false,
      `${where} resolves to ${tagDigest} (${byTag.bytes.length} bytes) but the signed digest is ${signed} (${expected.length} bytes): the tag was re-pushed after signing`
    );
  }
  if (byTag.headerDigest !== undefined && byTag.headerDigest !== tagDigest) {
    return result(
      false,
      `${where}: the registry reports Docker-Content-Digest ${byTag.headerDigest} for bytes that hash to ${tagDigest}`
    );
  }

  const byDigest = await notFoundAsNull(() => client.getManifestBytes(repo, signed));
  if (!byDigest)
    return result(false, `${repo}@${signed} on ${client.url}: no manifest by that digest`);
  if (byDigest.digest !== signed) {
    return result(
      false,
      `${repo}@${signed} on ${client.url}: the manifest fetched by digest hashes to ${byDigest.digest}`
    );
  }
  if (byDigest.bytes.length !== expected.length) {
    return result(
      false,
      `${repo}@${signed} on ${client.url}: the manifest is ${byDigest.bytes.length} bytes but the signed length is ${expected.length}`
    );
  }
  return result(
    true,
    `${where} resolves to ${signed} (${byDigest.mediaType || 'unknown type'}, ${expected.length} bytes) as signed`
  );
}

/**
 * Every blob the manifest references exists and its streamed bytes hash to the descriptor's
 * digest and size: the config and layers of an image, and for an index every child manifest
 * (by digest and size) and its blobs.
 */
export async function checkBlobs(
  client: RegistryClient,
  repo: string,
  digest: string,
  onProgress?: BlobProgressListener
): Promise<RegistryCheck> {
  const problems: string[] = [];
  const progress = new BlobTally(onProgress);
  const verified = new Map<string, boolean>();
  const tally = { manifests: 0, configs: 0, layers: 0, bytes: 0 };

  const verify = async (d: Descriptor, what: string): Promise<void> => {
    if (isForeignLayer(d)) {
      problems.push(
        `${what} ${d.digest} is a foreign layer, not stored in the registry, so it cannot be verified`
      );
      return;
    }
    const key = `${d.digest}/${d.size}`;
    if (!verified.has(key)) {
      const v = await client.verifyBlob(repo, d);
      progress.done(d);
      verified.set(key, v.ok);
      if (!v.ok) problems.push(`${what}: ${v.detail}`);
      else tally.bytes += d.size;
    }
  };

  const visit = async (ref: Descriptor | string, label: string, depth: number): Promise<void> => {
    const wanted = typeof ref === 'string' ? ref : ref.digest;
    const fetched = await notFoundAsNull(() => client.getManifestBytes(repo, wanted));
    if (!fetched) {
      problems.push(`${label} ${wanted} is missing from the registry`);
      return;
    }
    if (fetched.digest !== wanted) {
      problems.push(`${label} ${wanted}: the bytes fetched by digest hash to ${fetched.digest}`);
      return;
    }
    if (typeof ref !== 'string' && fetched.bytes.length !== ref.size) {
      problems.push(
        `${label} ${wanted} is ${fetched.bytes.length} bytes, its descriptor says ${ref.size}`
      );
      return;
    }
    let manifest: Manifest;
    try {
      manifest = parseManifest(fetched.bytes, fetched.mediaType);
    } catch (err) {
      problems.push(`${label} ${wanted}: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    tally.manifests++;
    if (manifest.kind === 'index') {
      if (depth >= MAX_INDEX_DEPTH) {
        problems.push(`${label} ${wanted}: indexes nest deeper than ${MAX_INDEX_DEPTH}`);
        return;
      }
      if (manifest.manifests.length === 0) problems.push(`${label} ${wanted} lists no manifests`);
      for (const child of manifest.manifests)
        await visit(child, `manifest ${platformName(child)}`, depth + 1);
      return;
    }
    const of = label === 'manifest' ? '' : ` of ${label}`;
    tally.configs++;
    tally.layers += manifest.layers.length;
    const blobs: [Descriptor, string][] = [
      [manifest.config, `config${of}`],
      ...manifest.layers.map((l, i): [Descriptor, string] => [l, `layer ${i}${of}`]),
    ];
    progress.announce(blobs.map(([d]) => d).filter((d) => !isForeignLayer(d)));
    await mapLimit(blobs, BLOB_CONCURRENCY, ([d, what]) => verify(d, what));
  };

  await visit(digest, 'manifest', 0);
  const result = (passed: boolean, detail: string): RegistryCheck => ({
    name: 'registry-blobs',
    passed,
    detail,
  });
  if (problems.length > 0) {
    const listed = problems.slice(0, MAX_LISTED_PROBLEMS).join('; ');
    const more =
      problems.length > MAX_LISTED_PROBLEMS
        ? `; and ${problems.length - MAX_LISTED_PROBLEMS} more`
        : '';
    return result(false, `${repo}@${digest} on ${client.url}: ${listed}${more}`);
  }
  return result(
    true,
    `${repo}@${digest}: ${tally.manifests} manifest(s), ${tally.configs} config(s) and ${tally.layers} layer(s) present and matching their digests (${tally.bytes} blob bytes read)`
  );
}

async function notFoundAsNull<T>(fetch: () => Promise<T>): Promise<T | null> {
  try {
    return await fetch();
  } catch (err) {
    if (err instanceof CountersignError && err.code === 'REGISTRY_NOT_FOUND') return null;
    throw err;
  }
}
