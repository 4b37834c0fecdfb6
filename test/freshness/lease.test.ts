/**
 * One scheduler at a time: two Countersign apps on one SQLite file (as two processes or
 * `--workers` would be), one ManualClock. Only the lease holder re-signs and warns; the other
 * takes over when the holder stops (lease released) or stops renewing (lease lapses).
 * The same on PostgreSQL, with real processes: test/interop/freshness-postgres.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTimestamp } from '../../src/tuf/metadata.js';
import { ManualClock } from '../../src/util/clock.js';
import { LEASE_SETTING } from '../../src/freshness/lease.js';
import { publishRepo } from '../helpers/app.js';
import { freshApp, type FreshApp } from './fixture.js';

const DAY = 86_400_000;

describe('scheduler lease: two instances on one SQLite database', () => {
  const clock = new ManualClock();
  const dir = mkdtempSync(join(tmpdir(), 'countersign-lease-'));
  let a: FreshApp;
  let b: FreshApp;
  const gun = 'example.com/lease/app';
  const tsVersion = async () =>
    parseTimestamp((await a.app.storage.meta.getLatest(gun, 'timestamp'))!.data).signed;

  before(async () => {
    a = await freshApp({}, { clock, dataDir: dir });
    b = await freshApp({}, { clock, dataDir: dir });
    await publishRepo(a, gun);
  });
  after(async () => {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets exactly one of them re-sign a due timestamp', async () => {
    const first = await tsVersion();
    clock.set(first.expires.getTime() - 6 * DAY);
    const ra = await a.app.freshness.scheduler.tick();
    const rb = await b.app.freshness.scheduler.tick();
    assert.equal(ra.leader, true);
    assert.equal(rb.leader, false);
    assert.deepEqual(
      ra.resigned.map((e) => e.gun),
      [gun]
    );
    assert.deepEqual(rb.resigned, []);
    assert.equal((await tsVersion()).version, first.version + 1);
    const lease = JSON.parse((await a.app.storage.settings.get(LEASE_SETTING))!);
    assert.equal(lease.holder, a.app.freshness.scheduler.lease.holder);

    // The follower still keeps its picture current (status and gauges on every instance).
    assert.equal(
      b.app.freshness.index.get(gun)?.roles.find((r) => r.role === 'timestamp')?.version,
      first.version + 1
    );

    // Renewed while held: asking first at every 60 s wake-up, b never gets a turn.
    for (let i = 0; i < 5; i++) {
      clock.advance(60_000);
      assert.equal((await b.app.freshness.scheduler.tick()).leader, false);
      assert.equal((await a.app.freshness.scheduler.tick()).leader, true);
    }
  });

  it('hands over when the holder stops (lease released)', async () => {
    await a.app.freshness.scheduler.stop();
    const before = await tsVersion();
    clock.set(before.expires.getTime() - 6 * DAY);
    const rb = await b.app.freshness.scheduler.tick();
    assert.equal(rb.leader, true);
    assert.deepEqual(
      rb.resigned.map((e) => e.gun),
      [gun]
    );
    assert.equal((await tsVersion()).version, before.version + 1);
    assert.equal((await a.app.freshness.scheduler.tick()).leader, false);
  });

  it('hands over when the holder stops renewing (lease lapses), not before', async () => {
    // b holds it now; a asks just before and just after b's lease runs out.
    const ttl = b.app.freshness.settings.leaseTtlMs;
    assert.equal(ttl, 90_000, 'three 60 s intervals, capped at 90 s');
    assert.equal((await b.app.freshness.scheduler.tick()).leader, true);
    const held = JSON.parse((await b.app.storage.settings.get(LEASE_SETTING))!).until as number;
    clock.set(held - 1);
    assert.equal((await a.app.freshness.scheduler.tick()).leader, false);
    clock.set(held + 1);
    assert.equal((await a.app.freshness.scheduler.tick()).leader, true);
    assert.equal((await b.app.freshness.scheduler.tick()).leader, false);
  });
});
