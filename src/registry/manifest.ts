/**
 * Manifest wire formats: Docker image manifest schema 2, Docker manifest list, OCI image
 * manifest and OCI index. Parsed into two shapes (image, index) after checking every descriptor,
 * so integrity code never touches raw JSON.
 */
import { fail } from '../errors.js';
import { isDigest } from './digest.js';
import { parseJson } from '../canonical/parse.js';

export const MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

const IMAGE_TYPES: readonly string[] = [MEDIA_TYPES.dockerManifest, MEDIA_TYPES.ociManifest];
const INDEX_TYPES: readonly string[] = [MEDIA_TYPES.dockerManifestList, MEDIA_TYPES.ociIndex];

/**
 * Without every type here the registry may answer a manifest list with the linux/amd64 child
 * (distribution rewrites for old clients), and the digest would not be the one signed.
 */
export const MANIFEST_ACCEPT = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.dockerManifestList,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerManifest,
].join(', ');

/** Docker's layers that live outside the registry (Windows base layers). */
const FOREIGN_LAYER_TYPES = [
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
];

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface ImageManifest {
  kind: 'image';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
}

export type Manifest = ImageManifest | ImageIndex;

export function isIndexType(mediaType: string): boolean {
  return INDEX_TYPES.includes(mediaType);
}

export function isImageType(mediaType: string): boolean {
  return IMAGE_TYPES.includes(mediaType);
}

export function isForeignLayer(d: Descriptor): boolean {
  return FOREIGN_LAYER_TYPES.includes(d.mediaType);
}

/** `linux/arm64/v8`, or the digest when the descriptor names no platform. */
export function platformName(d: Descriptor): string {
  const p = d.platform;
  if (!p) return d.digest;
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

function invalid(message: string): never {
  fail('REGISTRY_MANIFEST_INVALID', message);
}

/**
 * Parses manifest bytes. The media type comes from the JSON's own `mediaType` when present,
 * else from the Content-Type the registry sent (OCI manifests may omit the field); the two must
 * agree when both are known manifest types.
 */
export function parseManifest(bytes: Uint8Array, contentType?: string): Manifest {
  let json: unknown;
  try {
    json = parseJson(Buffer.from(bytes).toString('utf8'));
  } catch {
    invalid('manifest is not valid JSON');
  }
  if (!isRecord(json)) invalid('manifest is not a JSON object');
  if (json.schemaVersion !== 2) {
    invalid(`unsupported manifest schemaVersion ${JSON.stringify(json.schemaVersion)}`);
  }
  const declared = typeof json.mediaType === 'string' ? json.mediaType : undefined;
  const header = contentType?.split(';')[0]?.trim();
  const known = (t?: string): t is string => t !== undefined && (isImageType(t) || isIndexType(t));
  if (known(declared) && known(header) && declared !== header) {
    invalid(`manifest declares ${declared} but was served as ${header}`);
  }
  const mediaType = known(declared) ? declared : known(header) ? header : inferType(json);
  if (isIndexType(mediaType)) {
    if (!Array.isArray(json.manifests)) invalid('index has no manifests array');
    return {
      kind: 'index',
      mediaType,
      manifests: json.manifests.map((m, i) => parseDescriptor(m, `manifests[${i}]`)),
    };
  }
  if (!Array.isArray(json.layers)) invalid('image manifest has no layers array');
  return {
    kind: 'image',
    mediaType,
    config: parseDescriptor(json.config, 'config'),
    layers: json.layers.map((l, i) => parseDescriptor(l, `layers[${i}]`)),
  };
}

function inferType(json: Record<string, unknown>): string {
  if (Array.isArray(json.manifests)) return MEDIA_TYPES.ociIndex;
  if (isRecord(json.config)) return MEDIA_TYPES.ociManifest;
  invalid('manifest has no known media type');
}

function parseDescriptor(value: unknown, where: string): Descriptor {
  if (!isRecord(value)) invalid(`${where} is not a descriptor object`);
  const { mediaType, digest, size, platform, annotations, urls } = value;
  if (typeof mediaType !== 'string') invalid(`${where}.mediaType must be a string`);
  if (!isDigest(digest)) invalid(`${where}.digest ${JSON.stringify(digest)} is not a valid digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    invalid(`${where}.size must be a non-negative integer`);
  }
  const d: Descriptor = { mediaType, digest, size };
  if (
    isRecord(platform) &&
    typeof platform.os === 'string' &&
    typeof platform.architecture === 'string'
  ) {
    d.platform = { os: platform.os, architecture: platform.architecture };
    if (typeof platform.variant === 'string') d.platform.variant = platform.variant;
  }
  if (isRecord(annotations)) {
    d.annotations = Object.fromEntries(
      Object.entries(annotations).filter((e): e is [string, string] => typeof e[1] === 'string')
    );
  }
  if (Array.isArray(urls)) d.urls = urls.filter((u): u is string => typeof u === 'string');
  return d;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
