/**
 * The pieces under the scheduler: settings derived from `countersign.expiry`, the due time per
 * GUN prefix, and the re-signer plug-in contract as the store will use it (a re-signer for
 * store-held targets), including failures and retries.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isCountersignError } from '../../src/errors.js';
import { schedulerSettings } from '../../src/freshness/config.js';
import type { GunFacts } from '../../src/freshness/facts.js';
import type { PlannedRole, ResignRequest, Resigner } from '../../src/freshness/resigner.js';
import { ServerMetadataResigner } from '../../src/freshness/server-resigner.js';
import { expiryPolicy, type ExpiryPolicy } from '../../src/notary/expiry.js';
import type { Storage } from '../../src/storage/types.js';
import type { Signer } from '../../src/signer/types.js';
import { createNotaryCaches } from '../../src/notary/caches.js';
import { publishRepo } from '../helpers/app.js';
import { freshApp, sample, type FreshApp } from './fixture.js';

const H = 3_600_000;
const DAY = 86_400_000;

const settings = (countersign: Record<string, unknown>, expiry: Record<string, unknown> = {}) =>
  schedulerSettings({ countersign, expiry });

describe('scheduler settings', () => {
  it('wakes every min(60 s, shortest lifetime / 10), prefix overrides included', () => {
    assert.equal(settings({}).intervalMs, 60_000);
    assert.equal(settings({}, { timestamp: 4000 }).intervalMs, 400);
    assert.equal(settings({}, { gunPrefixes: { 'x/': { snapshot: 300_000 } } }).intervalMs, 30_000);
    assert.equal(
      settings({ scheduler: { intervalMs: 50 } }).intervalMs,
      50,
      'intervalMs wakes it more often'
    );
    assert.equal(
      settings({ scheduler: { intervalMs: 120_000 } }).intervalMs,
      60_000,
      'never less often than the contract says'
    );
    assert.equal(settings({}).enabled, true);
    assert.equal(settings({ scheduler: { enabled: false } }).enabled, false);
    assert.equal(settings({}).warnWithinMs, 30 * DAY);
    assert.equal(settings({ scheduler: { warnWithin: '7d' } }).warnWithinMs, 7 * DAY);
    assert.equal(settings({}, { timestamp: 4000 }).leaseTtlMs, 1200);
  });

  it('refuses invalid values, naming the key', () => {
    for (const bad of [
      { enabled: 'yes' },
      { intervalMs: 1 },
      { intervalMs: '50' },
      { warnWithin: 'soon' },
      { warnWithin: 30 },
      { maxGaugeRepositories: -1 },
    ]) {
      assert.throws(
        () => settings({ scheduler: bad }),
        (err: unknown) =>
          isCountersignError(err) &&
          err.code === 'CONFIG_INVALID' &&
          /countersign\.scheduler\./.test(err.message),
        JSON.stringify(bad)
      );
    }
    assert.throws(
      () => settings({ scheduler: [] }),
      (err: unknown) => isCountersignError(err) && err.code === 'CONFIG_INVALID'
    );
  });
});

describe('due time of server-held roles', () => {
  const expires = new Date('2030-01-01T00:00:00Z');
  const facts = (gun: string, held: { timestamp: boolean; snapshot: boolean }): GunFacts => ({
    gun,
    stateId: 'x',
    roles: (['timestamp', 'snapshot', 'root', 'targets'] as const).map((role) => ({
      role,
      version: 1,
      expires,
      expiresText: expires.toISOString(),
      held: role === 'timestamp' ? held.timestamp : role === 'snapshot' ? held.snapshot : false,
    })),
  });
  const resigner = new ServerMetadataResigner({
    storage: {} as Storage,
    signer: {} as Signer,
    expiry: expiryPolicy(),
    caches: createNotaryCaches(),
  });
  const policy = expiryPolicy({
    resignBefore: 0.25,
    gunPrefixes: { 'a/': { timestamp: 10 * H }, 'a/b/': { timestamp: 2 * H, snapshot: 8 * H } },
  });
  const at = (p: readonly PlannedRole[], role: string) => p.find((x) => x.role === role)?.resignAt;

  it('is expires − resignBefore × lifetime, the lifetime from the longest matching prefix', () => {
    const deep = resigner.plan(facts('a/b/c', { timestamp: true, snapshot: true }), policy);
    assert.equal(at(deep, 'timestamp'), expires.getTime() - 0.5 * H);
    assert.equal(at(deep, 'snapshot'), expires.getTime() - 2 * H);
    const shallow = resigner.plan(facts('a/x', { timestamp: true, snapshot: true }), policy);
    assert.equal(at(shallow, 'timestamp'), expires.getTime() - 2.5 * H);
    assert.equal(at(shallow, 'snapshot'), expires.getTime() - 0.25 * 1095 * DAY);
    const plain = resigner.plan(facts('z/y', { timestamp: true, snapshot: true }), expiryPolicy());
    assert.equal(at(plain, 'timestamp'), expires.getTime() - 7 * DAY);
  });

  it('plans only roles whose keys the server holds', () => {
    const p = resigner.plan(facts('a/x', { timestamp: true, snapshot: false }), policy);
    assert.deepEqual(
      p.map((x) => [x.role, x.keyHolder]),
      [['timestamp', 'server']]
    );
  });
});

/** What a store re-signer looks like to the scheduler; this one records calls and can fail. */
class FakeStoreResigner implements Resigner {
  readonly name = 'store-public-targets';
  calls: ResignRequest[] = [];
  failWith: string | undefined;
  constructor(private readonly prefix: string) {}
  plan(facts: GunFacts, policy: ExpiryPolicy): PlannedRole[] {
    if (!facts.gun.startsWith(this.prefix)) return [];
    const t = facts.roles.find((r) => r.role === 'targets');
    // The snapshot/timestamp re-signer already claims the timestamp, and the repository has no
    // role named no-such-role: both claims must be ignored.
    return [
      ...(t
        ? [
            {
              role: 'targets',
              resignAt:
                t.expires.getTime() - policy.resignBefore * policy.lifetimes(facts.gun).targets,
              keyHolder: 'store' as const,
            },
          ]
        : []),
      { role: 'timestamp', resignAt: 0, keyHolder: 'store' as const },
      { role: 'no-such-role', resignAt: 0, keyHolder: 'store' as const },
    ];
  }
  async resign(request: ResignRequest) {
    this.calls.push(request);
    if (this.failWith) throw new Error(this.failWith);
    return [];
  }
}

