/**
 * One webhook delivery attempt (src/webhooks/send.ts) against a receiver on loopback: what is
 * sent, 2xx delivered, anything else a failed attempt with its reason, redirects not followed,
 * and a receiver that never answers or trickles costs at most the attempt's timeout.
 */
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendDelivery, type Attempt } from '../../../src/webhooks/send.js';
import { SIGNATURE_HEADER, signBody } from '../../../src/webhooks/signature.js';

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

describe('webhooks/send', () => {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      switch (req.url ?? '') {
        case '/ok':
          return void res.writeHead(204).end();
        case '/fail':
          return void res.writeHead(500).end('broken');
        case '/moved':
          return void res.writeHead(302, { Location: '/ok' }).end();
        case '/silent':
          return; // never answers
        case '/trickle': {
          // Headers at once, then a byte now and then: never quiet for long, never done.
          res.writeHead(200);
          const timer = setInterval(() => res.write('x'), 50);
          res.on('close', () => clearInterval(timer));
          return;
        }
        default:
          return void res.writeHead(404).end();
      }
    });
  });
  let base = '';
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const attempt = (path: string, timeoutMs = 2000): Attempt => ({
    url: `${base}${path}`,
    body: '{"event":"submission.published","n":"ü"}',
    deliveryId: 'd-1',
    event: 'submission.published',
    secret: 'receiver secret',
    timeoutMs,
  });

  it('posts the body with its signature and headers; a 2xx is delivered', async () => {
    const a = attempt('/ok');
    assert.deepEqual(await sendDelivery(a), { ok: true, status: 204, error: null });
    const got = received.at(-1)!;
    assert.equal(got.body, a.body);
    assert.equal(got.headers['content-type'], 'application/json');
    assert.equal(got.headers['content-length'], String(Buffer.byteLength(a.body)));
    assert.equal(got.headers[SIGNATURE_HEADER.toLowerCase()], signBody(a.secret, a.body));
  });

  it('another status is a failed attempt that names it, and a redirect is not followed', async () => {
    assert.deepEqual(await sendDelivery(attempt('/fail')), {
      ok: false,
      status: 500,
      error: 'the receiver answered 500',
    });
    const before = received.length;
    assert.deepEqual(await sendDelivery(attempt('/moved')), {
      ok: false,
      status: 302,
      error: 'the receiver answered 302',
    });
    assert.equal(received.length, before + 1, 'the redirect target was not asked');
  });

  it('a refused connection is a failed attempt with the reason', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const r = await sendDelivery({ ...attempt('/ok'), url: `http://127.0.0.1:${port}/ok` });
    assert.equal(r.ok, false);
    assert.equal(r.status, null);
    assert.match(r.error ?? '', /ECONNREFUSED/);
  });

  it('a receiver that never answers costs the timeout, then fails', async () => {
    const started = performance.now();
    const r = await sendDelivery(attempt('/silent', 300));
    assert.deepEqual(r, {
      ok: false,
      status: null,
      error: 'no answer from the receiver within 300 ms',
    });
    assert.ok(performance.now() - started < 2000);
  });

  it('a receiver that trickles its answer is not read: the attempt ends at its status', async () => {
    const started = performance.now();
    assert.deepEqual(await sendDelivery(attempt('/trickle', 300)), {
      ok: true,
      status: 200,
      error: null,
    });
    assert.ok(performance.now() - started < 2000);
  });
});
