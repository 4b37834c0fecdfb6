/**
 * The store's re-signer with two instances on one PostgreSQL database (ManualClock shared):
 * both schedulers wake at once past the root's re-sign time and only the lease holder renews;
 * both re-signers called at once (as two leaders would, if clocks disagreed) still make one new
 * root — the GUN lock and the re-check inside it — and the loser's key is audited as discarded;
 * the audit chain stays intact.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { verifyRepository } from '../../src/client/index.js';
import { StoreMetadataSource } from '../../src/store/store-source.js';
import { loadCurrentRole } from '../../src/notary/current.js';
import { verifyAuditChain } from '../../src/store/audit.js';
import { parseRoot } from '../../src/tuf/metadata.js';
import { ManualClock } from '../../src/util/clock.js';
import { startPostgres, type StartedPostgres } from '../helpers/postgres.js';
import { image, StagingRepo, startStore, type StoreApp } from './fixture.js';
import { ParsedMetadata } from '../../src/notary/parsed.js';

const DAY = 86_400_000;
const STAGING = 'staging.store.test/acme/pgrenew';
const PUBLIC = 'store.test/acme/pgrenew';

describe('store re-signer on PostgreSQL, two instances (rootLifetime 20d)', () => {
  let cluster: StartedPostgres;
  let a: StoreApp;
  let b: StoreApp;
  let published: number;

  before(async () => {
    cluster = await startPostgres();
    const url = await cluster.createDatabase();
    const top = { storage: { backend: 'postgres', db_url: url } };
    const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000);
    a = await startStore({ rootLifetime: '20d' }, { top, clock });
    b = await startStore({ rootLifetime: '20d' }, { top, clock });
    const repo = await StagingRepo.create(a.app.storage, STAGING);
    await repo.push({ releases: [image('1.0', 'p')] });
    const sub = await a.http
      .post('/api/v1/submissions')
      .set('Authorization', a.auth('acme'))
      .send({ gun: STAGING, tag: '1.0' })
      .expect(201);
    const res = await a.http
      .post(`/api/v1/submissions/${sub.body.id}/reviews`)
      .set('Authorization', a.auth('rev1'))
      .send({ decision: 'approve' })
      .expect(200);
    assert.equal(res.body.state, 'published');
    published = clock.now().getTime();
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await cluster?.stop();
  });

  const rootVersion = async () =>
    parseRoot(
      (await loadCurrentRole(a.app.storage.meta, PUBLIC, 'root', new ParsedMetadata()))!.data
    ).signed.version;

  it('both schedulers wake past the root’s re-sign time: the lease holder alone renews it', async () => {
    a.clock.set(published + 10 * DAY + 60_000);
    const [ra, rb] = await Promise.all([
      a.app.freshness.scheduler.tick(),
      b.app.freshness.scheduler.tick(),
    ]);
    assert.deepEqual([ra.leader, rb.leader].sort(), [false, true]);
    const renewals = [...ra.resigned, ...rb.resigned].filter((e) =>
      e.written.some((w) => w.role === 'root')
    );
    assert.equal(renewals.length, 1);
    assert.equal(await rootVersion(), 2);
  });

  it('both re-signers at once (two leaders): one new root, the other key discarded', async () => {
    const v2 = parseRoot(
      (await loadCurrentRole(a.app.storage.meta, PUBLIC, 'root', new ParsedMetadata()))!.data
    );
    a.clock.set(v2.signed.expires.getTime() - 10 * DAY + 60_000);
    const now = a.clock.now();
    const planned = [{ role: 'root', resignAt: now.getTime() - 1, keyHolder: 'store' as const }];
    const request = { gun: PUBLIC, now, planned, due: planned };
    const [wa, wb] = await Promise.all([
      a.app.freshness.index.resigner('store')!.resign(request),
      b.app.freshness.index.resigner('store')!.resign(request),
    ]);
    assert.deepEqual([wa, wb].map((w) => w.filter((x) => x.role === 'root').length).sort(), [0, 1]);
    assert.equal(await rootVersion(), 3);
    const entries = await a.app.storage.audit.list({ gun: PUBLIC });
    assert.equal(entries.filter((e) => e.action === 'root.renewed').length, 2);
    assert.equal(entries.filter((e) => e.action === 'key.discarded').length, 1);
    const chain = await verifyAuditChain(b.app.storage.audit);
    assert.equal(chain.ok, true, chain.reason);
    const pinned = await verifyRepository({
      source: new StoreMetadataSource(b.app.storage.meta, new ParsedMetadata()),
      gun: PUBLIC,
      clock: a.clock,
      trust: { kind: 'ca', pem: await b.app.store!.caCertificatePem() },
      target: '1.0',
    });
    assert.equal(pinned.ok, true, JSON.stringify(pinned.failures));
    assert.match(pinned.checks[0]!.detail, /root versions 1→3/);
  });
});
