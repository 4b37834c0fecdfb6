/**
 * The global bound on upload bytes in flight (issue 20: ten concurrent 99 MiB uploads took RSS
 * from 199 MB to 1 GB). In process over a real socket, with a small budget: concurrent uploads
 * over the bound wait their turn and never hold more than the budget; one that cannot get room
 * within `uploadWaitMs` gets 503 BUSY with Retry-After; room comes back when an upload ends.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { RETRY_AFTER_SECONDS, UploadBudget } from '../../src/http/upload-budget.js';
import { isCountersignError } from '../../src/errors.js';
import { multipart, startTestApp, tuf, type TestApp } from '../helpers/app.js';

const BUDGET = 1024 * 1024;
const PART = 400 * 1024;

function post(port: number, gun: string, body: Buffer, contentType: string) {
  return new Promise<{ status: number; headers: Record<string, unknown>; text: string }>(
    (resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: tuf(gun),
          headers: { 'Content-Type': contentType, 'Content-Length': body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            })
          );
        }
      );
      req.on('error', reject);
      req.end(body);
    }
  );
}

/** An app with the BUDGET upload bound and UPLOADWAITMS, served on a loopback port until `close`. */
async function listenWithBudget(
  uploadWaitMs: number
): Promise<{ t: TestApp; port: number; close: () => Promise<void> }> {
  const t = await startTestApp({
    countersign: { limits: { maxUploadBytesInFlight: BUDGET, uploadWaitMs } },
  });
  const server = createServer(t.app.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const close = async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await t.close();
  };
  return { t, port: (server.address() as AddressInfo).port, close };
}

describe('upload budget', () => {
  let t: TestApp;
  let port: number;
  let close: () => Promise<void>;
  before(async () => ({ t, port, close } = await listenWithBudget(400)));
  after(() => close());

  it('eight concurrent uploads over the bound all get their answer; never more than the budget in flight', async () => {
    // Each body is ~400 KiB of not-JSON: read whole, then refused with 400 (its bytes held until then).
    const bodies = Array.from({ length: 8 }, () => multipart({ targets: Buffer.alloc(PART, 'x') }));
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, t.app.notary.uploads.reserved);
    }, 1);
    const answers = await Promise.all(
      bodies.map((b, i) => post(port, `example.com/budget/many-${i}`, b.body, b.contentType))
    );
    clearInterval(sampler);
    // uploadWaitMs is 400 ms: on a busy machine some may time out; all others are read and refused.
    for (const a of answers)
      assert.ok(a.status === 400 || a.status === 503, `${a.status} ${a.text}`);
    assert.ok(answers.some((a) => a.status === 400));
    assert.ok(peak > 0 && peak <= BUDGET, `peak ${peak}`);
    assert.equal(t.app.notary.uploads.reserved, 0);
  });

  it('an upload that cannot get room in time gets 503 BUSY with Retry-After, and room returns', async () => {
    // A client that declares 900 KiB and sends only the headers holds 900 KiB of the budget.
    const staller = connect(port, '127.0.0.1');
    await new Promise<void>((r) => staller.once('connect', () => r()));
    staller.write(
      `POST ${tuf('example.com/budget/stall')} HTTP/1.1\r\nHost: x\r\n` +
        `Content-Type: multipart/form-data; boundary=b\r\nContent-Length: ${900 * 1024}\r\n\r\n`
    );
    for (let i = 0; i < 200 && t.app.notary.uploads.reserved === 0; i++)
      await new Promise((r) => setTimeout(r, 5));
    assert.equal(t.app.notary.uploads.reserved, 900 * 1024);
    const b = multipart({ targets: Buffer.alloc(PART, 'y') });
    const started = performance.now();
    const refused = await post(port, 'example.com/budget/waits', b.body, b.contentType);
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.headers['retry-after'], String(RETRY_AFTER_SECONDS));
    assert.equal(JSON.parse(refused.text).errors[0].code, 'BUSY');
    assert.ok(performance.now() - started >= 350, 'it waited for room first');
    staller.destroy(); // the stalled upload ends: its bytes are given back
    for (let i = 0; i < 200 && t.app.notary.uploads.reserved !== 0; i++)
      await new Promise((r) => setTimeout(r, 5));
    assert.equal(t.app.notary.uploads.reserved, 0);
    const after = await post(port, 'example.com/budget/waits', b.body, b.contentType);
    assert.equal(after.status, 400, after.text);
    assert.equal(JSON.parse(after.text).errors[0].code, 'MALFORMED_JSON');
  });
});

async function holdHeaders(port: number, gun: string, length: number) {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.on('error', () => {});
  socket.write(
    `POST ${tuf(gun)} HTTP/1.1\r\nHost: x\r\n` +
      `Content-Type: multipart/form-data; boundary=b\r\nContent-Length: ${length}\r\n\r\n`
  );
  return socket;
}

describe('upload budget: clients that leave while waiting', () => {
  let t: TestApp;
  let port: number;
  let close: () => Promise<void>;
  before(async () => ({ t, port, close } = await listenWithBudget(5_000)));
  after(() => close());

  it('gives back the room of a client that disconnected before its turn', async () => {
    const until = async (want: number) => {
      for (let i = 0; i < 400 && t.app.notary.uploads.reserved !== want; i++)
        await new Promise((r) => setTimeout(r, 5));
      return t.app.notary.uploads.reserved;
    };
    const holder = await holdHeaders(port, 'example.com/budget/holder', 900 * 1024);
    assert.equal(await until(900 * 1024), 900 * 1024);
    const leaver = await holdHeaders(port, 'example.com/budget/leaver', 500 * 1024);
    await new Promise((r) => setTimeout(r, 50)); // queued behind the holder
    leaver.destroy();
    await new Promise((r) => setTimeout(r, 50));
    holder.destroy(); // the leaver's turn comes: it must not keep its 500 KiB
    assert.equal(await until(0), 0);
  });
});

describe('UploadBudget', () => {
  it('admits in arrival order, always admits a lone upload, and times waiters out with BUSY', async () => {
    const budget = new UploadBudget({ maxBytes: 100, maxWaitMs: 50 });
    const big = await budget.acquire(500); // over the budget, but nothing else is in flight
    assert.equal(budget.reserved, 500);
    const order: string[] = [];
    const first = budget.acquire(60).then((r) => (order.push('first'), r));
    const second = budget.acquire(30).then((r) => (order.push('second'), r));
    big();
    const [r1, r2] = await Promise.all([first, second]);
    assert.deepEqual(order, ['first', 'second']);
    assert.equal(budget.reserved, 90);
    await assert.rejects(budget.acquire(20), (e) => isCountersignError(e, 'BUSY'));
    r1();
    r1(); // giving back twice changes nothing
    assert.equal(budget.reserved, 30);
    r2();
    assert.equal(budget.reserved, 0);
  });
});
