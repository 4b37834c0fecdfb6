/**
 * For the store tests with a real registry: a TCP proxy in front of docker-registry that can be
 * switched off (an outage the store must survive, on an address that does not change), and
 * images built with umoci, pushed with skopeo and signed into staging by their manifest bytes.
 */
import net from 'node:net';
import type { Storage } from '../../src/storage/types.js';
import type { ImageLayout, ImageSpec } from '../helpers/images.js';
import { StagingRepo } from './fixture.js';

export interface SwitchableProxy {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Refuses every connection from now on and cuts the open ones (keep-alive included). */
  down(): void;
  up(): void;
  stop(): Promise<void>;
}

export async function startProxy(targetHost: string): Promise<SwitchableProxy> {
  const [host, port] = targetHost.split(':') as [string, string];
  let isDown = false;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (isDown) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(port), host);
    open.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: own } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${own}`,
    down() {
      isDown = true;
      for (const s of open) s.destroy();
      open.clear();
    },
    up() {
      isDown = false;
    },
    async stop() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface PushedImage {
  /** `sha256:…` of the manifest (or index). */
  readonly digest: string;
  readonly size: number;
  /** The manifest bytes: what the producer signs. */
  readonly manifest: Buffer;
}

/** Builds image `ref` in the layout and pushes it to `host/repoTag` with skopeo. */
export async function buildAndPush(
  layout: ImageLayout,
  host: string,
  ref: string,
  repoTag: string,
  spec: ImageSpec
): Promise<PushedImage> {
  const d = await layout.build(ref, spec);
  await layout.push(host, ref, repoTag);
  return { digest: d.digest, size: d.size, manifest: await layout.readBlob(d.digest) };
}

/** A compliant image: non-root user, HEALTHCHECK, the required label, one small layer. */
export const GOOD: ImageSpec = {
  layers: [2048],
  user: '1000:1000',
  labels: { 'org.opencontainers.image.source': 'https://example.test/acme/web' },
  healthcheck: ['CMD-SHELL', 'test -e /data/layer-0.bin'],
};

/** Signs `manifest` as tag `tag` into targets/releases of a new staging repository. */
export async function signIntoStaging(
  storage: Storage,
  gun: string,
  manifest: Buffer,
  tag = '1.0'
): Promise<StagingRepo> {
  const repo = await StagingRepo.create(storage, gun);
  await repo.push({ releases: [{ name: tag, bytes: manifest }] });
  return repo;
}
