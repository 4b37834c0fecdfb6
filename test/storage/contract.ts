/**
 * The storage contract (src/storage/types.ts) as one assertion suite, in the style of notary's
 * server/storage/storage_test.go: every backend's test file calls `storageContract` with a
 * factory that returns a fresh, empty Storage.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { isCountersignError, type ErrorCode } from '../../src/errors.js';
import type { NewMeta, Storage, StorageTx, StoredKey } from '../../src/storage/types.js';
import { workQueuesContract } from './work-contract.js';

export const T0 = new Date('2026-01-02T03:04:05.678Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** A metadata file whose bytes name its role and version unless given. */
export function metaFile(role: string, version: number, data?: Buffer): NewMeta {
  const bytes = data ?? Buffer.from(`{"signed":{"_type":"${role}","version":${version}}}`);
  return { role, version, sha256: sha256(bytes), data: bytes };
}

export function key(
  keyId: string,
  gun: string,
  role: string,
  createdAt = T0,
  activatedAt: Date | null = null
): StoredKey {
  return {
    keyId,
    gun,
    role,
    algorithm: 'ecdsa',
    keyType: 'ecdsa',
    publicB64: Buffer.from(`public of ${keyId}`).toString('base64'),
    sealedPrivate: Buffer.from([0x01, 0x00, 0xff, 0xfe, ...Buffer.from(keyId)]),
    createdAt,
    activatedAt,
  };
}

export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (err) => {
    assert.ok(isCountersignError(err, code), `expected ${code}, got ${String(err)}`);
    return true;
  });
}

