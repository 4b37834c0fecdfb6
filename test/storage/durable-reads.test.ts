/**
 * The metadata read path never answers, nor caches, a version whose commit is not yet durable
 * (Storage.settled; docs/design.md "Durability of SQLite commits"), with the real SQLite storage
 * and a WAL fsync the test holds.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetadataReads } from '../../src/http/notary-reads.js';
import { createNotaryCaches } from '../../src/notary/caches.js';
import type { ExpiryPolicy } from '../../src/notary/expiry.js';
import type { Signer } from '../../src/signer/types.js';
import { openSqlite } from '../../src/storage/sqlite.js';
import { ManualClock } from '../../src/util/clock.js';
import type { Logger } from '../../src/util/log.js';
import { turns } from '../helpers/held-syncs.js';
import { metaFile, T0 } from './contract.js';

const dir = mkdtempSync(join(tmpdir(), 'countersign-durable-reads-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('reads wait for durability', () => {
  it('a GET of a version committed but not yet fsynced answers only after the fsync', async () => {
    const held: (() => void)[] = [];
    const storage = openSqlite(join(dir, 'a.sqlite'), {
      syncFile: () => new Promise<void>((resolve) => held.push(resolve)),
    });
    const reads = new MetadataReads({
      storage,
      // Only by-version reads are made here: no signing, no expiry, no logging.
      signer: {} as Signer,
      expiry: {} as ExpiryPolicy,
      log: {} as Logger,
      clock: new ManualClock(T0),
      caching: { currentMaxAge: 300, consistentMaxAge: 2_592_000 },
      caches: createNotaryCaches(),
    });
    try {
      const written = storage.meta.updateMany('acme/app', [metaFile('targets', 1)], T0);
      await turns();
      assert.equal(held.length, 1, 'the commit is waiting for its fsync');
      assert.ok(storage.settled('acme/app'), 'its GUN is unsettled');
      assert.equal(storage.settled('other/app'), undefined, 'other GUNs are not');

      const match = { name: 'byVersion', gun: 'acme/app', role: 'targets', version: '1' } as const;
      const key = MetadataReads.key(match);
      let answered = false;
      const get = reads.fill(match, key).then((r) => ((answered = true), r));
      await turns();
      assert.equal(answered, false, 'visible in the database, but not answered yet');
      assert.equal(reads.cache.get(key, T0.getTime()), undefined, 'nor cached');

      held.shift()!();
      await written;
      const response = await get;
      assert.ok(answered && response);
      assert.equal(response.body.toString(), metaFile('targets', 1).data.toString());
      assert.equal(storage.settled('acme/app'), undefined);
    } finally {
      for (const release of held) release();
      await storage.close();
    }
  });
});
