import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { isCountersignError } from '../../src/errors.js';
import { ManualClock } from '../../src/util/clock.js';
import { parseWwwAuthenticate } from '../../src/registry/auth.js';
import { RegistryClient } from '../../src/registry/client.js';
import { MEDIA_TYPES } from '../../src/registry/manifest.js';
import { ImageLayout } from '../helpers/images.js';
import {
  freePort,
  startRegistry,
  startTokenServer,
  type TestRegistry,
  type TokenServer,
} from '../helpers/registry.js';

async function rejectsWith(
  p: Promise<unknown>,
  code: string,
  ...fragments: (string | RegExp)[]
): Promise<Error> {
  try {
    await p;
  } catch (err) {
    assert.ok(isCountersignError(err), `expected a CountersignError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    for (const f of fragments) {
      if (typeof f === 'string')
        assert.ok(
          err.message.includes(f),
          `${JSON.stringify(err.message)} lacks ${JSON.stringify(f)}`
        );
      else assert.match(err.message, f);
    }
    return err;
  }
  assert.fail(`expected ${code}, but it resolved`);
}

describe('RegistryClient against docker-registry 2.8', () => {
  let registry: TestRegistry;
  let layout: ImageLayout;
  let client: RegistryClient;

  before(async () => {
    registry = await startRegistry();
    layout = await ImageLayout.create();
    await layout.build('app', {
      layers: [2048, 4096],
      user: '1000',
      healthcheck: ['CMD-SHELL', 'test -e /data'],
    });
    await layout.build('amd64', { layers: [1024], architecture: 'amd64' });
    await layout.build('arm64', { layers: [1024], architecture: 'arm64' });
    await layout.buildIndex('multi', ['amd64', 'arm64']);
    await layout.push(registry.host, 'app', 'staging/app:oci');
    await layout.push(registry.host, 'app', 'staging/app:docker', { format: 'v2s2' });
    await layout.push(registry.host, 'multi', 'staging/multi:oci');
    await layout.push(registry.host, 'multi', 'staging/multi:docker', { format: 'v2s2' });
    client = new RegistryClient({ url: registry.url, timeoutMs: 5000 });
  });

  after(async () => {
    client?.close();
    await registry?.stop();
    await layout?.remove();
  });

  describe('#resolveTag and #getManifest', () => {
    it('resolves an OCI image manifest to the digest skopeo pushed', async () => {
      const pushed = await layout.descriptor('app');
      const resolved = await client.resolveTag('staging/app', 'oci');
      assert.deepEqual(resolved, {
        digest: pushed.digest,
        mediaType: MEDIA_TYPES.ociManifest,
        size: pushed.size,
      });
      const m = await client.getManifest('staging/app', 'oci');
      assert.equal(m.digest, pushed.digest);
      assert.equal(m.bytes.length, pushed.size);
      assert.equal(m.parsed.kind, 'image');
      assert.equal(m.parsed.kind === 'image' && m.parsed.layers.length, 2);
    });

    it('resolves a Docker schema 2 manifest and fetches it by digest', async () => {
      const resolved = await client.resolveTag('staging/app', 'docker');
      assert.equal(resolved.mediaType, MEDIA_TYPES.dockerManifest);
      const m = await client.getManifest('staging/app', resolved.digest);
      assert.equal(m.digest, resolved.digest);
      assert.equal(m.bytes.length, resolved.size);
      assert.equal(
        m.parsed.kind === 'image' && m.parsed.config.mediaType,
        'application/vnd.docker.container.image.v1+json'
      );
    });

    it('resolves an OCI index as the index, not a platform child', async () => {
      const pushed = await layout.descriptor('multi');
      const resolved = await client.resolveTag('staging/multi', 'oci');
      assert.deepEqual(resolved, {
        digest: pushed.digest,
        mediaType: MEDIA_TYPES.ociIndex,
        size: pushed.size,
      });
      const m = await client.getManifest('staging/multi', 'oci');
      assert.equal(m.parsed.kind, 'index');
      assert.deepEqual(
        m.parsed.kind === 'index' && m.parsed.manifests.map((d) => d.platform?.architecture),
        ['amd64', 'arm64']
      );
    });

    it('resolves a Docker manifest list, which the registry rewrites for a client without the list Accept type', async () => {
      const resolved = await client.resolveTag('staging/multi', 'docker');
      assert.equal(resolved.mediaType, MEDIA_TYPES.dockerManifestList);
      const m = await client.getManifest('staging/multi', 'docker');
      assert.equal(m.digest, resolved.digest);
      // The same request with only schema 2 accepted gets the linux/amd64 child instead.
      const narrow = await rawGet(`${registry.url}/v2/staging/multi/manifests/docker`, {
        accept: MEDIA_TYPES.dockerManifest,
      });
      assert.equal(narrow.headers['content-type'], MEDIA_TYPES.dockerManifest);
      assert.notEqual(sha256(narrow.body), resolved.digest);
    });

    it('says REGISTRY_NOT_FOUND for a tag that does not exist, naming the repository', async () => {
      await rejectsWith(
        client.resolveTag('staging/app', 'nope'),
        'REGISTRY_NOT_FOUND',
        registry.url,
        'staging/app',
        'nope'
      );
      await rejectsWith(
        client.getManifest('staging/none', 'oci'),
        'REGISTRY_NOT_FOUND',
        'staging/none'
      );
    });

    it('refuses names that are not repository names or references', async () => {
      await rejectsWith(client.resolveTag('../etc', 'x'), 'INVALID_NAME');
      await rejectsWith(client.getManifest('staging/app', 'a/b'), 'INVALID_NAME');
    });
  });

  describe('blobs', () => {
    it('streams a blob whose bytes hash to its digest, and reads the image config', async () => {
      const m = await layout.manifest('app');
      const layer = m.layers[1]!;
      const stream = await client.blobStream('staging/app', layer.digest);
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of stream) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      assert.equal(`sha256:${hash.digest('hex')}`, layer.digest);
      assert.equal(size, layer.size);
      const config = await client.imageConfig('staging/app', m.config);
      assert.deepEqual((config.config as { Healthcheck: { Test: string[] } }).Healthcheck.Test, [
        'CMD-SHELL',
        'test -e /data',
      ]);
      assert.equal((config.config as { User: string }).User, '1000');
    });

    it('verifies a blob by digest and size, and reports a wrong size or a missing blob', async () => {
      const layer = (await layout.manifest('app')).layers[0]!;
      const good = await client.verifyBlob('staging/app', layer);
      assert.equal(good.ok, true, good.detail);
      const short = await client.verifyBlob('staging/app', {
        digest: layer.digest,
        size: layer.size - 1,
      });
      assert.equal(short.ok, false);
      assert.match(short.detail, new RegExp(`more than the expected ${layer.size - 1} bytes`));
      const long = await client.verifyBlob('staging/app', {
        digest: layer.digest,
        size: layer.size + 1,
      });
      assert.equal(long.ok, false);
      assert.ok(long.detail.includes(`read ${layer.size} bytes`), long.detail);
      const missing = `sha256:${'0'.repeat(64)}`;
      const gone = await client.verifyBlob('staging/app', { digest: missing, size: 1 });
      assert.equal(gone.ok, false);
      assert.match(gone.detail, /missing from the registry .*BLOB_UNKNOWN/);
    });

    it('knows which blobs and manifests exist', async () => {
      const d = await layout.descriptor('app');
      const layer = (await layout.manifest('app')).layers[0]!;
      assert.deepEqual(await client.hasBlob('staging/app', layer.digest), {
        exists: true,
        size: layer.size,
      });
      assert.deepEqual(await client.hasBlob('staging/app', `sha256:${'1'.repeat(64)}`), {
        exists: false,
      });
      assert.equal(await client.hasManifest('staging/app', d.digest), true);
      assert.equal(await client.hasManifest('staging/app', `sha256:${'2'.repeat(64)}`), false);
    });
  });
});

describe('RegistryClient network failures', () => {
  it('gives a NETWORK error naming registry, repository and operation when nothing listens', async () => {
    const port = await freePort();
    const client = new RegistryClient({
      url: `http://127.0.0.1:${port}`,
      timeoutMs: 1000,
      retries: 1,
    });
    const started = Date.now();
    await rejectsWith(
      client.resolveTag('staging/app', '1.0'),
      'NETWORK',
      `registry http://127.0.0.1:${port} staging/app: resolve tag 1.0: connection refused (ECONNREFUSED) after 2 attempts`
    );
    assert.ok(Date.now() - started < 3000);
    client.close();
  });

  it('times out a registry that accepts connections but never answers', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    const client = new RegistryClient({
      url: `http://127.0.0.1:${port}`,
      timeoutMs: 300,
      retries: 1,
    });
    const started = Date.now();
    try {
      await rejectsWith(
        client.getManifest('staging/app', '1.0'),
        'NETWORK',
        'no response for 300 ms (timeout) after 2 attempts'
      );
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 600 && elapsed < 3000, `took ${elapsed} ms`);
      assert.equal(sockets.length, 2);
    } finally {
      client.close();
      sockets.forEach((s) => s.destroy());
      server.close();
    }
  });

  it('retries a 5xx answer a bounded number of times, then reports it', async () => {
    let hits = 0;
    const server = http.createServer((_req, res) => {
      hits++;
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"UNAVAILABLE","message":"service unavailable"}]}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    const client = new RegistryClient({
      url: `http://127.0.0.1:${port}`,
      timeoutMs: 1000,
      retries: 2,
    });
    try {
      await rejectsWith(
        client.getManifest('staging/app', '1.0'),
        'NETWORK',
        'staging/app: GET manifest 1.0: HTTP 503 UNAVAILABLE: service unavailable after 3 attempts'
      );
      assert.equal(hits, 3);
    } finally {
      client.close();
      server.close();
    }
  });
});

