/**
 * The webhook queue and jobs on PostgreSQL with two instances on one database
 * (docs/webhooks.md "The queue"): both relay and deliver at the same time, over and over, against
 * a receiver that answers slowly, and every event arrives exactly once, signed (the cursor row
 * is locked while one relays, deliveries are claimed FOR UPDATE SKIP LOCKED). A job started on
 * one instance is read on the other.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '../../src/util/clock.js';
import { startPostgres, type StartedPostgres } from '../helpers/postgres.js';
import { image, StagingRepo, startStore, type StoreApp } from './fixture.js';

const SECRET = 'postgres receiver secret';

describe('webhooks and jobs on PostgreSQL, two instances', () => {
  let cluster: StartedPostgres;
  let receiver: Server;
  const got: { event: string; id: string; signed: boolean }[] = [];
  let a: StoreApp;
  let b: StoreApp;

  before(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = JSON.parse(raw.toString()) as { event: string; id: string };
        const mac = `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`;
        got.push({ ...body, signed: req.headers['x-countersign-signature'] === mac });
        // Slow answers keep each attempt open while the other instance claims.
        setTimeout(() => res.writeHead(200).end(), 100);
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/h`;
    cluster = await startPostgres();
    const top = { storage: { backend: 'postgres', db_url: await cluster.createDatabase() } };
    const extra = {
      webhooks: [{ url, secret: SECRET, events: ['submission.created', 'submission.verified'] }],
    };
    const clock = new ManualClock();
    a = await startStore({}, { top, clock, extra });
    b = await startStore({}, { top, clock, extra });
    // Place the cursor before any event (each instance's first pass does it, once).
    await Promise.all([a.app.webhooks.tick(), b.app.webhooks.tick()]);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await cluster?.stop();
    await new Promise<void>((resolve) => receiver?.close(() => resolve()));
  });

  it('two instances relaying and delivering at once send every event exactly once', async () => {
    const ids: string[] = [];
    for (const [i, s] of [a, b, a, b, a, b].entries()) {
      const gun = `staging.store.test/acme/pg${i}`;
      const repo = await StagingRepo.create(s.app.storage, gun);
      await repo.push({ releases: [image('1.0', `w${i}`)] });
      const res = await s.http
        .post('/api/v1/submissions')
        .set('Authorization', s.auth('acme'))
        .send({ gun, tag: '1.0' })
        .expect(201);
      ids.push(res.body.id as string);
    }
    for (let round = 0; round < 20 && got.length < 12; round++)
      await Promise.all([a.app.webhooks.tick(), b.app.webhooks.tick(), b.app.webhooks.tick()]);
    assert.equal(got.length, 12, JSON.stringify(got));
    assert.ok(got.every((g) => g.signed));
    assert.equal(new Set(got.map((g) => `${g.event} ${g.id}`)).size, 12, 'an event arrived twice');
    assert.deepEqual(got.map((g) => g.event).sort(), [
      ...Array(6).fill('submission.created'),
      ...Array(6).fill('submission.verified'),
    ]);
    // Both instances list the same log.
    const log = await b.http
      .get('/api/v1/webhooks/deliveries?state=delivered&limit=100')
      .set('Authorization', b.auth('admin'))
      .expect(200);
    assert.equal(log.body.deliveries.length, 12);
    assert.ok(log.body.deliveries.every((d: { attempts: number }) => d.attempts === 1));
  });

  it('a job started on one instance is read on the other; the sweep finds nothing stale', async () => {
    const gun = 'staging.store.test/acme/pgjob';
    const repo = await StagingRepo.create(a.app.storage, gun);
    await repo.push({ releases: [image('1.0', 'job')] });
    const res = await a.http
      .post('/api/v1/submissions')
      .set('Authorization', a.auth('acme'))
      .set('Prefer', 'respond-async')
      .send({ gun, tag: '1.0' })
      .expect(202);
    let job: { state: string; result?: { state: string } } = res.body;
    for (let i = 0; i < 200 && job.state === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      job = (
        await b.http.get(res.headers.location!).set('Authorization', b.auth('acme')).expect(200)
      ).body;
    }
    assert.equal(job.state, 'succeeded');
    assert.equal(job.result!.state, 'verified');
    assert.deepEqual(await b.app.jobs!.sweep(), []);
  });
});
