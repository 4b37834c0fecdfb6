/**
 * The contract of the two background queues (src/storage/work-types.ts, migration 6) on a fresh
 * storage: the webhook queue's relay, bound, claims and log, and the jobs. Part of
 * `storageContract`, so both engines run it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEntry, Storage } from '../../src/storage/types.js';
import type { NewDelivery, StoredJob } from '../../src/storage/work-types.js';

const T = Date.UTC(2026, 0, 2, 3, 4, 5);

function delivery(n: number, url = 'http://receiver.test/a', createdAt = T + n): NewDelivery {
  return { id: `d${n}`, url, event: 'test.event', eventId: `e${n}`, body: `{"n":${n}}`, createdAt };
}

/** Two receivers per audit entry, with the entry's id as the event id. */
const twoEach = (e: AuditEntry): NewDelivery[] =>
  ['a', 'b'].map((r) => ({ ...delivery(e.id, `http://receiver.test/${r}`), id: `${r}${e.id}` }));

function job(id: string, heartbeatAt = T): StoredJob {
  return {
    id,
    kind: 'verify',
    owner: 'acme',
    submission: null,
    state: 'running',
    progress: {},
    result: null,
    error: null,
    createdAt: T,
    updatedAt: T,
    heartbeatAt,
    finishedAt: null,
  };
}

