/**
 * The local signer's memory of opened keys is bounded (docs/performance.md "Memory"): past the
 * cap the least recently used key is dropped and opened again from storage when next used.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyring } from '../../../src/signer/keyring.js';
import { LocalSigner } from '../../../src/signer/local.js';
import { openSqlite } from '../../../src/storage/sqlite.js';
import type { KeyStore } from '../../../src/storage/types.js';
import { ManualClock } from '../../../src/util/clock.js';

const dir = mkdtempSync(join(tmpdir(), 'countersign-signer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('LocalSigner opened-key cache', () => {
  it('keeps at most maxOpenedKeys keys, dropping the least recently used', async () => {
    const storage = openSqlite(join(dir, 'db.sqlite'));
    try {
      const clock = new ManualClock('2026-01-01T00:00:00Z');
      const { keyring } = await Keyring.open({ storage, dataDir: dir, clock });
      // The real key store, with its reads counted: a read is a key opened from storage.
      const reads: string[] = [];
      const keys: KeyStore = Object.create(storage.keys, {
        get: {
          value: (id: string) => {
            reads.push(id);
            return storage.keys.get(id);
          },
        },
      });
      const signer = new LocalSigner({ keys, sealer: keyring, clock, maxOpenedKeys: 2 });
      const ids: string[] = [];
      for (const gun of ['a', 'b', 'c'])
        ids.push((await signer.create(`example.com/${gun}`, 'timestamp')).keyId);
      const [a, b, c] = ids as [string, string, string];
      const message = Buffer.from('signed bytes');
      const signWith = async (id: string) => {
        const [entry] = await signer.sign([id], message);
        assert.equal(entry?.keyid, id);
      };
      await signWith(a);
      await signWith(b);
      await signWith(a); // a is now the most recently used
      assert.deepEqual(reads, [a, b], 'a and b opened once each');
      await signWith(c); // over the cap: b, the least recently used, goes
      await signWith(a);
      assert.deepEqual(reads, [a, b, c], 'a stayed open');
      await signWith(b);
      assert.deepEqual(reads, [a, b, c, b], 'b was dropped and is opened again');
    } finally {
      await storage.close();
    }
  });
});
