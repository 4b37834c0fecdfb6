/**
 * The publisher's step of the store's healthcheck-run interop tests: a busybox image (built by
 * test/sandbox/busybox-images.ts, nothing pulled) that sleeps as user `app` and whose HEALTHCHECK
 * runs a shell probe, pushed into the store fixture's staging registry and its manifest signed
 * into staging with the notary CLI.
 */
import { buildBusyboxImage } from '../sandbox/busybox-images.js';
import type { StoreFixture } from './store-fixture.js';

/** Pushes the image to REPOTAG (`staging/…:tag`) and signs its manifest as TAG into GUN. */
export async function signBusyboxIntoStaging(
  f: StoreFixture,
  o: { gun: string; repoTag: string; tag: string; probe: string }
): Promise<void> {
  // The name inside the local image layout only; the registry sees REPOTAG.
  const local = 'busybox';
  const d = await buildBusyboxImage(f.layout, local, {
    entrypoint: ['/bin/sleep', '1000'],
    user: 'app',
    healthcheck: { Test: ['CMD-SHELL', o.probe] },
  });
  await f.layout.push(f.registry.host, local, o.repoTag);
  await f.signIntoStaging(o.gun, o.tag, await f.layout.readBlob(d.digest), {
    file: 'manifest.json',
  });
}