describe('RegistryClient authentication and transport security', () => {
  const user = { username: 'publisher', password: 's3cret pass' };
  let layout: ImageLayout;
  const cleanup: (() => Promise<void> | void)[] = [];

  /** A client closed when the describe ends. */
  const clientFor = (options: ConstructorParameters<typeof RegistryClient>[0]): RegistryClient => {
    const c = new RegistryClient(options);
    cleanup.push(() => c.close());
    return c;
  };
  /**
   * staging/app:1.0 at URL read with a wrong password, then with no credentials: each is
   * REGISTRY_AUTH with its own message.
   */
  const refusesBadCredentials = async (
    url: string,
    messages: { wrongPassword: string; none: string }
  ): Promise<void> => {
    const wrong = clientFor({ url, username: user.username, password: 'wrong' });
    await rejectsWith(
      wrong.resolveTag('staging/app', '1.0'),
      'REGISTRY_AUTH',
      messages.wrongPassword
    );
    const none = clientFor({ url });
    await rejectsWith(none.resolveTag('staging/app', '1.0'), 'REGISTRY_AUTH', messages.none);
  };

  before(async () => {
    layout = await ImageLayout.create();
    await layout.build('app', { layers: [1024] });
  });

  after(async () => {
    for (const c of cleanup.reverse()) await c();
    await layout?.remove();
  });

  it('authenticates with Basic and follows redirects to blob storage without sending Authorization there', async () => {
    const registry = await startRegistry({ basicAuth: user, redirectBlobs: true });
    cleanup.push(() => registry.stop());
    await layout.push(registry.host, 'app', 'staging/app:1.0', { credentials: user });
    const client = clientFor({ url: registry.url, ...user });
    const m = await client.getManifest('staging/app', '1.0');
    assert.equal(m.digest, (await layout.descriptor('app')).digest);
    const layer = (await layout.manifest('app')).layers[0]!;
    const v = await client.verifyBlob('staging/app', layer);
    assert.equal(v.ok, true, v.detail);
    assert.ok(
      registry
        .requests()
        .some((r) => r.method === 'GET' && r.uri.includes(layer.digest) && r.status === 307),
      'the registry redirected the blob read'
    );
    const storageGets = registry.storageRequests.filter(
      (r) => r.method === 'GET' && r.url.includes(layer.digest.slice(7))
    );
    assert.equal(storageGets.length, 1);
    assert.equal(storageGets[0]!.authorization, undefined);
  });

  it('says REGISTRY_AUTH for a wrong password and for missing credentials', async () => {
    const registry = await startRegistry({ basicAuth: user });
    cleanup.push(() => registry.stop());
    await refusesBadCredentials(registry.url, {
      wrongPassword: 'refused the credentials of user "publisher"',
      none: 'requires credentials (Basic) and none are configured',
    });
  });

  it('speaks TLS with a configured CA and explains an unknown one', async () => {
    const registry = await startRegistry({ tls: true });
    cleanup.push(() => registry.stop());
    await layout.push(registry.host, 'app', 'staging/app:1.0');
    const trusting = clientFor({ url: registry.url, ca: registry.caPem! });
    const plain = clientFor({ url: registry.url, retries: 0 });
    assert.equal(
      (await trusting.resolveTag('staging/app', '1.0')).digest,
      (await layout.descriptor('app')).digest
    );
    await rejectsWith(
      plain.resolveTag('staging/app', '1.0'),
      'NETWORK',
      /certificate/,
      'configure the CA that issued the registry certificate'
    );
  });

  describe('token flow', () => {
    let tokens: TokenServer;
    let registry: TestRegistry;

    before(async () => {
      tokens = await startTokenServer({ [user.username]: user.password });
      registry = await startRegistry({ token: tokens });
      await layout.push(registry.host, 'app', 'staging/app:1.0', { credentials: user });
    });

    after(async () => {
      await registry?.stop();
      await tokens?.stop();
    });

    it('answers a Bearer challenge with a token from the realm and caches it per scope', async () => {
      const client = clientFor({ url: registry.url, ...user });
      const before = tokens.requests.length;
      const m = await client.getManifest('staging/app', '1.0');
      assert.equal(m.digest, (await layout.descriptor('app')).digest);
      assert.deepEqual(tokens.requests.slice(before), [
        { scopes: ['repository:staging/app:pull'], user: user.username, granted: true },
      ]);
      const layer = (await layout.manifest('app')).layers[0]!;
      assert.equal((await client.verifyBlob('staging/app', layer)).ok, true);
      await client.resolveTag('staging/app', '1.0');
      assert.equal(
        tokens.requests.length,
        before + 1,
        'one token served every pull of the repository'
      );
    });

    it('fetches a new token once the cached one is about to expire', async () => {
      const clock = new ManualClock('2026-11-20T10:00:00Z');
      const client = clientFor({ url: registry.url, ...user, clock });
      const before = tokens.requests.length;
      await client.resolveTag('staging/app', '1.0');
      clock.advance(280_000); // the realm said expires_in 300; a 10 s margin is kept
      await client.resolveTag('staging/app', '1.0');
      assert.equal(tokens.requests.length, before + 1);
      clock.advance(15_000);
      await client.resolveTag('staging/app', '1.0');
      assert.equal(tokens.requests.length, before + 2);
    });

    it('says REGISTRY_AUTH when the token service refuses the credentials', async () => {
      await refusesBadCredentials(registry.url, {
        wrongPassword: 'the token service refused the credentials (HTTP 401)',
        none: 'the token service refused anonymous access (no credentials are configured) (HTTP 401)',
      });
    });
  });
});

describe('parseWwwAuthenticate', () => {
  it('reads Bearer parameters, quoted and with several scopes', () => {
    assert.deepEqual(
      parseWwwAuthenticate(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push repository:c:pull"'
      ),
      [
        {
          scheme: 'bearer',
          params: {
            realm: 'https://auth.example/token',
            service: 'registry.example',
            scope: 'repository:a/b:pull,push repository:c:pull',
          },
        },
      ]
    );
  });

  it('reads several challenges and unquoted values', () => {
    assert.deepEqual(
      parseWwwAuthenticate('Basic realm="x y", Bearer realm=https://a/t,error=invalid_token'),
      [
        { scheme: 'basic', params: { realm: 'x y' } },
        { scheme: 'bearer', params: { realm: 'https://a/t', error: 'invalid_token' } },
      ]
    );
  });
});

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function rawGet(
  url: string,
  headers: Record<string, string>
): Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}
