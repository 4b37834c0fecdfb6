/**
 * The short run of the store crash harness (test/reliability/store-crash-harness.ts): SIGKILLs
 * of `countersign serve` while a reviewer approves submissions whose publish promotes the image
 * in a real registry. `npm run crash -- --store --kills 20` is the long run (README "Reliability").
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runStoreCrashHarness } from './store-crash-harness.js';

describe('crash safety: SIGKILL while the store publishes approved submissions', () => {
  it('strands no submission, loses no acknowledged publish, and keeps metadata, registry and audit chain in agreement over 4 kills', async (t) => {
    const r = await runStoreCrashHarness({
      kills: 4,
      tagsPerRound: 3,
      seed: 5,
      minDelayMs: 200,
      maxDelayMs: 1_500,
      log: (line) => t.diagnostic(line),
    });
    assert.deepEqual(r.lost, []);
    assert.deepEqual(r.failures, []);
    // The kills must have landed while publishes were going on, or the run proves nothing.
    assert.ok(r.publishesAcknowledged >= 2, `${r.publishesAcknowledged} publishes acknowledged`);
  });
});
