/**
 * The two MetadataSources: HTTP(S) against a small local server (statuses, size caps, auth
 * headers, URL shape, TLS with and without the CA), and our storage (a captured scenario written
 * into SQLite verifies exactly as it does from memory).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { HttpMetadataSource, verifyRepository } from '../../../src/client/index.js';
import { StoreMetadataSource } from '../../../src/store/store-source.js';
import { isCountersignError } from '../../../src/errors.js';
import { ensureSelfSignedTls } from '../../../src/server/tls.js';
import { openStorage } from '../../../src/storage/index.js';
import type { Storage } from '../../../src/storage/types.js';
import { parseEnvelope } from '../../../src/tuf/metadata.js';
import { ManualClock, systemClock } from '../../../src/util/clock.js';
import { loadScenario } from '../../helpers/notary-fixtures.js';
import { MemorySource, captureTime, sha256Hex } from './memory-source.js';
import { ParsedMetadata } from '../../../src/notary/parsed.js';

const code = (c: string, re?: RegExp) => (e: unknown) =>
  isCountersignError(e) && e.code === c && (!re || re.test(e.message));

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(String((server.address() as AddressInfo).port)))
  );
}

describe('HttpMetadataSource', () => {
  const seen: IncomingMessage[] = [];
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server = createHttpServer((req, res) => {
    seen.push(req);
    handler(req, res);
  });
  let base = '';
  before(async () => {
    base = `http://127.0.0.1:${await listen(server)}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const answer = (
    status: number,
    body: string | Buffer,
    headers: Record<string, string | number> = {}
  ) => {
    handler = (_req, res) => {
      res.writeHead(status, headers);
      res.end(body);
    };
  };

  it("asks notary's URLs, GUN and role slashes kept, host:port kept", async () => {
    answer(200, '{}');
    const src = new HttpMetadataSource({ server: base + '/prefix/' });
    await src.getCurrent('127.0.0.1:5000/acme/app', 'timestamp', 100);
    await src.getByChecksum('127.0.0.1:5000/acme/app', 'targets/releases', 'ab'.repeat(32), 100);
    await src.getByVersion('127.0.0.1:5000/acme/app', 'root', 3, 100);
    assert.deepEqual(
      seen.slice(-3).map((r) => r.url),
      [
        '/prefix/v2/127.0.0.1:5000/acme/app/_trust/tuf/timestamp.json',
        `/prefix/v2/127.0.0.1:5000/acme/app/_trust/tuf/targets/releases.${'ab'.repeat(32)}.json`,
        '/prefix/v2/127.0.0.1:5000/acme/app/_trust/tuf/3.root.json',
      ]
    );
  });

  it('returns the exact bytes of a 200 and null for a 404', async () => {
    const body = Buffer.from('{"signed":{},"signatures":[]}\u00e9');
    answer(200, body);
    const src = new HttpMetadataSource({ server: base });
    assert.deepEqual(await src.getCurrent('g', 'root', 1000), body);
    answer(404, '{"errors":[]}');
    assert.equal(await src.getCurrent('g', 'root', 1000), null);
  });

  it('turns any other status into a NETWORK error naming it', async () => {
    const src = new HttpMetadataSource({ server: base });
    answer(500, 'oops');
    await assert.rejects(
      src.getCurrent('g', 'timestamp', 10),
      code('NETWORK', /unable to reach trust server at this time: 500/)
    );
    answer(201, '{}');
    await assert.rejects(src.getCurrent('g', 'timestamp', 10), code('NETWORK', /201/));
    answer(401, '{}', { 'WWW-Authenticate': 'Bearer realm="x"' });
    await assert.rejects(src.getCurrent('g', 'timestamp', 10), code('NETWORK', /not authorized/));
  });

  it('refuses a body over the cap: by Content-Length before reading, or while streaming', async () => {
    const src = new HttpMetadataSource({ server: base });
    answer(200, Buffer.alloc(11), { 'Content-Length': 11 });
    await assert.rejects(
      src.getCurrent('g', 'timestamp', 10),
      code('META_TOO_LARGE', /timestamp\.json is 11 bytes, more than the 10/)
    );
    handler = (_req, res) => {
      res.writeHead(200); // chunked, no length
      res.write(Buffer.alloc(6));
      res.end(Buffer.alloc(6));
    };
    await assert.rejects(src.getCurrent('g', 'timestamp', 10), code('META_TOO_LARGE'));
    answer(200, '{"a":"bc"}');
    assert.equal((await src.getCurrent('g', 'timestamp', 10))?.length, 10);
  });

  it('refuses a 200 whose body is not a JSON object as a bad answer, quoting it', async () => {
    const src = new HttpMetadataSource({ server: base });
    answer(200, '<html>proxy login</html>');
    await assert.rejects(
      src.getCurrent('g', 'timestamp', 100),
      code(
        'NETWORK',
        /bad response for \/v2\/g\/_trust\/tuf\/timestamp\.json: <html>proxy login<\/html>/
      )
    );
    answer(200, '');
    await assert.rejects(src.getCurrent('g', 'timestamp', 100), code('NETWORK', /an empty body/));
  });

  it('sends a bearer token or Basic credentials when given', async () => {
    answer(200, '{}');
    await new HttpMetadataSource({ server: base, auth: { bearer: 'tok' } }).getCurrent(
      'g',
      'root',
      10
    );
    assert.equal(seen.at(-1)?.headers.authorization, 'Bearer tok');
    await new HttpMetadataSource({
      server: base,
      auth: { username: 'u', password: 'p:w' },
    }).getCurrent('g', 'root', 10);
    assert.equal(
      seen.at(-1)?.headers.authorization,
      `Basic ${Buffer.from('u:p:w').toString('base64')}`
    );
    await new HttpMetadataSource({ server: base }).getCurrent('g', 'root', 10);
    assert.equal(seen.at(-1)?.headers.authorization, undefined);
  });

  it('reports a server that is not there as NETWORK', async () => {
    const closed = createHttpServer();
    const port = await listen(closed);
    await new Promise<void>((r) => closed.close(() => r()));
    await assert.rejects(
      new HttpMetadataSource({ server: `http://127.0.0.1:${port}` }).getCurrent('g', 'root', 10),
      code('NETWORK', /unable to reach trust server/)
    );
  });

  it('refuses URLs that are not http(s)', () => {
    assert.throws(() => new HttpMetadataSource({ server: 'ftp://x' }), code('USAGE'));
    assert.throws(() => new HttpMetadataSource({ server: 'nope' }), code('USAGE'));
  });
});

describe('HttpMetadataSource over TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'client-tls-'));
  let server: Server;
  let url = '';
  let caFile = '';
  before(async () => {
    const tls = await ensureSelfSignedTls(dir, [], systemClock);
    caFile = tls.caFile;
    server = createHttpsServer(
      { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) },
      (_req, res) => res.end('{"ok":1}')
    );
    url = `https://127.0.0.1:${await listen(server)}`;
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('trusts the server with --ca, and not without', async () => {
    assert.equal(
      (
        await new HttpMetadataSource({ server: url, caFile }).getCurrent('g', 'root', 100)
      )?.toString(),
      '{"ok":1}'
    );
    await assert.rejects(
      new HttpMetadataSource({ server: url }).getCurrent('g', 'root', 100),
      code('NETWORK', /self-signed|unable to verify|issuer/i)
    );
  });

  it('says so when the CA file cannot be read', () => {
    assert.throws(
      () => new HttpMetadataSource({ server: url, caFile: join(dir, 'missing.pem') }),
      code('USAGE', /cannot read the CA file/)
    );
  });
});

describe('StoreMetadataSource', () => {
  let storage: Storage;
  const dir = mkdtempSync(join(tmpdir(), 'client-store-'));
  before(async () => {
    storage = await openStorage({ backend: 'sqlite', path: join(dir, 'db.sqlite') });
  });
  after(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const name of ['delegation', 'root-rotation']) {
    it(`${name}: the captured repository written into storage verifies as it does from memory`, async () => {
      const s = loadScenario(name);
      // capture.json records the command (step) that made each version: replay them in that order.
      const stepOf = (f: object) => (f as { step: number }).step;
      const ordered = s.files
        .filter((f) => f.kind === 'version')
        .sort((a, b) => stepOf(a) - stepOf(b) || a.version - b.version);
      const at = new Date('2026-01-01T00:00:00Z');
      for (const f of ordered) {
        const data = s.bytes(f.path);
        await storage.meta.updateMany(
          s.gun,
          [{ role: f.role, version: f.version, sha256: sha256Hex(data), data }],
          at
        );
      }
      const mem = MemorySource.fromScenario(name);
      const clock = new ManualClock(captureTime(mem));
      const target = name === 'delegation' ? 'v1' : 'v2';
      const fromStore = await verifyRepository({
        source: new StoreMetadataSource(storage.meta, new ParsedMetadata()),
        gun: s.gun,
        clock,
        target,
      });
      const fromMemory = await verifyRepository({ source: mem, gun: s.gun, clock, target });
      assert.equal(fromStore.ok, true, JSON.stringify(fromStore.failures));
      assert.deepEqual(fromStore.roles, fromMemory.roles);
      assert.deepEqual(fromStore.target, fromMemory.target);
      assert.equal(
        fromStore.roles.find((r) => r.role === 'timestamp')?.version,
        parseEnvelope(s.current('timestamp')).version
      );
    });
  }

  it('a GUN not in storage has no trust data', async () => {
    const r = await verifyRepository({
      source: new StoreMetadataSource(storage.meta, new ParsedMetadata()),
      gun: 'example.com/none',
      clock: systemClock,
    });
    assert.deepEqual(
      r.failures.map((f) => f.code),
      ['META_NOT_FOUND']
    );
  });
});
