/** Job progress: the blob tally of the registry walks and its text (`blobs 37/120, 1.2 GB`). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatBytes,
  progressListener,
  progressText,
  runWithProgress,
} from '../../../src/jobs/progress.js';
import { BlobTally, type BlobProgress } from '../../../src/registry/progress.js';

describe('job progress', () => {
  it('writes bytes in decimal units with one decimal below ten', () => {
    assert.deepEqual(
      [0, 999, 1000, 1234, 56_789, 1_200_000_000, 12_345_678_901, 3e15].map(formatBytes),
      ['0 B', '999 B', '1.0 kB', '1.2 kB', '57 kB', '1.2 GB', '12 GB', '3000 TB']
    );
    assert.equal(
      progressText({ blobsDone: 37, blobsTotal: 120, bytesDone: 1_234_000_000, bytesTotal: 4e9 }),
      'blobs 37/120, 1.2 GB'
    );
  });

  it('counts each digest once, announced or finished, and totals grow with what is announced', () => {
    const seen: BlobProgress[] = [];
    const t = new BlobTally((p) => seen.push(p));
    t.announce([
      { digest: 'a', size: 10 },
      { digest: 'b', size: 20 },
      { digest: 'a', size: 10 },
    ]);
    t.done({ digest: 'a', size: 10 });
    t.done({ digest: 'a', size: 10 });
    t.done({ digest: 'c', size: 5 }); // never announced: counted on finishing
    assert.deepEqual(seen.at(-1), { blobsDone: 2, blobsTotal: 3, bytesDone: 15, bytesTotal: 35 });
    t.announce([{ digest: 'b', size: 20 }]);
    assert.equal(seen.length, 4, 'announcing a known digest again reports nothing');
  });

  it('reports to the job in whose context the walk runs, and to nobody outside one', async () => {
    assert.equal(progressListener('verify'), undefined);
    const got: string[] = [];
    await Promise.all([
      runWithProgress(
        (phase, p) => got.push(`one ${phase} ${p.blobsDone}`),
        async () => {
          await new Promise((r) => setTimeout(r, 5));
          progressListener('copy')!({ blobsDone: 1, blobsTotal: 1, bytesDone: 1, bytesTotal: 1 });
        }
      ),
      runWithProgress(
        (phase, p) => got.push(`two ${phase} ${p.blobsDone}`),
        async () => {
          progressListener('verify')!({ blobsDone: 2, blobsTotal: 2, bytesDone: 1, bytesTotal: 1 });
        }
      ),
    ]);
    assert.deepEqual(got.sort(), ['one copy 1', 'two verify 2']);
    assert.equal(progressListener('verify'), undefined);
  });
});
