/**
 * The short run of the load harness (test/reliability/load-harness.ts): 15 seconds of mixed reads
 * from four keep-alive clients while the notary CLI publishes. No error of any kind, and the
 * server's open file descriptors stay flat (a leak of one per request or publish would show at
 * once). Memory and latency are figures, not assertions: `npm run soak` reports them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runLoad } from './load-harness.js';

describe('load: mixed reads and publishes', () => {
  it('answers every read and publish without an error, with flat file descriptors', async () => {
    const r = await runLoad({ durationMs: 15_000, sampleMs: 3_000, readers: 4 });
    assert.deepEqual(r.errors, []);
    assert.ok(r.reads > 1_000, `${r.reads} reads`);
    assert.ok(r.publishes > 3, `${r.publishes} publishes`);
    const fds = r.samples.map((s) => s.fds);
    assert.ok(
      Math.max(...fds) - Math.min(...fds) <= 16,
      `open descriptors over time: ${fds.join(', ')}`
    );
  });
});
