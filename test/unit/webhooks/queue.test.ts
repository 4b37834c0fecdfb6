/**
 * The webhook queue on SQLite with an injected clock and a recording sender: audit entries
 * become signed deliveries for the receivers that want them, failures wait out the backoff
 * schedule, and the queue never holds more than maxQueued pending deliveries (the audit log
 * keeps the rest until there is room).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from '../../../src/storage/sqlite.js';
import type { Storage } from '../../../src/storage/types.js';
import { ManualClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/log.js';
import { WebhookDispatcher } from '../../../src/webhooks/dispatcher.js';
import type { Attempt, AttemptResult } from '../../../src/webhooks/send.js';
import type { WebhookSettings } from '../../../src/webhooks/settings.js';

const SECRET = 'queue test secret, long enough';
const dir = mkdtempSync(join(tmpdir(), 'countersign-webhooks-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function settings(over: Partial<WebhookSettings> = {}): WebhookSettings {
  return {
    receivers: [
      {
        url: 'http://127.0.0.1:9/all',
        events: ['submission.created', 'review.recorded'],
        secret: SECRET,
      },
      { url: 'http://127.0.0.1:9/reviews', events: ['review.recorded'], secret: SECRET },
    ],
    retry: { firstRetryMs: 10_000, maxDelayMs: 40_000, maxAttempts: 4 },
    timeoutMs: 1000,
    maxQueued: 100,
    keepFinished: 1000,
    ...over,
  };
}

function setup(
  over: Partial<WebhookSettings> = {},
  answer: (a: Attempt) => AttemptResult = () => ({ ok: true, status: 204, error: null })
) {
  const storage: Storage = openSqlite(join(dir, `q-${++n}.sqlite`));
  const clock = new ManualClock('2030-01-01T00:00:00Z');
  const sent: Attempt[] = [];
  const d = new WebhookDispatcher({
    storage,
    settings: settings(over),
    clock,
    log: silentLogger,
    send: async (a) => {
      sent.push(a);
      return answer(a);
    },
  });
  const audit = (action: string, id = 'sub1') =>
    storage.audit.append({
      at: clock.now(),
      actor: 'acme',
      action,
      subject: 'staging.store.test/acme/web:1.0',
      details: {
        submission: id,
        gun: 'staging.store.test/acme/web',
        tag: '1.0',
        state: 'submitted',
      },
    });
  return { storage, clock, sent, d, audit };
}

describe('webhook queue', () => {
  it('starts after the newest audit entry, then sends each event to the receivers that want it, signed', async () => {
    const { storage, sent, d, audit } = setup();
    await audit('submission.created', 'old');
    await d.tick(); // the first pass only places the cursor: history is not replayed
    assert.equal(sent.length, 0);
    await audit('submission.created');
    await audit('submission.waived'); // no event
    await audit('submission.reviewed');
    const r = await d.tick();
    assert.equal(r.relayed, 3);
    assert.deepEqual(sent.map((a) => `${new URL(a.url).pathname} ${a.event}`).sort(), [
      '/all review.recorded',
      '/all submission.created',
      '/reviews review.recorded',
    ]);
    for (const a of sent) {
      // Signed when sent, with the receiver's secret (the HTTP test checks the header itself).
      assert.equal(a.secret, SECRET);
      const body = JSON.parse(a.body) as { event: string; id: string; submission: { id: string } };
      assert.equal(body.event, a.event);
      assert.equal(body.submission.id, 'sub1');
      assert.match(body.id, /^audit-\d+$/);
    }
    // Both receivers of review.recorded got the same event id and body, under their own delivery ids.
    const reviews = sent.filter((a) => a.event === 'review.recorded');
    assert.equal(reviews[0]!.body, reviews[1]!.body);
    assert.notEqual(reviews[0]!.deliveryId, reviews[1]!.deliveryId);
    const log = await storage.webhooks.list({ limit: 10 });
    assert.deepEqual(
      log.map((x) => x.state),
      ['delivered', 'delivered', 'delivered']
    );
    await d.tick();
    assert.equal(sent.length, 3, 'nothing is sent twice');
    await storage.close();
  });

  it('retries on the backoff schedule of the injected clock, then gives up', async () => {
    const { storage, clock, sent, d, audit } = setup({}, () => ({
      ok: false,
      status: 503,
      error: 'the receiver answered 503',
    }));
    await d.tick();
    await audit('submission.created');
    await d.tick();
    assert.equal(sent.length, 1);
    const waits = [10_000, 20_000, 40_000];
    for (const [i, wait] of waits.entries()) {
      clock.advance(wait - 1);
      await d.tick();
      assert.equal(sent.length, i + 1, `not before ${wait} ms`);
      clock.advance(1);
      await d.tick();
      assert.equal(sent.length, i + 2, `attempt ${i + 2} after ${wait} ms`);
    }
    const [row] = await storage.webhooks.list({ limit: 1 });
    assert.equal(row!.state, 'failed');
    assert.equal(row!.attempts, 4);
    assert.equal(row!.lastStatus, 503);
    clock.advance(3_600_000);
    await d.tick();
    assert.equal(sent.length, 4, 'a failed delivery is not tried again');
    await storage.close();
  });

  it('holds at most maxQueued pending deliveries; the rest wait in the audit log, none lost', async () => {
    let up = false;
    const { storage, clock, sent, d, audit } = setup({ maxQueued: 2 }, () =>
      up
        ? { ok: true, status: 200, error: null }
        : { ok: false, status: null, error: 'ECONNREFUSED' }
    );
    await d.tick();
    for (let i = 0; i < 5; i++) await audit('submission.created', `s${i}`);
    const r = await d.tick();
    assert.equal(r.relayed, 2);
    assert.equal((await storage.webhooks.list({ state: 'pending', limit: 100 })).length, 2);
    clock.advance(10_000);
    await d.tick();
    assert.equal((await storage.webhooks.list({ limit: 100 })).length, 2, 'still only two queued');
    up = true;
    for (let i = 0; i < 4; i++) {
      clock.advance(40_000);
      await d.tick();
    }
    const delivered = (await storage.webhooks.list({ state: 'delivered', limit: 100 }))
      .map((x) => (JSON.parse(x.body) as { submission: { id: string } }).submission.id)
      .sort();
    assert.deepEqual(delivered, ['s0', 's1', 's2', 's3', 's4']);
    assert.ok(sent.length >= 5);
    await storage.close();
  });
});
