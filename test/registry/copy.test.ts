import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RegistryClient } from '../../src/registry/client.js';
import { copyImage } from '../../src/registry/copy.js';
import { checkBlobs } from '../../src/registry/integrity.js';
import { ImageLayout, skopeoDigest } from '../helpers/images.js';
import {
  startRegistry,
  startTokenServer,
  type TestRegistry,
  type TokenServer,
} from '../helpers/registry.js';

describe('copyImage (promotion) against docker-registry 2.8', () => {
  let layout: ImageLayout;
  let blobsOf: (ref: string) => Promise<string[]>;

  before(async () => {
    layout = await ImageLayout.create();
    await layout.build('app', { layers: [4096, 8192], user: '1000' });
    await layout.build('amd64', { layers: [2048], architecture: 'amd64' });
    await layout.build('arm64', { layers: [2048], architecture: 'arm64' });
    await layout.buildIndex('multi', ['amd64', 'arm64']);
    blobsOf = async (ref) => {
      const m = await layout.manifest(ref);
      return [m.config.digest, ...m.layers.map((l) => l.digest)];
    };
  });

  after(async () => {
    await layout?.remove();
  });

  /** Copies DIGEST from staging/acme/web at SOURCE to public/acme/web at TARGET, tagged 1.0. */
  const copyWeb = (digest: string, source: RegistryClient, target = source) =>
    copyImage({
      source: { client: source, repo: 'staging/acme/web' },
      target: { client: target, repo: 'public/acme/web' },
      digest,
      tag: '1.0',
    });

  describe('within one registry', () => {
    let registry: TestRegistry;
    let client: RegistryClient;

    before(async () => {
      registry = await startRegistry();
      client = new RegistryClient({ url: registry.url });
      await layout.push(registry.host, 'app', 'staging/acme/web:1.0');
    });

    after(async () => {
      client?.close();
      await registry?.stop();
    });

    it('mounts every blob instead of uploading it, then tags; skopeo sees the same digest', async () => {
      const d = await layout.descriptor('app');
      const before = registry.requests().length;
      const report = await copyWeb(d.digest, client);
      const blobs = await blobsOf('app');
      assert.deepEqual([...report.blobs.mounted].sort(), [...blobs].sort());
      assert.deepEqual(report.blobs.uploaded, []);
      assert.deepEqual(report.manifests.pushed, [d.digest]);
      assert.equal(report.tag, '1.0');

      const seen = registry.requests().slice(before);
      const mounts = seen.filter(
        (r) =>
          r.method === 'POST' &&
          r.uri.includes('mount=') &&
          r.uri.includes('from=staging%2Facme%2Fweb')
      );
      assert.equal(mounts.length, blobs.length);
      assert.ok(mounts.every((r) => r.status === 201));
      assert.equal(
        seen.filter(
          (r) => (r.method === 'PUT' || r.method === 'PATCH') && r.uri.includes('/blobs/uploads/')
        ).length,
        0
      );

      assert.equal(await skopeoDigest(registry.host, 'public/acme/web:1.0'), d.digest);
      assert.equal((await checkBlobs(client, 'public/acme/web', d.digest)).passed, true);
    });

    it('is idempotent: a second run finds everything in place and mounts nothing', async () => {
      const d = await layout.descriptor('app');
      const before = registry.requests().length;
      const report = await copyWeb(d.digest, client);
      assert.deepEqual(report.blobs.mounted, []);
      assert.deepEqual(report.blobs.uploaded, []);
      assert.equal(report.blobs.present.length, (await blobsOf('app')).length);
      assert.deepEqual(report.manifests, { pushed: [], present: [d.digest] });
      assert.equal(
        registry
          .requests()
          .slice(before)
          .filter((r) => r.method === 'POST').length,
        0
      );
      assert.equal(await skopeoDigest(registry.host, 'public/acme/web:1.0'), d.digest);
    });
  });

  describe('across two registries', () => {
    let staging: TestRegistry;
    let pub: TestRegistry;
    let source: RegistryClient;
    let target: RegistryClient;

    before(async () => {
      [staging, pub] = await Promise.all([startRegistry(), startRegistry()]);
      source = new RegistryClient({ url: staging.url });
      target = new RegistryClient({ url: pub.url });
      await layout.push(staging.host, 'app', 'staging/acme/web:1.0');
      await layout.push(staging.host, 'multi', 'staging/acme/multi:2.0', { format: 'v2s2' });
    });

    after(async () => {
      source?.close();
      target?.close();
      await staging?.stop();
      await pub?.stop();
    });

    it('streams every blob to the other registry, and a re-run uploads nothing', async () => {
      const d = await layout.descriptor('app');
      const blobs = await blobsOf('app');
      const first = await copyWeb(d.digest, source, target);
      assert.deepEqual([...first.blobs.uploaded].sort(), [...blobs].sort());
      assert.deepEqual(first.blobs.mounted, []);
      const uploads = pub
        .requests()
        .filter((r) => r.method === 'PUT' && r.uri.includes('/v2/public/acme/web/blobs/uploads/'));
      assert.equal(uploads.filter((r) => r.status === 201).length, blobs.length);
      assert.equal(await skopeoDigest(pub.host, 'public/acme/web:1.0'), d.digest);
      assert.equal((await checkBlobs(target, 'public/acme/web', d.digest)).passed, true);

      const count = pub.requests().length;
      const second = await copyWeb(d.digest, source, target);
      assert.deepEqual(second.blobs.uploaded, []);
      assert.equal(second.blobs.present.length, blobs.length);
      assert.deepEqual(second.manifests.pushed, []);
      assert.equal(
        pub
          .requests()
          .slice(count)
          .filter((r) => r.method === 'POST').length,
        0
      );
    });

    it('copies a manifest list with its children first and the tag last', async () => {
      const top = await source.resolveTag('staging/acme/multi', '2.0');
      const list = await source.getManifest('staging/acme/multi', top.digest);
      assert.equal(list.parsed.kind, 'index');
      const children =
        list.parsed.kind === 'index' ? list.parsed.manifests.map((m) => m.digest) : [];
      const count = pub.requests().length;
      const report = await copyImage({
        source: { client: source, repo: 'staging/acme/multi' },
        target: { client: target, repo: 'public/acme/multi' },
        digest: top.digest,
        tag: '2.0',
      });
      assert.deepEqual(report.manifests.pushed, [...children, top.digest]);
      const puts = pub
        .requests()
        .slice(count)
        .filter((r) => r.method === 'PUT' && r.uri.startsWith('/v2/public/acme/multi/manifests/'))
        .map((r) => decodeURIComponent(r.uri.slice('/v2/public/acme/multi/manifests/'.length)));
      assert.deepEqual(puts, [...children, top.digest, '2.0']);
      assert.equal(await skopeoDigest(pub.host, 'public/acme/multi:2.0'), top.digest);
      const check = await checkBlobs(target, 'public/acme/multi', top.digest);
      assert.equal(check.passed, true, check.detail);
    });
  });

  describe('within one registry behind the token flow', () => {
    const user = { username: 'store', password: 'promote' };
    let tokens: TokenServer;
    let registry: TestRegistry;
    let client: RegistryClient;

    before(async () => {
      tokens = await startTokenServer({ [user.username]: user.password });
      registry = await startRegistry({ token: tokens });
      client = new RegistryClient({ url: registry.url, ...user });
      await layout.push(registry.host, 'app', 'staging/acme/web:1.0', { credentials: user });
    });

    after(async () => {
      client?.close();
      await registry?.stop();
      await tokens?.stop();
    });

    it('mounts with a token scoped to push the target and pull the source', async () => {
      const d = await layout.descriptor('app');
      const report = await copyWeb(d.digest, client);
      assert.equal(report.blobs.mounted.length, (await blobsOf('app')).length);
      assert.ok(
        tokens.requests.some(
          (r) =>
            r.granted &&
            r.scopes.includes('repository:public/acme/web:pull,push') &&
            r.scopes.includes('repository:staging/acme/web:pull')
        ),
        JSON.stringify(tokens.requests)
      );
      assert.equal((await client.resolveTag('public/acme/web', '1.0')).digest, d.digest);
    });
  });
});
