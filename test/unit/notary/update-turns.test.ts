/**
 * A large update gives the event loop turns between its steps (src/notary/update.ts
 * TURNS_MIN_BYTES), so GETs of other repositories are answered between them; a small publish
 * runs straight through, as before. Counted from inside the real app's storage transaction:
 * how many turns of the event loop passed between its start and the write of the new files,
 * and between that write and the transaction's end (the COMMIT).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { StorageTx } from '../../../src/storage/types.js';
import { TURNS_MIN_BYTES } from '../../../src/notary/update.js';
import { expiresIn, manyTargets, sign, targetsSigned } from '../../helpers/tuf-builder.js';
import { publishRepo, post, startTestApp, type TestApp } from '../../helpers/app.js';

describe('turns of the event loop inside an update', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  /** Posts `targets` and counts event-loop turns inside the transaction that stores it. */
  async function turnsOf(gun: string, targets: Buffer) {
    const storage = t.app.storage;
    // A method of the storage's class: the instance's own property below shadows it for a while.
    assert.equal(Object.hasOwn(storage, 'transaction'), false);
    const original = storage.transaction.bind(storage);
    const seen: { beforeWrite?: number; atEnd?: number } = {};
    let turns = 0;
    let spinning = false;
    const spin = () => {
      turns++;
      if (spinning) setImmediate(spin);
    };
    storage.transaction = function <T>(
      fn: (tx: StorageTx) => Promise<T>,
      o?: { lockGun?: string }
    ) {
      return original(async (tx: StorageTx) => {
        turns = 0;
        spinning = true;
        setImmediate(spin);
        const meta = new Proxy(tx.meta, {
          get(target, p) {
            if (p === 'updateMany')
              return (...args: Parameters<StorageTx['meta']['updateMany']>) => {
                seen.beforeWrite = turns;
                return target.updateMany(...args);
              };
            const v = Reflect.get(target, p) as unknown;
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
          },
        });
        try {
          return await fn(
            new Proxy(tx, {
              get: (target, p): unknown => (p === 'meta' ? meta : Reflect.get(target, p)),
            })
          );
        } finally {
          seen.atEnd = turns;
          spinning = false;
        }
      }, o);
    };
    try {
      const res = await post(t, gun, { targets });
      assert.equal(res.status, 200, res.text);
    } finally {
      delete (storage as { transaction?: unknown }).transaction; // the prototype's again
    }
    assert.ok(seen.beforeWrite !== undefined && seen.atEnd !== undefined, 'the update wrote');
    return { beforeWrite: seen.beforeWrite, beforeCommit: seen.atEnd - seen.beforeWrite };
  }

  it('a large upload: turns before the write and before the COMMIT', async () => {
    const repo = await publishRepo(t, 'example.com/turns/large');
    const data = sign(
      targetsSigned({ targets: manyTargets(3000), version: 2, expires: expiresIn(30) }),
      [repo.targetsKey]
    );
    assert.ok(data.length >= TURNS_MIN_BYTES);
    const turns = await turnsOf(repo.gun, data);
    assert.ok(turns.beforeWrite >= 2, `turns before the write: ${turns.beforeWrite}`);
    assert.ok(
      turns.beforeCommit >= 1,
      `turns between the write and the COMMIT: ${turns.beforeCommit}`
    );
  });

  it('a small publish runs straight through', async () => {
    const repo = await publishRepo(t, 'example.com/turns/small');
    const data = sign(
      targetsSigned({ targets: manyTargets(3), version: 2, expires: expiresIn(30) }),
      [repo.targetsKey]
    );
    assert.ok(data.length < TURNS_MIN_BYTES);
    assert.deepEqual(await turnsOf(repo.gun, data), { beforeWrite: 0, beforeCommit: 0 });
  });
});