export function workQueuesContract(storage: () => Storage): void {
  const audit = (n: number): Promise<AuditEntry> =>
    storage().audit.append({
      at: new Date(T),
      actor: 'acme',
      action: 'test.action',
      subject: `s${n}`,
      details: {},
    });

  describe('webhook queue', () => {
    it('relays from the newest entry on, skips a (url, event id) already there, stops at the bound', async () => {
      const q = storage().webhooks;
      await audit(1);
      assert.deepEqual(await q.relayAudit(twoEach, { limit: 10, maxPending: 5 }), {
        read: 0,
        enqueued: 0,
        full: false,
      });
      const [e2] = [await audit(2), await audit(3), await audit(4)];
      assert.ok(await q.enqueue([{ ...delivery(e2.id, 'http://receiver.test/a'), id: 'x' }], 5));
      // Entry 2 adds only b (a is there), entry 3 adds two: four pending; entry 4 would make six.
      assert.deepEqual(await q.relayAudit(twoEach, { limit: 10, maxPending: 5 }), {
        read: 2,
        enqueued: 3,
        full: true,
      });
      assert.equal(await q.enqueue([delivery(90), delivery(91)], 5), false, 'full: nothing');
      assert.ok(await q.enqueue([delivery(92)], 5));
      assert.equal((await q.list({ state: 'pending', limit: 100 })).length, 5);
      // The cursor waited before entry 4.
      const done = await q.claim(T + 1000, 1, 100);
      for (const d of done) {
        await q.finish(d.id, {
          state: 'delivered',
          at: T,
          nextAttemptAt: T,
          status: 204,
          error: null,
        });
      }
      assert.deepEqual(await q.relayAudit(twoEach, { limit: 1, maxPending: 5 }), {
        read: 1,
        enqueued: 2,
        full: false,
      });
      const pending = await q.list({ state: 'pending', limit: 100 });
      assert.deepEqual(pending.map((d) => d.id).sort(), ['a4', 'b4']);
    });

    it('claims due deliveries once, for a lease; records outcomes; lists newest first; prunes', async () => {
      const q = storage().webhooks;
      assert.ok(
        await q.enqueue(
          [1, 2, 3, 4, 5].map((n) => delivery(n)),
          100
        )
      );
      // Two claimers at once never get the same delivery.
      const [x, y] = await Promise.all([q.claim(T + 10, 1000, 3), q.claim(T + 10, 1000, 3)]);
      const claimed = [...x, ...y].map((d) => d.id).sort();
      assert.deepEqual(claimed, ['d1', 'd2', 'd3', 'd4', 'd5']);
      assert.ok([...x, ...y].every((d) => d.attempts === 1 && d.nextAttemptAt === T + 1010));
      assert.deepEqual(await q.claim(T + 10, 1000, 10), [], 'leased');
      await q.finish('d1', {
        state: 'delivered',
        at: T + 20,
        nextAttemptAt: T + 20,
        status: 200,
        error: null,
      });
      await q.finish('d2', {
        state: 'failed',
        at: T + 20,
        nextAttemptAt: T + 20,
        status: null,
        error: 'refused',
      });
      await q.finish('d3', {
        state: 'pending',
        at: T + 20,
        nextAttemptAt: T + 500,
        status: 503,
        error: 'busy',
      });
      const [d3] = await q.claim(T + 1009, 1000, 10);
      assert.equal(d3!.id, 'd3', 'due again at its retry time, before the lapsed leases');
      assert.equal(d3!.attempts, 2);
      assert.deepEqual(
        (await q.claim(T + 1010, 1000, 10)).map((d) => d.id).sort(),
        ['d4', 'd5'],
        'a lapsed lease is due again'
      );
      const all = await q.list({ limit: 10 });
      assert.deepEqual(
        all.map((d) => d.id),
        ['d5', 'd4', 'd3', 'd2', 'd1']
      );
      const d2 = all[3]!;
      assert.equal(d2.state, 'failed');
      assert.equal(d2.lastError, 'refused');
      assert.equal(d2.lastStatus, null);
      assert.equal(d2.lastAttemptAt, T + 20);
      assert.deepEqual(
        (await q.list({ limit: 2, before: T + 4 })).map((d) => d.id),
        ['d3', 'd2']
      );
      assert.deepEqual(
        (await q.list({ state: 'delivered', limit: 10 })).map((d) => d.id),
        ['d1']
      );
      assert.equal(await q.prune(1), 1, 'the older of two finished goes');
      assert.deepEqual(
        (await q.list({ limit: 10 })).map((d) => d.id),
        ['d5', 'd4', 'd3', 'd2']
      );
    });
  });

  describe('jobs', () => {
    it('reads back what was stored and changed; a finished or swept job changes no more', async () => {
      const jobs = storage().jobs;
      await jobs.insert(job('j1'));
      await jobs.insert(job('j2', T - 5000));
      assert.deepEqual(await jobs.get('j1'), job('j1'));
      assert.equal(await jobs.get('nothing'), null);
      assert.ok(await jobs.update('j1', { at: T + 1, submission: 'sub1', progress: { blobs: 1 } }));
      assert.ok(await jobs.update('j1', { at: T + 2, state: 'succeeded', result: { ok: true } }));
      assert.deepEqual(await jobs.get('j1'), {
        ...job('j1'),
        submission: 'sub1',
        state: 'succeeded',
        progress: { blobs: 1 },
        result: { ok: true },
        updatedAt: T + 2,
        heartbeatAt: T + 2,
        finishedAt: T + 2,
      });
      assert.equal(await jobs.update('j1', { at: T + 3, progress: { blobs: 2 } }), false);
      assert.deepEqual(await jobs.failStale(T - 1000, { code: 'INTERRUPTED' }, T + 4), ['j2']);
      assert.equal(await jobs.update('j2', { at: T + 5, state: 'succeeded' }), false);
      const j2 = (await jobs.get('j2'))!;
      assert.equal(j2.state, 'failed');
      assert.deepEqual(j2.error, { code: 'INTERRUPTED' });
      assert.equal(j2.finishedAt, T + 4);
      assert.deepEqual(await jobs.failStale(T + 10_000, {}, T + 6), [], 'none running');
    });

    it("lists a submission's jobs newest first, and the running ones of any submission, bounded", async () => {
      const jobs = storage().jobs;
      const at = (id: string, submission: string | null, createdAt: number): StoredJob => ({
        ...job(id),
        submission,
        createdAt,
      });
      // Inserted out of order; jb and jc were created in the same millisecond (id breaks the tie).
      await jobs.insert(at('jb', 'sub1', T + 20));
      await jobs.insert(at('ja', 'sub1', T + 10));
      await jobs.insert(at('jc', 'sub1', T + 20));
      await jobs.insert(at('jd', 'sub2', T + 30));
      await jobs.insert(at('je', null, T + 40));
      const ids = (list: readonly StoredJob[]) => list.map((j) => j.id);
      assert.deepEqual(ids(await jobs.ofSubmission('sub1', 10)), ['jc', 'jb', 'ja']);
      assert.deepEqual(ids(await jobs.ofSubmission('sub1', 2)), ['jc', 'jb'], 'LIMIT');
      assert.deepEqual(await jobs.ofSubmission('sub1', 0), []);
      assert.deepEqual(await jobs.ofSubmission('nothing', 10), []);
      const [newest] = await jobs.ofSubmission('sub2', 10);
      assert.deepEqual(newest, at('jd', 'sub2', T + 30), 'the whole record');

      assert.ok(await jobs.update('jc', { at: T + 50, state: 'failed', error: { code: 'x' } }));
      assert.ok(await jobs.update('jd', { at: T + 50, state: 'succeeded', result: {} }));
      assert.deepEqual(ids(await jobs.running(10)), ['je', 'jb', 'ja'], 'finished ones left out');
      assert.deepEqual(ids(await jobs.running(1)), ['je'], 'LIMIT');
      assert.equal((await jobs.ofSubmission('sub1', 10))[0]?.state, 'failed', 'history kept');
    });
  });
}
