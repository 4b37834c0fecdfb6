/**
 * Webhooks (docs/webhooks.md) and a CLI following jobs, with Countersign running as operators
 * run it (`countersign serve` with TLS), docker-registry 2.8, skopeo and the real notary CLI as
 * the producer. A receiver started here (node:http on 127.0.0.1) checks every delivery's
 * `X-Countersign-Signature` itself, with node:crypto's HMAC over the bytes it received.
 *
 *   1. the publisher signs an image's manifest with the notary CLI; `countersign submit` follows
 *      the verification job (progress on stderr): submission.created, submission.verified;
 *   2. with the receiver down, `countersign approve` still publishes at once; the deliveries wait
 *      in the log with the error, survive a server restart, and arrive when the receiver is back:
 *      review.recorded, submission.published;
 *   3. a revocation: target.revoked; a tag re-pushed after signing: submission.verification_failed,
 *      then a rejection: review.recorded, submission.rejected;
 *   4. the staging roles the publisher holds the keys of are inside the (wide) warning window:
 *      metadata.expiring.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Cleanup } from '../helpers/cleanup.js';
import type { ImageSpec } from '../helpers/images.js';
import {
  startStoreFixture,
  type HttpsOptions,
  type StoreFixture,
  type StoreUser,
} from '../helpers/store-fixture.js';

const STAGING = 'staging.store.test/acme/web';
const PUBLIC = 'store.test/acme/web';
const SECRET = 'the interop receiver secret';
const IMAGE: ImageSpec = { layers: [4096, 2048], user: 'app' };

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly raw: Buffer;
  readonly body: {
    event: string;
    id: string;
    time: string;
    submission?: { id: string; state: string };
    repository?: { gun: string; role?: string; keyHolder?: string };
  };
}

/** A webhook receiver on a fixed port that can go down and come back on the same URL. */
class Receiver {
  readonly got: Received[] = [];
  private server: Server | undefined;
  port = 0;