describe('a pluggable re-signer (as the store registers one)', () => {
  let t: FreshApp;
  const store = new FakeStoreResigner('store.test/');
  before(async () => {
    t = await freshApp({ countersign: { expiry: { targets: '100d' } } });
    t.app.freshness.scheduler.addResigner(store);
    await publishRepo(t, 'store.test/acme/web');
    await publishRepo(t, 'plain.example/web');
  });
  after(() => t.close());

  it('reports the roles it manages in status with its key holder, and never a role already claimed', async () => {
    const res = await t.http.get('/api/v1/repositories/store.test/acme/web/status').expect(200);
    const byRole = Object.fromEntries(res.body.roles.map((r: { role: string }) => [r.role, r]));
    assert.equal(byRole.targets.keyHolder, 'store');
    assert.ok(byRole.targets.resignAt, 'targets has a re-sign time');
    assert.equal(
      byRole.timestamp.keyHolder,
      'server',
      'the first registered re-signer keeps the timestamp'
    );
    assert.equal(res.body.roles.length, 4);
    const plain = await t.http.get('/api/v1/repositories/plain.example/web/status').expect(200);
    assert.equal(
      plain.body.roles.find((r: { role: string }) => r.role === 'targets').keyHolder,
      'client'
    );
  });

  it('is asked to re-sign exactly its due roles, and a failure is logged, counted and retried later', async () => {
    const expires = Date.parse(
      (
        await t.http.get('/api/v1/repositories/store.test/acme/web/status').expect(200)
      ).body.roles.find((r: { role: string }) => r.role === 'targets').expires
    );
    t.clock.set(expires - 51 * DAY);
    await t.app.freshness.scheduler.tick();
    assert.equal(store.calls.length, 0, 'not due with more than half of 100 days left');

    t.clock.set(expires - 49 * DAY);
    store.failWith = 'store key unavailable';
    let r = await t.app.freshness.scheduler.tick();
    assert.equal(store.calls.length, 1);
    assert.equal(store.calls[0]!.gun, 'store.test/acme/web');
    assert.deepEqual(
      store.calls[0]!.due.map((d) => d.role),
      ['targets']
    );
    assert.deepEqual(
      store.calls[0]!.planned.map((d) => d.role),
      ['targets']
    );
    assert.deepEqual(r.failed, [
      {
        gun: 'store.test/acme/web',
        resigner: 'store-public-targets',
        error: 'store key unavailable',
      },
    ]);
    assert.ok(
      t
        .logs()
        .some(
          (l) =>
            l.level === 'error' &&
            l.resigner === 'store-public-targets' &&
            l.gun === 'store.test/acme/web'
        )
    );
    const metrics = (await t.http.get('/metrics').expect(200)).text;
    assert.equal(
      sample(metrics, 'countersign_resign_failures_total', { resigner: 'store-public-targets' }),
      1
    );

    // Within the retry delay (10 intervals) it is not asked again; after it, it is.
    t.clock.advance(60_000);
    r = await t.app.freshness.scheduler.tick();
    assert.equal(store.calls.length, 1);
    t.clock.advance(10 * 60_000);
    store.failWith = undefined;
    r = await t.app.freshness.scheduler.tick();
    assert.equal(store.calls.length, 2);
    assert.deepEqual(r.failed, []);
  });
});
