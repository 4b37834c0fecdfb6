/**
 * The one outgoing HTTP client (src/util/http-client.ts): a body cap enforced while streaming,
 * truncation for error bodies, the inactivity timeout, and a streamed request body.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { openRequest, readCapped, ResponseTooLarge } from '../../../src/util/http-client.js';

function listen(server: Server): Promise<URL> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve(new URL(`http://127.0.0.1:${port}/`));
    });
  });
}

describe('util/http-client', async () => {
  let sent = 0;
  const server = createServer((req, res) => {
    if (req.url === '/big') {
      // Streams far more than any cap, chunk by chunk, without a Content-Length.
      res.writeHead(200);
      const chunk = Buffer.alloc(16 * 1024, 0x61);
      const push = (): void => {
        if (res.destroyed || sent > 64 * 1024 * 1024) return void res.end();
        sent += chunk.length;
        if (res.write(chunk)) setImmediate(push);
        else res.once('drain', push);
      };
      push();
    } else if (req.url === '/silent') {
      // Never answers.
    } else if (req.url === '/echo') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(201, { 'x-length': req.headers['content-length'] ?? '' });
        res.end(Buffer.concat(chunks));
      });
    } else {
      res.writeHead(404);
      res.end('x'.repeat(5000));
    }
  });
  const base = await listen(server);
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('refuses a body past the cap while streaming, without reading it all', async () => {
    const res = await openRequest({ method: 'GET', url: new URL('/big', base), timeoutMs: 5000 });
    assert.equal(res.status, 200);
    await assert.rejects(readCapped(res.body, 100_000), (err) => {
      assert.ok(err instanceof ResponseTooLarge);
      assert.equal(err.limit, 100_000);
      return true;
    });
    assert.ok(
      sent < 64 * 1024 * 1024,
      `the server sent ${sent} bytes: the body was read to its end`
    );
  });

  it('keeps the first bytes of a body past the cap when asked to truncate', async () => {
    const res = await openRequest({ method: 'GET', url: new URL('/x', base), timeoutMs: 5000 });
    assert.equal(res.status, 404);
    const body = await readCapped(res.body, 1024, { truncate: true });
    assert.equal(body.toString(), 'x'.repeat(1024));
  });

  it('gives up on a silent server with the timeout error', async () => {
    await assert.rejects(
      openRequest({ method: 'GET', url: new URL('/silent', base), timeoutMs: 100 }),
      /no answer within 100 ms/
    );
    await assert.rejects(
      openRequest({
        method: 'GET',
        url: new URL('/silent', base),
        timeoutMs: 100,
        timeoutError: (answered) => new Error(`custom ${answered}`),
      }),
      /custom false/
    );
  });

  it('sends a buffer or a re-openable stream with its content-length', async () => {
    for (const body of [
      Buffer.from('hello'),
      { length: 5, open: () => Readable.from([Buffer.from('hel'), Buffer.from('lo')]) },
    ]) {
      const res = await openRequest({
        method: 'PUT',
        url: new URL('/echo', base),
        body,
        timeoutMs: 5000,
      });
      assert.equal(res.status, 201);
      assert.equal(res.headers['x-length'], '5');
      assert.equal((await readCapped(res.body, 5)).toString(), 'hello');
    }
  });
});