/** A promise with its resolver, to hold a transaction open at a chosen point. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

export function storageContract(backend: string, factory: () => Promise<Storage>): void {
  describe(`Storage contract (${backend})`, () => {
    let s: Storage;
    beforeEach(async () => {
      s = await factory();
    });
    afterEach(async () => {
      await s.close();
    });

    workQueuesContract(() => s);

    describe('#updateMany', () => {
      it('returns the bytes exactly as given, including bytes that are not UTF-8', async () => {
        // Invalid UTF-8 (lone continuation, overlong, surrogate half), NUL, a BOM, and CRLF.
        const odd = Buffer.from([
          0xef, 0xbb, 0xbf, 0x7b, 0x00, 0x80, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xff, 0x0d, 0x0a, 0x7d,
        ]);
        // A view into a larger buffer: only the view's bytes may be stored.
        const view = Buffer.concat([Buffer.from('xxxx'), odd, Buffer.from('yyyy')]).subarray(
          4,
          4 + odd.length
        );
        const f = metaFile('root', 1, view);
        await s.meta.updateMany('example.com/odd', [f], T0);

        for (const got of [
          await s.meta.getLatest('example.com/odd', 'root'),
          await s.meta.getByVersion('example.com/odd', 'root', 1),
          await s.meta.getByChecksum('example.com/odd', 'root', f.sha256),
        ]) {
          assert.ok(got);
          assert.ok(Buffer.isBuffer(got.data));
          assert.equal(got.data.toString('hex'), odd.toString('hex'));
          assert.equal(got.sha256, sha256(odd));
          assert.equal(got.gun, 'example.com/odd');
          assert.equal(got.role, 'root');
          assert.equal(got.version, 1);
          assert.equal(got.createdAt.toISOString(), T0.toISOString());
        }
      });

      it('keeps every version of every role', async () => {
        const versions = [1, 2, 5, 9];
        for (const v of versions) {
          await s.meta.updateMany(
            'g',
            [metaFile('root', v), metaFile('targets/releases', v * 10)],
            at(v)
          );
        }
        for (const v of versions) {
          const root = await s.meta.getByVersion('g', 'root', v);
          assert.equal(root?.data.toString(), metaFile('root', v).data.toString());
          assert.equal(root?.createdAt.toISOString(), at(v).toISOString());
          assert.equal(
            (await s.meta.getByVersion('g', 'targets/releases', v * 10))?.version,
            v * 10
          );
        }
        assert.equal((await s.meta.getLatest('g', 'root'))?.version, 9);
        assert.equal((await s.meta.getLatest('g', 'targets/releases'))?.version, 90);
        assert.equal(await s.meta.getByVersion('g', 'root', 3), null);
        assert.equal(await s.meta.getLatest('g', 'snapshot'), null);
        assert.equal(await s.meta.getLatest('other', 'root'), null);
      });

      it('rejects an equal version and writes nothing of the batch', async () => {
        await s.meta.updateMany('g', [metaFile('timestamp', 2)], T0);
        await rejectsWith(
          s.meta.updateMany(
            'g',
            [metaFile('targets', 1), metaFile('timestamp', 2, Buffer.from('other'))],
            at(1)
          ),
          'STORAGE_OLD_VERSION'
        );
        assert.equal(await s.meta.getLatest('g', 'targets'), null);
        assert.equal(
          (await s.meta.getLatest('g', 'timestamp'))?.data.toString(),
          metaFile('timestamp', 2).data.toString()
        );
        assert.equal((await s.meta.changes(null, 0, 100)).length, 1);
      });

      it('rejects a lower version and writes nothing of the batch', async () => {
        await s.meta.updateMany('g', [metaFile('snapshot', 5)], T0);
        await rejectsWith(
          s.meta.updateMany('g', [metaFile('snapshot', 4), metaFile('timestamp', 1)], at(1)),
          'STORAGE_OLD_VERSION'
        );
        assert.equal(await s.meta.getLatest('g', 'timestamp'), null);
        assert.equal(await s.meta.getByVersion('g', 'snapshot', 4), null);
        assert.deepEqual(await s.meta.changes(null, 0, 100), []);
      });

      it('rejects two files of one role in a batch, even with rising versions', async () => {
        await rejectsWith(
          s.meta.updateMany(
            'g',
            [metaFile('root', 1), metaFile('timestamp', 1), metaFile('timestamp', 2)],
            T0
          ),
          'STORAGE_OLD_VERSION'
        );
        assert.equal(await s.meta.getLatest('g', 'root'), null);
        assert.equal(await s.meta.getLatest('g', 'timestamp'), null);
        assert.deepEqual(await s.meta.changes(null, 0, 100), []);
      });

      it('keeps versions per GUN and per role', async () => {
        await s.meta.updateMany('a', [metaFile('root', 3)], T0);
        await s.meta.updateMany('b', [metaFile('root', 1)], T0);
        await s.meta.updateMany('a', [metaFile('targets', 1)], T0);
        assert.equal((await s.meta.getLatest('b', 'root'))?.version, 1);
        assert.equal((await s.meta.getLatest('a', 'targets'))?.version, 1);
      });

      it('appends one update change per timestamp written, and none for other roles', async () => {
        const ts = metaFile('timestamp', 7);
        await s.meta.updateMany(
          'g',
          [metaFile('root', 1), metaFile('targets', 1), metaFile('snapshot', 1), ts],
          T0
        );
        await s.meta.updateMany('g', [metaFile('targets', 2)], at(1));
        const changes = await s.meta.changes(null, 0, 100);
        assert.equal(changes.length, 1);
        const [c] = changes;
        assert.equal(c!.gun, 'g');
        assert.equal(c!.version, 7);
        assert.equal(c!.sha256, ts.sha256);
        assert.equal(c!.category, 'update');
        assert.equal(c!.createdAt.toISOString(), T0.toISOString());
      });
    });

    describe('#getByChecksum', () => {
      it("never returns another role's row, even for identical bytes", async () => {
        const same = Buffer.from('{"identical":"bytes"}');
        await s.meta.updateMany('g', [metaFile('root', 1, same), metaFile('targets', 4, same)], T0);
        assert.equal((await s.meta.getByChecksum('g', 'targets', sha256(same)))?.role, 'targets');
        assert.equal((await s.meta.getByChecksum('g', 'targets', sha256(same)))?.version, 4);
        assert.equal((await s.meta.getByChecksum('g', 'root', sha256(same)))?.role, 'root');
        assert.equal(await s.meta.getByChecksum('g', 'snapshot', sha256(same)), null);
        assert.equal(await s.meta.getByChecksum('h', 'root', sha256(same)), null);
        assert.equal(await s.meta.getByChecksum('g', 'root', sha256(Buffer.from('other'))), null);
      });

      it('finds an older version by its checksum', async () => {
        const v1 = metaFile('snapshot', 1);
        await s.meta.updateMany('g', [v1], T0);
        await s.meta.updateMany('g', [metaFile('snapshot', 2)], T0);
        assert.equal((await s.meta.getByChecksum('g', 'snapshot', v1.sha256))?.version, 1);
      });
    });

    describe('#deleteGun', () => {
      const neighbours = ['a/bc', 'a/b/c', 'a', 'A/B', 'a/b%', 'a_b'];

      it('removes exactly that GUN and appends one deletion change', async () => {
        for (const g of ['a/b', ...neighbours]) {
          await s.meta.updateMany(g, [metaFile('root', 1), metaFile('timestamp', 1)], T0);
        }
        const before = await s.meta.changes(null, 0, 100);
        assert.equal(await s.meta.deleteGun('a/b', at(60)), true);

        assert.equal(await s.meta.getLatest('a/b', 'root'), null);
        assert.equal(await s.meta.getByVersion('a/b', 'timestamp', 1), null);
        for (const g of neighbours) {
          assert.equal((await s.meta.getLatest(g, 'root'))?.version, 1, `${g} must survive`);
          assert.equal((await s.meta.getLatest(g, 'timestamp'))?.version, 1, `${g} must survive`);
        }
        const after = await s.meta.changes(null, 0, 100);
        // Earlier update records stay in the feed.
        assert.deepEqual(after.slice(0, before.length), before);
        assert.equal(after.length, before.length + 1);
        const deletion = after.at(-1)!;
        assert.equal(deletion.gun, 'a/b');
        assert.equal(deletion.category, 'deletion');
        assert.equal(deletion.version, 0);
        assert.equal(deletion.sha256, '');
        assert.equal(deletion.createdAt.toISOString(), at(60).toISOString());
        assert.ok(deletion.id > before.at(-1)!.id);
      });

      it('returns false and appends nothing when the GUN has no rows', async () => {
        await s.meta.updateMany('a/bc', [metaFile('timestamp', 1)], T0);
        assert.equal(await s.meta.deleteGun('a/b', T0), false);
        assert.equal(await s.meta.deleteGun('nothing', T0), false);
        assert.equal((await s.meta.changes(null, 0, 100)).length, 1);
      });

      it('deletes a GUN that has no timestamp, and lets versions start again', async () => {
        await s.meta.updateMany('g', [metaFile('root', 3)], T0);
        assert.equal(await s.meta.deleteGun('g', T0), true);
        assert.equal((await s.meta.changes('g', 0, 100)).length, 1);
        await s.meta.updateMany('g', [metaFile('root', 1)], T0);
        assert.equal((await s.meta.getLatest('g', 'root'))?.version, 1);
      });

      it('keeps the server keys of the GUN', async () => {
        await s.meta.updateMany('g', [metaFile('timestamp', 1)], T0);
        await s.keys.insert(key('k1', 'g', 'timestamp'));
        await s.meta.deleteGun('g', T0);
        assert.equal((await s.keys.get('k1'))?.gun, 'g');
        assert.equal((await s.keys.listFor('g', 'timestamp')).length, 1);
      });
    });

    describe('#changes', () => {
      // ids[0..5]: g1 v1, g2 v1, g1 v2, g2 v2, g1 v3, g1 deletion
      let ids: number[];
      beforeEach(async () => {
        const plan: [string, number][] = [
          ['g1', 1],
          ['g2', 1],
          ['g1', 2],
          ['g2', 2],
          ['g1', 3],
        ];
        for (const [i, [g, v]] of plan.entries())
          await s.meta.updateMany(g, [metaFile('timestamp', v)], at(i));
        await s.meta.deleteGun('g1', at(10));
        ids = (await s.meta.changes(null, 0, 100)).map((c) => c.id);
        assert.equal(ids.length, 6);
      });
      const idsOf = async (p: ReturnType<Storage['meta']['changes']>): Promise<number[]> =>
        (await p).map((c) => c.id);

      it('gives every record, oldest first, with rising ids', async () => {
        const all = await s.meta.changes(null, 0, 100);
        for (let i = 1; i < all.length; i++) assert.ok(all[i]!.id > all[i - 1]!.id);
        assert.deepEqual(
          all.map((c) => [c.gun, c.version, c.category]),
          [
            ['g1', 1, 'update'],
            ['g2', 1, 'update'],
            ['g1', 2, 'update'],
            ['g2', 2, 'update'],
            ['g1', 3, 'update'],
            ['g1', 0, 'deletion'],
          ]
        );
        assert.equal(all[2]!.sha256, metaFile('timestamp', 2).sha256);
        assert.equal(all[4]!.createdAt.toISOString(), at(4).toISOString());
      });

      it('pages forward from a change id', async () => {
        assert.deepEqual(await idsOf(s.meta.changes(null, 0, 2)), ids.slice(0, 2));
        assert.deepEqual(await idsOf(s.meta.changes(null, ids[1]!, 2)), ids.slice(2, 4));
        assert.deepEqual(await idsOf(s.meta.changes(null, ids[3]!, 2)), ids.slice(4, 6));
        assert.deepEqual(await idsOf(s.meta.changes(null, ids[5]!, 2)), []);
      });

      it('gives the newest records, oldest first, for a negative change id', async () => {
        assert.deepEqual(await idsOf(s.meta.changes(null, -1, 2)), ids.slice(4, 6));
        assert.deepEqual(await idsOf(s.meta.changes(null, -1, 100)), ids);
      });

      it('pages backwards, oldest first, for negative records', async () => {
        assert.deepEqual(await idsOf(s.meta.changes(null, ids[4]!, -2)), ids.slice(2, 4));
        assert.deepEqual(await idsOf(s.meta.changes(null, ids[1]!, -5)), ids.slice(0, 1));
        assert.deepEqual(await idsOf(s.meta.changes(null, ids[0]!, -5)), []);
        // notary: with change id 0 (or negative) it starts from the newest.
        assert.deepEqual(await idsOf(s.meta.changes(null, 0, -2)), ids.slice(4, 6));
        assert.deepEqual(await idsOf(s.meta.changes(null, -1, -2)), ids.slice(4, 6));
      });

      it('filters by GUN in all three modes', async () => {
        const g1 = [ids[0]!, ids[2]!, ids[4]!, ids[5]!];
        assert.deepEqual(await idsOf(s.meta.changes('g1', 0, 100)), g1);
        assert.deepEqual(await idsOf(s.meta.changes('g1', ids[0]!, 2)), g1.slice(1, 3));
        assert.deepEqual(await idsOf(s.meta.changes('g1', -1, 2)), g1.slice(2, 4));
        assert.deepEqual(await idsOf(s.meta.changes('g1', ids[5]!, -2)), g1.slice(1, 3));
        assert.deepEqual(await idsOf(s.meta.changes('g2', -1, 100)), [ids[1]!, ids[3]!]);
        assert.deepEqual(await idsOf(s.meta.changes('g', 0, 100)), []);
      });
    });

    describe('#listGuns', () => {
      it('lists GUNs that have a timestamp, in order, under an exact string prefix', async () => {
        for (const g of ['b/x', 'a/b/c', 'a/bc', 'a/b', 'ax', 'a%'])
          await s.meta.updateMany(g, [metaFile('timestamp', 1)], T0);
        await s.meta.updateMany('a/only-root', [metaFile('root', 1)], T0);
        assert.deepEqual(await s.meta.listGuns(), ['a%', 'a/b', 'a/b/c', 'a/bc', 'ax', 'b/x']);
        assert.deepEqual(await s.meta.listGuns('a/b'), ['a/b', 'a/b/c', 'a/bc']);
        assert.deepEqual(await s.meta.listGuns('a/b/'), ['a/b/c']);
        assert.deepEqual(await s.meta.listGuns('a%'), ['a%']);
        assert.deepEqual(await s.meta.listGuns('z'), []);
        await s.meta.deleteGun('a/bc', T0);
        assert.deepEqual(await s.meta.listGuns('a/b'), ['a/b', 'a/b/c']);
      });
    });

    describe('#importVersion and #importChange (moving in from notary-server)', () => {
      it('stores exact bytes with the given time, in any version order, and no change record', async () => {
        const v3 = metaFile('timestamp', 3);
        const v1 = metaFile('timestamp', 1);
        assert.equal(await s.meta.importVersion('g', v3, at(30)), 'stored');
        assert.equal(await s.meta.importVersion('g', v1, at(10)), 'stored');
        const got = await s.meta.getByVersion('g', 'timestamp', 1);
        assert.deepEqual(got?.data, v1.data);
        assert.equal(got?.sha256, v1.sha256);
        assert.equal(got?.createdAt.getTime(), at(10).getTime());
        assert.equal((await s.meta.getLatest('g', 'timestamp'))?.version, 3);
        assert.deepEqual(await s.meta.changes(null, 0, 100), []);
        // The ordinary write path still refuses a version that is not above the imported ones.
        await rejectsWith(
          s.meta.updateMany('g', [metaFile('timestamp', 2)], T0),
          'STORAGE_OLD_VERSION'
        );
      });

      it('answers present for the same bytes and refuses other bytes, writing nothing', async () => {
        const f = metaFile('root', 1);
        await s.meta.importVersion('g', f, at(1));
        assert.equal(await s.meta.importVersion('g', f, at(99)), 'present');
        const other = metaFile('root', 1, Buffer.from('{"other":1}'));
        await rejectsWith(s.meta.importVersion('g', other, at(1)), 'STORAGE_CONFLICT');
        const got = await s.meta.getByVersion('g', 'root', 1);
        assert.deepEqual(got?.data, f.data);
        assert.equal(got?.createdAt.getTime(), at(1).getTime());
      });

      it('appends history records once, in order, with their own times', async () => {
        const history = [
          { createdAt: at(1), gun: 'g', version: 1, sha256: 'a'.repeat(64), category: 'update' },
          { createdAt: at(2), gun: 'g', version: 0, sha256: '', category: 'deletion' },
          { createdAt: at(3), gun: 'g', version: 1, sha256: 'b'.repeat(64), category: 'update' },
        ] as const;
        for (const c of history) assert.equal(await s.meta.importChange(c), 'stored');
        await s.transaction(async (tx) => {
          for (const c of history) assert.equal(await tx.meta.importChange(c), 'present');
        });
        const got = await s.meta.changes(null, 0, 100);
        assert.deepEqual(
          got.map(({ id: _id, ...rest }) => rest),
          history.map((c) => ({ ...c }))
        );
        assert.ok(got[0]!.id < got[1]!.id && got[1]!.id < got[2]!.id);
      });

      it('treats a record repeated inside one transaction as present', async () => {
        const c = {
          createdAt: at(5),
          gun: 'g',
          version: 2,
          sha256: 'c'.repeat(64),
          category: 'update',
        } as const;
        await s.transaction(async (tx) => {
          assert.equal(await tx.meta.importChange(c), 'stored');
          assert.equal(await tx.meta.importChange(c), 'present');
        });
        assert.equal((await s.meta.changes(null, 0, 100)).length, 1);
      });

      it('rolls imports back with their transaction', async () => {
        await assert.rejects(
          s.transaction(async (tx) => {
            await tx.meta.importVersion('g', metaFile('root', 1), at(1));
            await tx.meta.importChange({
              createdAt: at(1),
              gun: 'g',
              version: 1,
              sha256: 'd'.repeat(64),
              category: 'update',
            });
            throw new Error('abort');
          }),
          /abort/
        );
        assert.equal(await s.meta.getByVersion('g', 'root', 1), null);
        assert.deepEqual(await s.meta.changes(null, 0, 100), []);
      });
    });

    describe('keys', () => {
      it('stores and returns every field', async () => {
        const k = key('k1', 'g', 'timestamp', T0, at(5));
        await s.keys.insert(k);
        assert.deepEqual(await s.keys.get('k1'), k);
        const p = key('k2', 'g', 'snapshot', at(1));
        await s.keys.insert({ ...p, algorithm: 'ed25519', keyType: 'ed25519' });
        assert.deepEqual(await s.keys.get('k2'), {
          ...p,
          algorithm: 'ed25519',
          keyType: 'ed25519',
        });
        assert.equal(await s.keys.get('k3'), null);
      });

      it('lists every key and replaces sealed bytes of exactly one, inside a transaction', async () => {
        await s.keys.insert(key('k1', 'g', 'timestamp', T0));
        await s.keys.insert(key('k2', 'h', 'snapshot', at(1)));
        assert.deepEqual(
          (await s.keys.listAll()).map((k) => k.keyId),
          ['k1', 'k2']
        );
        const sealed = Buffer.from('resealed bytes');
        await s.transaction((tx) => tx.keys.replaceSealed('k2', sealed));
        assert.deepEqual((await s.keys.get('k2'))?.sealedPrivate, sealed);
        assert.notDeepEqual((await s.keys.get('k1'))?.sealedPrivate, sealed);
        await rejectsWith(s.keys.replaceSealed('nope', sealed), 'STORAGE_NOT_FOUND');
        // A transaction that fails puts nothing back differently.
        await assert.rejects(
          s.transaction(async (tx) => {
            await tx.keys.replaceSealed('k1', sealed);
            throw new Error('abandon');
          })
        );
        assert.notDeepEqual((await s.keys.get('k1'))?.sealedPrivate, sealed);
      });

      it('refuses a duplicate key ID with STORAGE_CONFLICT', async () => {
        await s.keys.insert(key('k1', 'g', 'timestamp'));
        await rejectsWith(s.keys.insert(key('k1', 'h', 'snapshot')), 'STORAGE_CONFLICT');
        assert.equal((await s.keys.get('k1'))?.gun, 'g');
      });

      it('gives concurrent insertPendingIfAbsent callers the same key', async () => {
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            s.keys.insertPendingIfAbsent(key(`k${i}`, 'g', 'timestamp', at(i)))
          )
        );
        const winner = results[0]!;
        for (const r of results) assert.deepEqual(r, winner);
        assert.deepEqual(await s.keys.listFor('g', 'timestamp'), [winner]);
        assert.deepEqual(await s.keys.getPending('g', 'timestamp'), winner);
        // Another role or GUN has its own pending key.
        assert.equal((await s.keys.insertPendingIfAbsent(key('s1', 'g', 'snapshot'))).keyId, 's1');
        assert.equal((await s.keys.insertPendingIfAbsent(key('h1', 'h', 'timestamp'))).keyId, 'h1');
      });

      it('makes a new pending key once the pending one is marked active', async () => {
        await s.keys.insertPendingIfAbsent(key('k1', 'g', 'timestamp', T0));
        await s.keys.markActive('k1', at(10));
        assert.equal((await s.keys.get('k1'))?.activatedAt?.toISOString(), at(10).toISOString());
        assert.equal(await s.keys.getPending('g', 'timestamp'), null);
        // Marking again keeps the first activation time.
        await s.keys.markActive('k1', at(20));
        assert.equal((await s.keys.get('k1'))?.activatedAt?.toISOString(), at(10).toISOString());
        const next = await s.keys.insertPendingIfAbsent(key('k2', 'g', 'timestamp', at(30)));
        assert.equal(next.keyId, 'k2');
        assert.equal(next.activatedAt, null);
        assert.equal((await s.keys.getPending('g', 'timestamp'))?.keyId, 'k2');
      });

      it('lists keys of exactly (gun, role), oldest first, and gives the newest pending', async () => {
        await s.keys.insert(key('mid', 'g', 'timestamp', at(2)));
        await s.keys.insert(key('old', 'g', 'timestamp', at(1), at(1)));
        await s.keys.insert(key('new', 'g', 'timestamp', at(3)));
        await s.keys.insert(key('other-role', 'g', 'snapshot', at(0)));
        await s.keys.insert(key('other-gun', 'g/x', 'timestamp', at(0)));
        assert.deepEqual(
          (await s.keys.listFor('g', 'timestamp')).map((k) => k.keyId),
          ['old', 'mid', 'new']
        );
        assert.equal((await s.keys.getPending('g', 'timestamp'))?.keyId, 'new');
        assert.deepEqual(await s.keys.listFor('g', 'root'), []);
      });

      it('deletes the keys of exactly one GUN', async () => {
        await s.keys.insert(key('k1', 'g', 'timestamp'));
        await s.keys.insert(key('k2', 'g', 'snapshot'));
        await s.keys.insert(key('k3', 'g/x', 'timestamp'));
        await s.keys.insert(key('k4', 'gg', 'timestamp'));
        await s.keys.deleteFor('g');
        assert.equal(await s.keys.get('k1'), null);
        assert.equal(await s.keys.get('k2'), null);
        assert.ok(await s.keys.get('k3'));
        assert.ok(await s.keys.get('k4'));
      });
    });

    describe('settings', () => {
      it('gets, puts and overwrites', async () => {
        assert.equal(await s.settings.get('x'), null);
        await s.settings.put('x', 'one');
        assert.equal(await s.settings.get('x'), 'one');
        await s.settings.put('x', 'two');
        assert.equal(await s.settings.get('x'), 'two');
        assert.equal(await s.settings.putIfAbsent('x', 'three'), 'two');
        assert.equal(await s.settings.get('x'), 'two');
      });

      it('gives concurrent putIfAbsent callers one value', async () => {
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => s.settings.putIfAbsent('salt', `v${i}`))
        );
        assert.equal(new Set(results).size, 1);
        assert.equal(await s.settings.get('salt'), results[0]);
      });
    });

    describe('#transaction', () => {
      it('commits and returns what fn returns', async () => {
        const r = await s.transaction(async (tx) => {
          await tx.meta.updateMany('g', [metaFile('timestamp', 1)], T0);
          await tx.keys.insert(key('k1', 'g', 'timestamp'));
          await tx.settings.put('n', 'v');
          // Reads inside see the transaction's own writes.
          assert.equal((await tx.meta.getLatest('g', 'timestamp'))?.version, 1);
          assert.ok(await tx.keys.get('k1'));
          return 42;
        });
        assert.equal(r, 42);
        assert.equal((await s.meta.getLatest('g', 'timestamp'))?.version, 1);
        assert.ok(await s.keys.get('k1'));
        assert.equal(await s.settings.get('n'), 'v');
      });

      it('rolls everything back and rethrows when fn throws', async () => {
        const boom = new Error('boom');
        await assert.rejects(
          s.transaction(async (tx) => {
            await tx.meta.updateMany('g', [metaFile('root', 1), metaFile('timestamp', 1)], T0);
            await tx.meta.deleteGun('other', T0);
            await tx.keys.insertPendingIfAbsent(key('k1', 'g', 'timestamp'));
            await tx.settings.putIfAbsent('n', 'v');
            throw boom;
          }),
          (err) => err === boom
        );
        assert.equal(await s.meta.getLatest('g', 'root'), null);
        assert.equal(await s.meta.getLatest('g', 'timestamp'), null);
        assert.deepEqual(await s.meta.changes(null, 0, 100), []);
        assert.equal(await s.keys.get('k1'), null);
        assert.equal(await s.settings.get('n'), null);
      });

      it('hides its writes from outside reads until it commits', async () => {
        const hold = gate();
        const wrote = gate();
        const done = s.transaction(async (tx) => {
          await tx.meta.updateMany('g', [metaFile('root', 1), metaFile('timestamp', 1)], T0);
          await tx.keys.insert(key('k1', 'g', 'timestamp'));
          wrote.open();
          await hold.promise;
        });
        await wrote.promise;
        try {
          assert.equal(await s.meta.getLatest('g', 'root'), null);
          assert.equal(await s.meta.getLatest('g', 'timestamp'), null);
          assert.deepEqual(await s.meta.changes(null, -1, 10), []);
          assert.deepEqual(await s.meta.listGuns(), []);
          assert.equal(await s.keys.get('k1'), null);
        } finally {
          // A failed assertion must not leave the transaction (and afterEach's close) waiting.
          hold.open();
        }
        await done;
        assert.equal((await s.meta.getLatest('g', 'root'))?.version, 1);
        assert.equal((await s.meta.changes(null, -1, 10)).length, 1);
      });

      it('serializes with plain writes and with other transactions', async () => {
        const hold = gate();
        const order: string[] = [];
        const first = s.transaction(async (tx) => {
          await tx.meta.updateMany('g', [metaFile('timestamp', 1)], T0);
          await hold.promise;
          order.push('tx');
        });
        const plain = s.meta
          .updateMany('g', [metaFile('timestamp', 2)], T0)
          .then(() => order.push('plain'));
        // Let the plain write try to run while the transaction is open.
        await new Promise((r) => setTimeout(r, 50));
        const early = [...order];
        hold.open();
        assert.deepEqual(early, []);
        await Promise.all([first, plain]);
        assert.deepEqual(order, ['tx', 'plain']);

        // Read-then-write transactions on one GUN never see a stale latest version.
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            s.transaction(
              async (tx) => {
                const latest = await tx.meta.getLatest('g', 'timestamp');
                await new Promise((r) => setImmediate(r));
                await tx.meta.updateMany('g', [metaFile('timestamp', latest!.version + 1)], T0);
              },
              // Naming the GUN or not: both must queue behind each other.
              i % 2 === 0 ? { lockGun: 'g' } : undefined
            )
          )
        );
        assert.equal((await s.meta.getLatest('g', 'timestamp'))?.version, 22);
        assert.deepEqual(
          (await s.meta.changes('g', 0, 100)).map((c) => c.version),
          Array.from({ length: 22 }, (_, i) => i + 1)
        );
      });

      it('keeps the rest of a transaction when fn catches a rejected update', async () => {
        await s.meta.updateMany('g', [metaFile('timestamp', 5)], T0);
        await s.transaction(async (tx) => {
          await tx.meta.updateMany('g', [metaFile('targets', 1)], T0);
          await rejectsWith(
            tx.meta.updateMany('g', [metaFile('snapshot', 1), metaFile('timestamp', 5)], T0),
            'STORAGE_OLD_VERSION'
          );
          await rejectsWith(
            tx.keys.insert(key('k1', 'g', 'x')).then(() => tx.keys.insert(key('k1', 'g', 'y'))),
            'STORAGE_CONFLICT'
          );
        });
        assert.equal((await s.meta.getLatest('g', 'targets'))?.version, 1);
        assert.equal(await s.meta.getLatest('g', 'snapshot'), null);
        assert.equal((await s.keys.get('k1'))?.role, 'x');
        assert.equal((await s.meta.changes(null, 0, 100)).length, 1);
      });
    });

    describe('#transaction, more', () => {
      it('records the changes of one transaction in the order it made them', async () => {
        await s.transaction(
          async (tx) => {
            await tx.meta.updateMany('g', [metaFile('root', 1), metaFile('timestamp', 1)], T0);
            assert.equal(await tx.meta.deleteGun('g', at(1)), true);
            await tx.meta.updateMany('g', [metaFile('timestamp', 1)], at(2));
          },
          { lockGun: 'g' }
        );
        assert.deepEqual(
          (await s.meta.changes(null, 0, 10)).map((c) => [c.gun, c.version, c.category]),
          [
            ['g', 1, 'update'],
            ['g', 0, 'deletion'],
            ['g', 1, 'update'],
          ]
        );
        assert.equal(await s.meta.getLatest('g', 'root'), null);
      });

      it('refuses a tx used after its transaction ended', async () => {
        let leaked: StorageTx | undefined;
        await s.transaction(async (tx) => {
          leaked = tx;
        });
        await rejectsWith(
          leaked!.meta.updateMany('g', [metaFile('root', 1)], T0),
          'STORAGE_FAILURE'
        );
        await rejectsWith(leaked!.meta.getLatest('g', 'root'), 'STORAGE_FAILURE');
        assert.equal(await s.meta.getLatest('g', 'root'), null);
      });
    });

    describe('#generation', () => {
      it('stays put across reads and changes after every kind of commit', async () => {
        const g0 = s.generation();
        await s.meta.getLatest('g', 'root');
        await s.meta.changes(null, 0, 10);
        assert.equal(s.generation(), g0);

        const steps: [string, () => Promise<unknown>][] = [
          ['updateMany', () => s.meta.updateMany('g', [metaFile('timestamp', 1)], T0)],
          [
            'transaction',
            () => s.transaction((tx) => tx.meta.updateMany('g', [metaFile('timestamp', 2)], T0)),
          ],
          ['deleteGun', () => s.meta.deleteGun('g', T0)],
          ['keys.insert', () => s.keys.insert(key('k1', 'g', 'timestamp'))],
          ['keys.markActive', () => s.keys.markActive('k1', T0)],
          ['settings.put', () => s.settings.put('n', 'v')],
        ];
        let last = g0;
        for (const [name, step] of steps) {
          await step();
          const now = s.generation();
          assert.notEqual(now, last, `generation must change after ${name}`);
          assert.equal(s.generation(), now);
          last = now;
        }
      });
    });

    describe('#ping', () => {
      it('answers', async () => {
        await s.ping();
      });
    });
  });
}
