/**
 * What the submission page shows about the image itself: per platform its layers, size, user,
 * labels and health check, read from the staging registry by the signed digest (content
 * addressed, so what is read is exactly what was signed and verified). The store records the
 * checks' verdicts, not the image configuration, so the page asks the registry — the same code
 * the hygiene checks use (`inspectImage`, `runConfig`, `healthcheckOf`). Answers are kept by
 * digest (they cannot change); a registry that does not answer leaves the page with the checks'
 * own details and a note saying why.
 */
import { healthcheckOf } from '../policy/hygiene.js';
import { inspectImage, runConfig } from '../registry/image.js';
import { repositoryForGun } from '../registry/names.js';
import { registryFor, type Registry } from '../store/registry/hooks.js';
import type { RegistryEndpoint } from '../store/registry/settings.js';

export interface PlatformView {
  readonly platform: string;
  readonly manifestDigest: string;
  /** Config and layers as the registry stores them (compressed). */
  readonly compressedBytes: number;
  readonly layers: readonly { readonly digest: string; readonly size: number }[];
  readonly user: string;
  readonly labels: readonly (readonly [string, string])[];
  readonly healthcheck: readonly string[] | null;
}

export type ImageView =
  | { readonly ok: true; readonly platforms: readonly PlatformView[] }
  | { readonly ok: false; readonly reason: string };

/** Inspections kept (each is a few KiB); the oldest goes first. */
const MAX_CACHED = 200;
/** A page waits at most this long per registry request. */
const TIMEOUT_MS = 10_000;

export class ImageInspector {
  private readonly registry: Registry | undefined;
  private readonly cache = new Map<string, ImageView>();

  constructor(staging: RegistryEndpoint | undefined) {
    this.registry = staging && registryFor(staging, TIMEOUT_MS);
  }

  /** null when no staging registry is configured (nothing to read the image from). */
  async inspect(gun: string, digest: string): Promise<ImageView | null> {
    const registry = this.registry;
    if (registry === undefined) return null;
    const key = `${gun}@${digest}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    let view: ImageView;
    try {
      const repo = repositoryForGun(gun, registry.repositoryPrefix);
      const summary = await inspectImage(registry.client, repo, digest);
      view = { ok: true, platforms: summary.platforms.map(platformView) };
    } catch (err) {
      // Not kept: the registry may answer next time.
      return { ok: false, reason: err instanceof Error ? err.message : String(err) };
    }
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, view);
    return view;
  }

  close(): void {
    this.registry?.client.close();
  }
}

function platformView(p: Parameters<typeof runConfig>[0]): PlatformView {
  const run = runConfig(p);
  const labels = typeof run.Labels === 'object' && run.Labels !== null ? run.Labels : {};
  return {
    platform: p.platform,
    manifestDigest: p.manifestDigest,
    compressedBytes: [p.configDescriptor, ...p.layers].reduce((n, d) => n + d.size, 0),
    layers: p.layers.map((l) => ({ digest: l.digest, size: l.size })),
    user: typeof run.User === 'string' && run.User !== '' ? run.User : '(none: root)',
    labels: Object.entries(labels as Record<string, unknown>)
      .filter((e): e is [string, string] => typeof e[1] === 'string')
      .sort((a, b) => a[0].localeCompare(b[0])),
    healthcheck: healthcheckOf(p) ?? null,
  };
}
