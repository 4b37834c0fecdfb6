/**
 * What the review policy looks at, gathered from the registry: for each platform of an image
 * (one for a plain manifest, every child of an index) its config JSON and layer descriptors.
 */
import { fail } from '../errors.js';
import type { RegistryClient } from './client.js';
import { isRecord, platformName, type Descriptor } from './manifest.js';

export interface ImagePlatform {
  manifestDigest: string;
  /** `linux/arm64`, from the index descriptor or else the config. */
  platform: string;
  configDescriptor: Descriptor;
  /** The image configuration JSON (Docker or OCI), as stored. */
  config: Record<string, unknown>;
  layers: Descriptor[];
}

/** An index child that is not a runnable image (BuildKit attestations and the like). */
export interface ImageAttachment {
  manifestDigest: string;
  blobs: Descriptor[];
}

export interface ImageSummary {
  digest: string;
  mediaType: string;
  platforms: ImagePlatform[];
  attachments: ImageAttachment[];
}

const MAX_INDEX_DEPTH = 4;

export async function inspectImage(
  client: RegistryClient,
  repo: string,
  digest: string
): Promise<ImageSummary> {
  const top = await client.getManifest(repo, digest);
  const summary: ImageSummary = {
    digest,
    mediaType: top.mediaType,
    platforms: [],
    attachments: [],
  };

  const visit = async (
    ref: string,
    descriptor: Descriptor | undefined,
    depth: number
  ): Promise<void> => {
    const m = ref === digest ? top : await client.getManifest(repo, ref);
    if (m.parsed.kind === 'index') {
      if (depth >= MAX_INDEX_DEPTH)
        fail('REGISTRY_MANIFEST_INVALID', `index ${ref} nests deeper than ${MAX_INDEX_DEPTH}`);
      for (const child of m.parsed.manifests) await visit(child.digest, child, depth + 1);
      return;
    }
    const { config: configDescriptor, layers } = m.parsed;
    if (descriptor?.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') {
      summary.attachments.push({ manifestDigest: ref, blobs: [configDescriptor, ...layers] });
      return;
    }
    const config = await client.imageConfig(repo, configDescriptor);
    summary.platforms.push({
      manifestDigest: ref,
      platform: descriptor?.platform ? platformName(descriptor) : configPlatform(config, ref),
      configDescriptor,
      config,
      layers,
    });
  };

  await visit(digest, undefined, 0);
  return summary;
}

function configPlatform(config: Record<string, unknown>, fallback: string): string {
  const { os, architecture, variant } = config;
  if (typeof os !== 'string' || typeof architecture !== 'string') return fallback;
  return [os, architecture, typeof variant === 'string' ? variant : undefined]
    .filter(Boolean)
    .join('/');
}

/** The `config` object inside an image configuration (Docker's and OCI's shared part). */
export function runConfig(image: ImagePlatform): Record<string, unknown> {
  const c = image.config.config;
  return isRecord(c) ? c : {};
}
