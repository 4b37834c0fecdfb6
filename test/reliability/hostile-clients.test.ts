/**
 * Slow and hostile clients against `countersign serve`: each is cut off by a limit
 * (CONNECTION_LIMITS in src/cli/serve.ts, the upload caps in src/http/multipart.ts), and another
 * client's GETs go on being answered meanwhile. Latency during each attack is reported as a
 * diagnostic next to the idle figure (speed is measured, not asserted: `npm run bench`).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { Agent, request } from 'node:http';
import { startCountersign, type StartedCountersign } from '../helpers/countersign.js';
import { NotaryClient } from '../helpers/notary-cli.js';
import { sleep } from '../helpers/proc.js';
import { CONNECTION_LIMITS } from '../../src/cli/serve.js';

const GUN = 'example.com/reliability/hostile';
/** Short pace limits and a small upload budget, so slow bodies fill the budget in seconds. */
const PACE = { bodyGraceMs: 3_000, minBodyBytesPerSecond: 500 };
const BUDGET_BYTES = 64 * 1024 * 1024;

describe('slow and hostile clients', () => {
  let server: StartedCountersign;
  let url: URL;
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });

  const getTimestamp = (): Promise<{ status: number; ms: number }> =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: `/v2/${GUN}/_trust/tuf/timestamp.json`,
          agent,
          timeout: 10_000,
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
        }
      );
      req.on('timeout', () => req.destroy(new Error('GET timed out')));
      req.on('error', reject);
      req.end();
    });

  /** `n` GETs from four keep-alive connections: every status, and the p99 in ms. */
  async function probe(n: number): Promise<{ statuses: number[]; p99: number }> {
    const results: { status: number; ms: number }[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (results.length < n) results.push(await getTimestamp());
      })
    );
    const ms = results.map((r) => r.ms).sort((a, b) => a - b);
    return {
      statuses: [...new Set(results.map((r) => r.status))],
      p99: ms[Math.floor(ms.length * 0.99)]!,
    };
  }

  let idleP99 = 0;
  before(async () => {
    server = await startCountersign({
      tls: false,
      config: { countersign: { limits: { ...PACE, maxUploadBytesInFlight: BUDGET_BYTES } } },
    });
    url = new URL(server.sut.url);
    await using client = await NotaryClient.create({ server: server.sut });
    await client.init(GUN, { publish: true });
    idleP99 = (await probe(400)).p99;
  });
  after(async () => {
    agent.destroy();
    await server?.stop();
  });

  it('slowloris: 300 connections sending headers a byte a second are cut off at the headers timeout; other GETs are answered meanwhile', async (t) => {
    const sockets: Socket[] = [];
    const closedAt: number[] = [];
    const start = performance.now();
    for (let i = 0; i < 300; i++) {
      const s = connect(Number(url.port), url.hostname);
      s.on('error', () => {});
      s.on('close', () => closedAt.push(performance.now() - start));
      s.write(`GET /v2/${GUN}/_trust/tuf/timestamp.json HTTP/1.1\r\nHost: x\r\nX-Slow: `);
      sockets.push(s);
    }
    const drip = setInterval(() => {
      for (const s of sockets) if (!s.destroyed) s.write('a');
    }, 1_000);
    try {
      const during = await probe(400);
      assert.deepEqual(during.statuses, [200]);
      t.diagnostic(
        `GET p99 idle ${idleP99.toFixed(1)} ms, during slowloris ${during.p99.toFixed(1)} ms`
      );
      const limit = CONNECTION_LIMITS.headersTimeoutMs + CONNECTION_LIMITS.checkIntervalMs + 10_000;
      while (closedAt.length < sockets.length && performance.now() - start < limit)
        await sleep(250);
      assert.equal(
        closedAt.length,
        sockets.length,
        `${closedAt.length} of 300 closed by the server`
      );
      assert.ok(
        Math.min(...closedAt) >= CONNECTION_LIMITS.headersTimeoutMs - 1_000,
        'none was cut before its time'
      );
    } finally {
      clearInterval(drip);
      for (const s of sockets) s.destroy();
    }
    assert.deepEqual((await probe(50)).statuses, [200]);
  });

  it('headers over 16 KiB are refused with 431, and the server goes on', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: '/v2/',
          headers: { 'x-big': 'a'.repeat(64 * 1024) },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 431);
    assert.deepEqual((await probe(50)).statuses, [200]);
  });

  it('slow bodies: uploads that declare 30 MiB and send a byte a second are cut off with 408 after the grace, and an honest publish queued behind them goes through', async (t) => {
    // Six 30 MiB reservations against a 64 MiB budget: two are admitted at a time, the rest
    // wait. Without a pace the admitted two would hold the budget for the whole request timeout
    // (5 minutes) and the honest publish would end in 503 BUSY after uploadWaitMs (30 s).
    const slow = Array.from({ length: 6 }, () => {
      const s = connect(Number(url.port), url.hostname);
      const start = performance.now();
      let answer = '';
      const done = new Promise<{ status: number; closedAfterMs: number }>((resolve) => {
        s.on('data', (d) => (answer += d.toString('latin1')));
        s.on('error', () => {});
        s.on('close', () =>
          resolve({
            status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0),
            closedAfterMs: performance.now() - start,
          })
        );
      });
      s.write(
        `POST /v2/${GUN}/_trust/tuf/ HTTP/1.1\r\nHost: x\r\n` +
          `Content-Type: multipart/form-data; boundary=x\r\nContent-Length: ${30 * 2 ** 20}\r\n\r\n` +
          '--x\r\nContent-Disposition: form-data; name="files"; filename="targets"\r\n\r\n'
      );
      return { socket: s, done };
    });
    const drip = setInterval(() => {
      for (const { socket } of slow) if (!socket.destroyed) socket.write(' ');
    }, 1_000);
    let honestMs = 0;
    try {
      await sleep(500);
      await using client = await NotaryClient.create({ server: server.sut });
      const honestStart = performance.now();
      const [published, during] = await Promise.all([
        client
          .init(`${GUN}-honest`, { publish: true, check: false })
          .finally(() => (honestMs = performance.now() - honestStart)),
        probe(200),
      ]);
      assert.equal(published.code, 0, `honest publish failed: ${published.stderr}`);
      assert.deepEqual(during.statuses, [200]);
      const results = await Promise.all(slow.map((c) => c.done));
      t.diagnostic(
        `GET p99 idle ${idleP99.toFixed(1)} ms, during slow bodies ${during.p99.toFixed(1)} ms; ` +
          `honest publish after ${(honestMs / 1000).toFixed(1)} s; slow bodies closed after ` +
          results.map((r) => (r.closedAfterMs / 1000).toFixed(1)).join(', ') +
          ' s'
      );
      for (const r of results) {
        assert.equal(r.status, 408, 'each slow body is answered 408 SLOW_BODY');
        assert.ok(r.closedAfterMs >= PACE.bodyGraceMs - 500, 'none was cut before its grace');
      }
      assert.ok(honestMs < 30_000, `the honest publish waited ${honestMs} ms`);
    } finally {
      clearInterval(drip);
      for (const { socket } of slow) socket.destroy();
    }
    assert.deepEqual((await probe(50)).statuses, [200]);
  });

  for (const framing of ['content-length', 'chunked'] as const) {
    it(`a 1 GiB upload (${framing}) is refused with 413 long before 1 GiB is read; other GETs go on`, async (t) => {
      let sent = 0;
      let answered = 0;
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            method: 'POST',
            path: `/v2/${GUN}/_trust/tuf/`,
            headers: {
              'content-type': 'multipart/form-data; boundary=x',
              ...(framing === 'content-length'
                ? { 'content-length': String(2 ** 30) }
                : { 'transfer-encoding': 'chunked' }),
            },
          },
          (res) => {
            answered = sent;
            res.resume();
            resolve(res.statusCode ?? 0);
          }
        );
        req.on('error', (e) => (answered ? undefined : reject(e)));
        const chunk = Buffer.concat([
          Buffer.from(
            '--x\r\nContent-Disposition: form-data; name="files"; filename="targets"\r\n\r\n'
          ),
          Buffer.alloc(1024 * 1024 - 80, 0x20),
        ]);
        const pump = () => {
          while (!answered && sent < 2 ** 30) {
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          if (!answered) req.end();
        };
        pump();
      });
      assert.equal(status, 413);
      t.diagnostic(`answered after ${(answered / 2 ** 20).toFixed(0)} MiB were sent`);
      assert.ok(answered < 2 ** 30 / 4, `${answered} bytes sent before the answer`);
      assert.deepEqual((await probe(50)).statuses, [200]);
    });
  }
});