  async up(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        this.got.push({ headers: req.headers, raw, body: JSON.parse(raw.toString('utf8')) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/countersign`;
  }

  events(): string[] {
    return this.got.map((r) => r.body.event);
  }

  /** Waits (bounded) until `pred` holds for what has arrived. */
  async waitFor(what: string, pred: (got: readonly Received[]) => boolean): Promise<void> {
    for (let i = 0; i < 300; i++) {
      if (pred(this.got)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`the receiver did not get ${what}; it got ${JSON.stringify(this.events())}`);
  }
}

/** The receiver's own check: HMAC-SHA256 of the received bytes, compared in constant time. */
function validSignature(r: Received): boolean {
  const header = r.headers['x-countersign-signature'];
  if (typeof header !== 'string') return false;
  const expected = Buffer.from(
    `sha256=${createHmac('sha256', SECRET).update(r.raw).digest('hex')}`
  );
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const has = (event: string, id?: string) => (got: readonly Received[]) =>
  got.some((r) => r.body.event === event && (id === undefined || r.body.submission?.id === id));

describe('store webhooks and CLI jobs with the notary CLI and a registry', () => {
  const cleanup = new Cleanup();
  const receiver = new Receiver();
  let f: StoreFixture;
  let submissionId: string;

  const api = (path: string, o: HttpsOptions<StoreUser> = {}) => f.https(`/api/v1${path}`, o);
  const deliveries = async (state?: string) => {
    const r = await api(`/webhooks/deliveries${state ? `?state=${state}` : ''}`, {
      user: 'admin',
    });
    assert.equal(r.status, 200, r.body.toString());
    return JSON.parse(r.body.toString()).deliveries as {
      event: string;
      eventId: string;
      state: string;
      attempts: number;
      lastError?: string;
    }[];
  };

  before(async () => {
    await receiver.up();
    cleanup.defer(() => receiver.down());
    f = await startStoreFixture(cleanup, {
      name: 'store-webhooks',
      registry: 'staging-and-public',
      countersign: {
        scheduler: { warnWithin: '3650d' },
        webhooks: [
          {
            url: receiver.url,
            secret: SECRET,
            events: [
              'submission.created',
              'submission.verified',
              'submission.verification_failed',
              'review.recorded',
              'submission.published',
              'submission.rejected',
              'target.revoked',
              'metadata.expiring',
            ],
          },
        ],
        webhookDelivery: { firstRetry: '1s', maxRetryDelay: '2s', timeout: '2s' },
      },
    });
  });
  after(() => cleanup.run());

  it('the notary CLI signs; countersign submit follows the verification job; created and verified arrive signed', async () => {
    await f.signImageIntoStaging({
      gun: STAGING,
      repoTag: 'staging/acme/web:1.0',
      tag: '1.0',
      spec: IMAGE,
    });

    const r = await f.store('acme', ['submit', `${STAGING}:1.0`]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const m = /^submission (\S+) verified$/m.exec(r.stdout);
    assert.ok(m, r.stdout);
    submissionId = m[1]!;
    assert.match(r.stderr, /^job job_[0-9a-f]{32} \(verify\) started$/m);
    assert.match(r.stderr, /^verify: blobs 3\/3, \d+(\.\d)? kB$/m);

    await receiver.waitFor('created and verified', (got) =>
      ['submission.created', 'submission.verified'].every((e) => has(e, submissionId)(got))
    );
    for (const got of receiver.got) {
      assert.ok(validSignature(got), `bad signature on ${got.raw.toString()}`);
      assert.match(String(got.headers['x-countersign-delivery']), /^[0-9a-f-]{36}$/);
      assert.equal(got.headers['x-countersign-event'], got.body.event);
      assert.equal(got.headers['content-type'], 'application/json');
    }
    const verified = receiver.got.find((g) => g.body.event === 'submission.verified')!;
    assert.equal(verified.body.submission!.state, 'verified');
    assert.ok(!Number.isNaN(Date.parse(verified.body.time)));
  });

  it('receiver down: approve publishes at once; the deliveries wait, survive a restart and arrive when it is back', async () => {
    await receiver.down();
    const started = Date.now();
    const r = await f.store('rev1', ['approve', '--note', 'looks right', '--', submissionId]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, new RegExp(`^submission ${submissionId} published$`, 'm'));
    assert.match(r.stderr, /^copy: blobs 3\/3, /m);
    // Nothing waited for the receiver (its timeout is 2 s, its retries 1–2 s apart).
    assert.ok(Date.now() - started < 30_000);

    // Attempted and refused, kept pending with the reason.
    for (let i = 0; i < 100; i++) {
      const pending = await deliveries('pending');
      if (pending.length >= 2 && pending.every((p) => p.attempts >= 1 && p.lastError)) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    const pending = await deliveries('pending');
    assert.deepEqual(pending.map((p) => p.event).sort(), [
      'review.recorded',
      'submission.published',
    ]);
    for (const p of pending) assert.match(p.lastError ?? '', /ECONNREFUSED/);
    // Only the receiver can read the log: a reviewer cannot.
    assert.equal((await api('/webhooks/deliveries', { user: 'rev1' })).status, 403);

    await f.restart();
    const before = receiver.got.length;
    await receiver.up();
    await receiver.waitFor('review.recorded and published after the restart', (got) =>
      ['review.recorded', 'submission.published'].every((e) =>
        got.slice(before).some((g) => g.body.event === e)
      )
    );
    for (const got of receiver.got.slice(before)) assert.ok(validSignature(got));
    const done = (await deliveries('delivered')).filter((d) =>
      ['review.recorded', 'submission.published'].includes(d.event)
    );
    assert.equal(done.length, 2);
    for (const d of done) assert.ok(d.attempts >= 2, `${d.event} took ${d.attempts} attempts`);
  });

  it('revoked, verification_failed and rejected arrive; then metadata.expiring for the client-held roles', async () => {
    const revoke = await api(`/repositories/${PUBLIC}/revocations`, {
      method: 'POST',
      user: 'admin',
      body: { tag: '1.0', reason: 'pulled' },
    });
    assert.equal(revoke.status, 200, revoke.body.toString());
    await receiver.waitFor('target.revoked', has('target.revoked'));

    await f.layout.build('other', { ...IMAGE, layers: [1024] });
    await f.layout.push(f.registry.host, 'other', 'staging/acme/web:1.0');
    const failed = await f.store('acme', ['submit', `${STAGING}:1.0`]);
    assert.equal(failed.code, 1, failed.stderr + failed.stdout);
    const second = /^submission (\S+) verification_failed$/m.exec(failed.stdout)![1]!;
    const reject = await f.store('rev1', ['reject', '--note', 'tag moved', '--', second]);
    assert.equal(reject.code, 0, reject.stderr + reject.stdout);
    await receiver.waitFor('verification_failed and rejected', (got) =>
      ['submission.verification_failed', 'submission.rejected'].every((e) => has(e, second)(got))
    );
    await receiver.waitFor('metadata.expiring', has('metadata.expiring'));
    const expiring = receiver.got.filter((g) => g.body.event === 'metadata.expiring');
    assert.ok(
      expiring.some(
        (g) => g.body.repository?.gun === STAGING && g.body.repository.role === 'targets'
      ),
      JSON.stringify(expiring.map((g) => g.body.repository))
    );
    assert.ok(expiring.every((g) => g.body.repository?.keyHolder !== 'server'));

    // Every event of the chain arrived, each signed, and no event twice.
    assert.deepEqual([...new Set(receiver.events())].sort(), [
      'metadata.expiring',
      'review.recorded',
      'submission.created',
      'submission.published',
      'submission.rejected',
      'submission.verification_failed',
      'submission.verified',
      'target.revoked',
    ]);
    for (const got of receiver.got) assert.ok(validSignature(got));
    const ids = receiver.got.map((g) => g.body.id);
    assert.equal(new Set(ids).size, ids.length, 'an event was delivered twice');
  });
});
