import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { isCountersignError } from '../../src/errors.js';
import { RegistryClient } from '../../src/registry/client.js';
import { checkBlobs, checkManifest } from '../../src/registry/integrity.js';
import { ImageLayout } from '../helpers/images.js';
import { freePort, startRegistry, type TestRegistry } from '../helpers/registry.js';

/** What a signed target says about a manifest: its sha256 (hex) and length. */
function signedFrom(d: { digest: string; size: number }): { sha256Hex: string; length: number } {
  return { sha256Hex: d.digest.slice('sha256:'.length), length: d.size };
}

describe('registry integrity checks against docker-registry 2.8', () => {
  let registry: TestRegistry;
  let layout: ImageLayout;
  let client: RegistryClient;

  before(async () => {
    registry = await startRegistry();
    layout = await ImageLayout.create();
    client = new RegistryClient({ url: registry.url, timeoutMs: 5000 });
  });

  after(async () => {
    client?.close();
    await registry?.stop();
    await layout?.remove();
  });

  /** Builds a fresh image (random layers, so no blob is shared with another test) and pushes it. */
  async function pushImage(
    ref: string,
    repoTag: string,
    layers = [4096, 8192]
  ): Promise<{ digest: string; size: number }> {
    await layout.build(ref, { layers });
    await layout.push(registry.host, ref, repoTag);
    return layout.descriptor(ref);
  }

  describe('checkManifest (registry-manifest)', () => {
    it('passes when the tag serves the signed digest and length', async () => {
      const d = await pushImage('good', 'staging/good:1.0');
      const check = await checkManifest(client, 'staging/good', '1.0', signedFrom(d));
      assert.equal(check.name, 'registry-manifest');
      assert.equal(check.passed, true, check.detail);
      assert.ok(check.detail.includes(d.digest), check.detail);
    });

    it('fails when the tag was re-pushed with different content after signing', async () => {
      const signed = await pushImage('first', 'staging/moved:1.0');
      const repushed = await pushImage('second', 'staging/moved:1.0');
      const check = await checkManifest(client, 'staging/moved', '1.0', signedFrom(signed));
      assert.equal(check.passed, false);
      assert.equal(
        check.detail,
        `staging/moved:1.0 on ${registry.url} resolves to ${repushed.digest} (${repushed.size} bytes) but the signed digest is ${signed.digest} (${signed.size} bytes): the tag was re-pushed after signing`
      );
    });

    it('fails when the signed length differs from the manifest', async () => {
      const d = await pushImage('len', 'staging/len:1.0');
      const check = await checkManifest(client, 'staging/len', '1.0', {
        ...signedFrom(d),
        length: d.size + 1,
      });
      assert.equal(check.passed, false);
      assert.equal(
        check.detail,
        `staging/len@${d.digest} on ${registry.url}: the manifest is ${d.size} bytes but the signed length is ${d.size + 1}`
      );
    });

    it('fails when the tag does not exist', async () => {
      const check = await checkManifest(client, 'staging/good', 'missing', {
        sha256Hex: 'a'.repeat(64),
        length: 10,
      });
      assert.equal(check.passed, false);
      assert.match(check.detail, /staging\/good:missing .*: the tag does not exist/);
    });

    it('passes for an index (the index digest is what is signed)', async () => {
      await layout.build('ia', { layers: [1024], architecture: 'amd64' });
      await layout.build('ib', { layers: [1024], architecture: 'arm64' });
      const d = await layout.buildIndex('idx', ['ia', 'ib']);
      await layout.push(registry.host, 'idx', 'staging/idx:1.0');
      const check = await checkManifest(client, 'staging/idx', '1.0', signedFrom(d));
      assert.equal(check.passed, true, check.detail);
    });
  });

  describe('checkBlobs (registry-blobs)', () => {
    it('passes on a good image, having read the config and every layer', async () => {
      const d = await pushImage('blobs-good', 'staging/blobs-good:1.0', [1024, 2048, 3072]);
      const m = await layout.manifest('blobs-good');
      const check = await checkBlobs(client, 'staging/blobs-good', d.digest);
      assert.equal(check.name, 'registry-blobs');
      assert.equal(check.passed, true, check.detail);
      const bytes = m.config.size + m.layers.reduce((n, l) => n + l.size, 0);
      assert.equal(
        check.detail,
        `staging/blobs-good@${d.digest}: 1 manifest(s), 1 config(s) and 3 layer(s) present and matching their digests (${bytes} blob bytes read)`
      );
      const blobReads = registry
        .requests()
        .filter((r) => r.method === 'GET' && r.uri.startsWith('/v2/staging/blobs-good/blobs/'));
      assert.equal(blobReads.length, 4);
    });

    it('passes on a multi-architecture index in Docker manifest list form, checking every child', async () => {
      await layout.build('la', { layers: [1024, 1024], architecture: 'amd64' });
      await layout.build('lb', { layers: [2048], architecture: 'arm64' });
      await layout.buildIndex('list', ['la', 'lb']);
      await layout.push(registry.host, 'list', 'staging/list:1.0', { format: 'v2s2' });
      const top = await client.resolveTag('staging/list', '1.0');
      assert.equal(top.mediaType, 'application/vnd.docker.distribution.manifest.list.v2+json');
      const check = await checkBlobs(client, 'staging/list', top.digest);
      assert.equal(check.passed, true, check.detail);
      assert.match(check.detail, /: 3 manifest\(s\), 2 config\(s\) and 3 layer\(s\) present/);
    });

    it('fails on a layer corrupted on the registry disk, naming the layer and both digests', async () => {
      const d = await pushImage('corrupt', 'staging/corrupt:1.0', [4096, 4096]);
      const layer = (await layout.manifest('corrupt')).layers[1]!;
      const garbage = randomBytes(layer.size);
      await writeFile(registry.blobPath(layer.digest), garbage);
      const actual = `sha256:${createHash('sha256').update(garbage).digest('hex')}`;

      const check = await checkBlobs(client, 'staging/corrupt', d.digest);
      assert.equal(check.passed, false);
      assert.equal(
        check.detail,
        `staging/corrupt@${d.digest} on ${registry.url}: layer 1: ${layer.digest}: read ${layer.size} bytes hashing to ${actual}, expected ${layer.size} bytes hashing to ${layer.digest}`
      );
      // The manifest itself is intact: only the blob check catches this.
      assert.equal(
        (await checkManifest(client, 'staging/corrupt', '1.0', signedFrom(d))).passed,
        true
      );
    });

    it('fails on a blob truncated on disk, giving the size read', async () => {
      const d = await pushImage('short', 'staging/short:1.0', [4096]);
      const layer = (await layout.manifest('short')).layers[0]!;
      await writeFile(registry.blobPath(layer.digest), randomBytes(100));
      const check = await checkBlobs(client, 'staging/short', d.digest);
      assert.equal(check.passed, false);
      assert.match(
        check.detail,
        new RegExp(
          `layer 0: ${layer.digest}: read 100 bytes hashing to sha256:[a-f0-9]{64}, expected ${layer.size} bytes`
        )
      );
    });

    it('fails on a blob missing from the repository', async () => {
      const d = await pushImage('gone', 'staging/gone:1.0', [1024]);
      const m = await layout.manifest('gone');
      const status = await httpDelete(`${registry.url}/v2/staging/gone/blobs/${m.config.digest}`);
      assert.equal(status, 202);
      const check = await checkBlobs(client, 'staging/gone', d.digest);
      assert.equal(check.passed, false);
      assert.match(
        check.detail,
        new RegExp(`config: ${m.config.digest} is missing from the registry .*BLOB_UNKNOWN`)
      );
    });

    it('fails on a child manifest of an index corrupted on disk, naming its platform', async () => {
      await layout.build('ca', { layers: [1024], architecture: 'amd64' });
      await layout.build('cb', { layers: [1024], architecture: 'arm64' });
      const d = await layout.buildIndex('cidx', ['ca', 'cb']);
      await layout.push(registry.host, 'cidx', 'staging/cidx:1.0');
      const child = await layout.descriptor('cb');
      // Still a well-formed manifest of the same length, so the registry serves it as is.
      const original = (await layout.readBlob(child.digest)).toString('utf8');
      const config = (await layout.manifest('cb')).config.digest;
      const flipped = config.slice(0, -1) + (config.endsWith('0') ? '1' : '0');
      const tampered = Buffer.from(original.replace(config, flipped));
      assert.notEqual(tampered.toString('utf8'), original);
      assert.equal(tampered.length, child.size);
      await writeFile(registry.blobPath(child.digest), tampered);
      const check = await checkBlobs(client, 'staging/cidx', d.digest);
      assert.equal(check.passed, false);
      assert.ok(
        check.detail.includes(
          `manifest linux/arm64 ${child.digest}: the bytes fetched by digest hash to sha256:`
        ),
        check.detail
      );
    });
  });

  it('throws NETWORK (not a failed check) when the registry is down', async () => {
    const down = new RegistryClient({
      url: `http://127.0.0.1:${await freePort()}`,
      timeoutMs: 500,
      retries: 0,
    });
    try {
      await assert.rejects(
        checkManifest(down, 'staging/good', '1.0', { sha256Hex: 'a'.repeat(64), length: 1 }),
        (err) => {
          assert.ok(isCountersignError(err, 'NETWORK'));
          assert.match(err.message, /staging\/good: GET manifest 1\.0: connection refused/);
          return true;
        }
      );
      await assert.rejects(checkBlobs(down, 'staging/good', `sha256:${'a'.repeat(64)}`), (err) =>
        isCountersignError(err, 'NETWORK')
      );
    } finally {
      down.close();
    }
  });
});

function httpDelete(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'DELETE' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}
