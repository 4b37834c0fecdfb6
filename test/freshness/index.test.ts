/**
 * The expiry index reads only what changed: nothing when the storage generation has not moved,
 * only the written repositories (found through the changefeed) when it has, and everything again
 * only at the rescan interval.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ExpiryIndex } from '../../src/freshness/expiry-index.js';
import { ServerMetadataResigner } from '../../src/freshness/server-resigner.js';
import type { MetaStore, Storage } from '../../src/storage/types.js';
import { silentLogger } from '../../src/util/log.js';
import { publishRepo, publishTargets, type PublishedRepo } from '../helpers/app.js';
import { freshApp, type FreshApp } from './fixture.js';

/** The app's storage, with every metadata read of a GUN's files counted per GUN. */
function countingStorage(storage: Storage): {
  storage: Storage;
  reads: Map<string, number>;
  reset(): void;
} {
  const reads = new Map<string, number>();
  const counted = new Set<keyof MetaStore>(['getLatest', 'getByChecksum', 'getByVersion']);
  const meta = new Proxy(storage.meta, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (counted.has(prop as keyof MetaStore))
          reads.set(String(args[0]), (reads.get(String(args[0])) ?? 0) + 1);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const wrapped = new Proxy(storage, {
    get: (target, prop, receiver) =>
      prop === 'meta' ? meta : (Reflect.get(target, prop, receiver) as unknown),
  });
  return { storage: wrapped, reads, reset: () => reads.clear() };
}

describe('expiry index: incremental reads', () => {
  let t: FreshApp;
  let repos: PublishedRepo[];
  before(async () => {
    t = await freshApp();
    repos = [];
    for (const name of ['a', 'b', 'c'])
      repos.push(await publishRepo(t, `example.com/index/${name}`));
  });
  after(() => t.close());

  it('reads every repository once at first, nothing while nothing is written, then only what was written', async () => {
    const counting = countingStorage(t.app.storage);
    const index = new ExpiryIndex({
      storage: counting.storage,
      signer: t.app.signer,
      policy: t.app.expiry,
      parsed: t.app.caches.parsed,
      rescanMs: 15 * 60_000,
      log: silentLogger,
    });
    index.addResigner(
      new ServerMetadataResigner({
        storage: t.app.storage,
        signer: t.app.signer,
        expiry: t.app.expiry,
        caches: t.app.caches,
      })
    );
    const start = t.clock.now();

    await index.sync(start);
    assert.equal(index.size, 3);
    assert.deepEqual(
      [...counting.reads.keys()].sort(),
      repos.map((r) => r.gun)
    );

    counting.reset();
    await index.sync(new Date(start.getTime() + 60_000));
    await index.sync(new Date(start.getTime() + 120_000));
    assert.deepEqual([...counting.reads.entries()], [], 'no metadata read without a write');

    assert.equal((await publishTargets(t, repos[1]!, [{ name: 'v2' }])).status, 200);
    counting.reset();
    await index.sync(new Date(start.getTime() + 180_000));
    assert.deepEqual(
      [...counting.reads.keys()],
      [repos[1]!.gun],
      'only the written repository is read'
    );
    assert.equal(index.get(repos[1]!.gun)?.roles.find((r) => r.role === 'targets')?.version, 2);

    // At the rescan interval every repository is looked at, and only its timestamp is read.
    counting.reset();
    await index.sync(new Date(start.getTime() + 16 * 60_000));
    assert.deepEqual(
      [...counting.reads.entries()].sort(),
      repos.map((r) => [r.gun, 1])
    );
  });
});
