/**
 * A publisher producing a staging repository the way the store's users do: an image built with
 * umoci and pushed with skopeo to the staging registry, its manifest bytes signed as a tag into
 * `targets/releases` of the staging GUN with the real notary CLI (snapshot key on the server,
 * a releases delegation whose key the publisher imports).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageLayout, ImageSpec } from './images.js';
import type { NotaryClient } from './notary-cli.js';
import { makeDelegationCert, type SigningCertFiles } from './tls.js';

export interface SignedStagingImage {
  /** `sha256:…` of the manifest: the signed target's digest. */
  readonly digest: string;
  /** The manifest bytes the publisher signed. */
  readonly manifest: Buffer;
}

export interface StagingImageOptions {
  readonly notary: NotaryClient;
  readonly layout: ImageLayout;
  /** The registry's `host:port`. */
  readonly registryHost: string;
  /** A scratch directory for the manifest file and the delegation key. */
  readonly work: string;
  readonly gun: string;
  /** Where the image goes in the registry, e.g. `staging/acme/web:1.0`. */
  readonly repoTag: string;
  readonly tag: string;
  readonly spec: ImageSpec;
}

export async function signImageIntoStaging(o: StagingImageOptions): Promise<SignedStagingImage> {
  const ref = o.repoTag.replace(/[^A-Za-z0-9]/g, '-');
  const d = await o.layout.build(ref, o.spec);
  await o.layout.push(o.registryHost, ref, o.repoTag);
  const manifest = await o.layout.readBlob(d.digest);
  const file = join(o.work, `${ref}.manifest.json`);
  writeFileSync(file, manifest);
  await delegateReleases(o.notary, o.work, o.gun);
  await o.notary.add(o.gun, o.tag, file, { roles: ['targets/releases'], publish: true });
  return { digest: d.digest, manifest };
}

/**
 * Initialises GUN with NOTARY's CLI, lets the server hold its snapshot key, delegates
 * targets/releases to a fresh openssl-made certificate (made in WORK) and imports its key.
 */
export async function delegateReleases(
  notary: NotaryClient,
  work: string,
  gun: string
): Promise<SigningCertFiles> {
  const releases = await makeDelegationCert(work, {
    name: `${gun.replace(/[^A-Za-z0-9]/g, '-')}-releases`,
  });
  await notary.init(gun, { publish: true });
  await notary.keyRotate(gun, 'snapshot', { serverManaged: true });
  await notary.delegationAdd(gun, 'targets/releases', [releases.certFile], { publish: true });
  await notary.keyImport(releases.keyFile, { role: 'targets/releases', gun });
  return releases;
}
