import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { RegistryClient } from '../../src/registry/client.js';
import { copyImage } from '../../src/registry/copy.js';
import { checkBlobs } from '../../src/registry/integrity.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const BLOB_BYTES = 256 * 1024 * 1024;
/** Far below the blob: holding it whole would need at least BLOB_BYTES of buffers. */
const MAX_BUFFER_GROWTH = 128 * 1024 * 1024;

/** A deterministic pseudo-random stream (AES-CTR over zeros), made on the fly. */
function bigStream(): Readable {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 0));
  const chunk = Buffer.alloc(1024 * 1024);
  let left = BLOB_BYTES;
  return new Readable({
    read() {
      if (left === 0) {
        this.push(null);
        return;
      }
      const n = Math.min(chunk.length, left);
      left -= n;
      this.push(cipher.update(chunk.subarray(0, n)));
    },
  });
}

/** Runs `fn` while sampling Buffer memory; returns the largest growth seen. */
async function peakBufferGrowth(fn: () => Promise<unknown>): Promise<number> {
  const base = process.memoryUsage().arrayBuffers;
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
  }, 5);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage().arrayBuffers - base);
}

describe('large blobs are streamed, not held in memory', () => {
  let staging: TestRegistry;
  let pub: TestRegistry;
  let source: RegistryClient;
  let target: RegistryClient;
  let layer: { mediaType: string; digest: string; size: number };
  let manifestDigest: string;

  before(async () => {
    [staging, pub] = await Promise.all([startRegistry(), startRegistry()]);
    source = new RegistryClient({ url: staging.url });
    target = new RegistryClient({ url: pub.url });
    const hash = createHash('sha256');
    for await (const c of bigStream()) hash.update(c as Buffer);
    layer = {
      mediaType: 'application/vnd.oci.image.layer.v1.tar',
      digest: `sha256:${hash.digest('hex')}`,
      size: BLOB_BYTES,
    };
    const configBytes = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: {},
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
      })
    );
    const config = {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: `sha256:${createHash('sha256').update(configBytes).digest('hex')}`,
      size: configBytes.length,
    };
    await source.uploadBlob('staging/big', config, async () => Readable.from([configBytes]));
    await source.uploadBlob('staging/big', layer, async () => bigStream());
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config,
        layers: [layer],
      })
    );
    manifestDigest = await source.putManifest(
      'staging/big',
      '1.0',
      manifest,
      'application/vnd.oci.image.manifest.v1+json'
    );
  });

  after(async () => {
    source?.close();
    target?.close();
    await staging?.stop();
    await pub?.stop();
  });

  it('verifies a 256 MiB layer with bounded memory', async () => {
    let ok = false;
    const growth = await peakBufferGrowth(async () => {
      ok = (await source.verifyBlob('staging/big', layer)).ok;
    });
    assert.equal(ok, true);
    assert.ok(growth < MAX_BUFFER_GROWTH, `buffers grew by ${growth} bytes`);
  });

  it('copies it to another registry with bounded memory, and the copy verifies', async () => {
    const growth = await peakBufferGrowth(() =>
      copyImage({
        source: { client: source, repo: 'staging/big' },
        target: { client: target, repo: 'public/big' },
        digest: manifestDigest,
        tag: '1.0',
      })
    );
    assert.ok(growth < MAX_BUFFER_GROWTH, `buffers grew by ${growth} bytes`);
    const check = await checkBlobs(target, 'public/big', manifestDigest);
    assert.equal(check.passed, true, check.detail);
  });
});
