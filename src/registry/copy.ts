/**
 * Promotion: copies an image by digest from one registry repository to another and tags it.
 * Within one registry each blob is mounted (no bytes move); across registries each blob is
 * streamed from source to target. Blobs and manifests already in the target are skipped, so a
 * re-run after a failure (or after success) finishes the job without redoing it. Children are
 * written before the index that names them, and the tag last, so the tag never points at an
 * incomplete image.
 */
import { CountersignError, fail } from '../errors.js';
import type { RegistryClient } from './client.js';
import { mapLimit } from './limit.js';
import { isForeignLayer, type Descriptor } from './manifest.js';
import { BlobTally, type BlobProgressListener } from './progress.js';

export interface CopyEndpoint {
  client: RegistryClient;
  repo: string;
}

export interface CopyOptions {
  source: CopyEndpoint;
  target: CopyEndpoint;
  /** The manifest (or index) digest to copy. */
  digest: string;
  /** Tag to point at the digest in the target once everything is there. */
  tag?: string;
  /** Blobs transferred at once; default 3. */
  concurrency?: number;
  /** Tries per streamed blob (each re-reads the source); default 3. */
  uploadAttempts?: number;
  /** Told after every blob (present, mounted or uploaded). */
  onProgress?: BlobProgressListener;
}

export interface CopyReport {
  digest: string;
  mediaType: string;
  blobs: { mounted: string[]; uploaded: string[]; present: string[] };
  manifests: { pushed: string[]; present: string[] };
  tag?: string;
}

const MAX_INDEX_DEPTH = 4;

export async function copyImage(options: CopyOptions): Promise<CopyReport> {
  const { source, target, digest, tag } = options;
  const report: CopyReport = {
    digest,
    mediaType: '',
    blobs: { mounted: [], uploaded: [], present: [] },
    manifests: { pushed: [], present: [] },
  };
  const blobsDone = new Map<string, Promise<void>>();
  const mount = source.client.sameRegistry(target.client);
  const tally = new BlobTally(options.onProgress);

  const copyBlob = (d: Descriptor): Promise<void> => {
    let job = blobsDone.get(d.digest);
    if (!job) {
      job = transferBlob(d).then(() => tally.done(d));
      blobsDone.set(d.digest, job);
    }
    return job;
  };

  const transferBlob = async (d: Descriptor): Promise<void> => {
    const present = await target.client.hasBlob(target.repo, d.digest);
    if (present.exists) {
      report.blobs.present.push(d.digest);
      return;
    }
    if (mount && (await target.client.mountBlob(source.repo, target.repo, d.digest))) {
      report.blobs.mounted.push(d.digest);
      return;
    }
    const attempts = options.uploadAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      try {
        await target.client.uploadBlob(target.repo, d, () =>
          source.client.blobStream(source.repo, d.digest)
        );
        report.blobs.uploaded.push(d.digest);
        return;
      } catch (err) {
        const transient =
          err instanceof CountersignError &&
          (err.code === 'NETWORK' || err.code === 'REGISTRY_AUTH');
        if (!transient || attempt >= attempts) throw err;
      }
    }
  };

  const copyManifest = async (
    ref: Descriptor | string,
    depth: number
  ): Promise<{ bytes: Buffer; mediaType: string }> => {
    const wanted = typeof ref === 'string' ? ref : ref.digest;
    const m = await source.client.getManifest(source.repo, wanted);
    if (m.digest !== wanted) {
      fail(
        'META_HASH_MISMATCH',
        `${source.client.url} ${source.repo}: manifest ${wanted} hashes to ${m.digest}`
      );
    }
    if (typeof ref !== 'string' && m.bytes.length !== ref.size) {
      fail(
        'META_HASH_MISMATCH',
        `${source.client.url} ${source.repo}: manifest ${wanted} is ${m.bytes.length} bytes, its descriptor says ${ref.size}`
      );
    }
    if (m.parsed.kind === 'index') {
      if (depth >= MAX_INDEX_DEPTH)
        fail('REGISTRY_MANIFEST_INVALID', `index ${wanted} nests deeper than ${MAX_INDEX_DEPTH}`);
      for (const child of m.parsed.manifests) await copyManifest(child, depth + 1);
    } else {
      const blobs = [m.parsed.config, ...m.parsed.layers].filter((d) => !isForeignLayer(d));
      tally.announce(blobs);
      await mapLimit(blobs, options.concurrency ?? 3, copyBlob);
    }
    if (await target.client.hasManifest(target.repo, wanted)) {
      if (!report.manifests.present.includes(wanted)) report.manifests.present.push(wanted);
    } else {
      await target.client.putManifest(target.repo, wanted, m.bytes, m.mediaType);
      report.manifests.pushed.push(wanted);
    }
    return { bytes: m.bytes, mediaType: m.mediaType };
  };

  const top = await copyManifest(digest, 0);
  report.mediaType = top.mediaType;
  if (tag !== undefined) {
    await target.client.putManifest(target.repo, tag, top.bytes, top.mediaType);
    report.tag = tag;
  }
  return report;
}
