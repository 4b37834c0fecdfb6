/**
 * The CLI's store API client (src/cli/store-client.ts) against a loopback server: JSON in and
 * out with Basic credentials, the API's errors with Retry-After, and what it says when the
 * server cannot be reached or goes quiet.
 */
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StoreApiError, StoreClient } from '../../../src/cli/store-client.js';
import { isCountersignError } from '../../../src/errors.js';

describe('cli/store-client', () => {
  let seen: { method?: string; url?: string; headers: IncomingHttpHeaders; body: string } = {
    headers: {},
    body: '',
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen = {
        ...(req.method ? { method: req.method } : {}),
        ...(req.url ? { url: req.url } : {}),
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      if (req.url?.startsWith('/prefix/api/v1/busy')) {
        res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': '17' });
        return void res.end('{"error":{"code":"too_many_attempts","message":"wait"}}');
      }
      if (req.url?.startsWith('/prefix/api/v1/html')) return void res.writeHead(502).end('<h1>bad');
      if (req.url?.startsWith('/prefix/api/v1/silent')) return; // never answers
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ echoed: seen.body === '' ? null : JSON.parse(seen.body) }));
    });
  });
  let base = '';
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prefix`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const client = (timeoutMs?: number) =>
    new StoreClient({
      server: base,
      username: 'rev1',
      password: 'secret',
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });

  it('sends JSON with Basic credentials under the prefix and returns the JSON answer', async () => {
    const answer = await client().post<{ echoed: unknown }>('/submissions', { gun: 'a/b' });
    assert.deepEqual(answer, { echoed: { gun: 'a/b' } });
    assert.equal(seen.method, 'POST');
    assert.equal(seen.url, '/prefix/api/v1/submissions');
    assert.equal(
      seen.headers.authorization,
      `Basic ${Buffer.from('rev1:secret').toString('base64')}`
    );
    assert.equal(seen.headers['content-type'], 'application/json');
    const got = await client().get<{ echoed: unknown }>('/submissions', { state: 'approved' });
    assert.deepEqual(got, { echoed: null });
    assert.equal(seen.url, '/prefix/api/v1/submissions?state=approved');
  });

  it("turns the API's error into a StoreApiError with Retry-After", async () => {
    await assert.rejects(client().get('/busy'), (err: unknown) => {
      assert.ok(err instanceof StoreApiError);
      assert.equal(err.status, 429);
      assert.equal(err.apiCode, 'too_many_attempts');
      assert.equal(err.retryAfterSeconds, 17);
      return true;
    });
    await assert.rejects(client().get('/html'), /answered 502: <h1>bad/);
  });

  it('says which server it cannot reach, and when the server went quiet', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const unreachable = new StoreClient({
      server: `http://127.0.0.1:${port}`,
      username: 'u',
      password: 'p',
    });
    await assert.rejects(unreachable.get('/submissions'), (err: unknown) => {
      assert.ok(isCountersignError(err, 'NETWORK'));
      assert.match(
        err.message,
        new RegExp(`cannot reach http://127.0.0.1:${port}: .*ECONNREFUSED`)
      );
      return true;
    });
    await assert.rejects(
      client(200).get('/silent'),
      /cannot reach http:\/\/127\.0\.0\.1:\d+: nothing from the server for 200 ms \(--timeout\)/
    );
  });
});
