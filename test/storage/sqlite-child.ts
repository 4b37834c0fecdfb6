/**
 * A second OS process for test/storage/sqlite.test.ts (compiled to dist/, run with node):
 *   node sqlite-child.js <mode> <db path> <gun> <count>
 * It opens the storage, prints "ready", waits for a line on stdin, does its work and prints one
 * JSON line with the result. Modes:
 *   increment  `count` transactions, each writing the latest timestamp version + 1
 *   race       blind writes of timestamp versions 1..count (the other process races for them)
 *   write-one  one timestamp at version `count`
 *   read       what a plain read sees now (latest timestamp version, number of changes)
 */
import { createInterface } from 'node:readline';
import { isCountersignError } from '../../src/errors.js';
import { openSqlite } from '../../src/storage/sqlite.js';
import { metaFile, T0 } from './contract.js';

const [mode, path, gun, countText] = process.argv.slice(2);
const count = Number(countText);
const storage = openSqlite(path!, { busyTimeoutMs: 20_000 });
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
process.stdout.write('ready\n');
await lines.next();

let result: unknown;
switch (mode ?? '') {
  case 'increment': {
    const written: number[] = [];
    for (let i = 0; i < count; i++) {
      written.push(
        await storage.transaction(async (tx) => {
          const latest = await tx.meta.getLatest(gun!, 'timestamp');
          const version = (latest?.version ?? 0) + 1;
          // Give the other process a chance to interleave if serialization were broken.
          await new Promise((r) => setImmediate(r));
          await tx.meta.updateMany(
            gun!,
            [metaFile('timestamp', version, Buffer.from(`${process.pid}:${version}`))],
            T0
          );
          return version;
        })
      );
    }
    result = { written };
    break;
  }
  case 'race': {
    const won: number[] = [];
    const lost: number[] = [];
    for (let v = 1; v <= count; v++) {
      try {
        await storage.meta.updateMany(
          gun!,
          [metaFile('timestamp', v, Buffer.from(`${process.pid}:${v}`))],
          T0
        );
        won.push(v);
      } catch (err) {
        if (!isCountersignError(err, 'STORAGE_OLD_VERSION')) throw err;
        lost.push(v);
      }
    }
    result = { won, lost };
    break;
  }
  case 'write-one':
    await storage.meta.updateMany(gun!, [metaFile('timestamp', count)], T0);
    result = { written: [count] };
    break;
  case 'read':
    result = {
      latest: (await storage.meta.getLatest(gun!, 'timestamp'))?.version ?? null,
      changes: (await storage.meta.changes(null, 0, 1000)).length,
    };
    break;
  default:
    throw new Error(`unknown mode ${mode}`);
}
await storage.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
