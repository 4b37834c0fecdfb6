/**
 * The short run of the crash harness (test/reliability/crash-harness.ts): a few SIGKILLs of
 * `countersign serve` while the real notary CLI publishes, nothing acknowledged lost, no rollback,
 * the database intact. `npm run crash -- --kills 50` is the long run (README "Reliability").
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runCrashHarness } from './crash-harness.js';

describe('crash safety: SIGKILL while the notary CLI publishes', () => {
  it('SQLite: loses no acknowledged publish, never rolls back, and keeps the database intact over 6 kills', async () => {
    const r = await runCrashHarness({
      backend: 'sqlite',
      kills: 6,
      seed: 7,
      minDelayMs: 150,
      maxDelayMs: 900,
    });
    assert.deepEqual(r.lost, []);
    assert.deepEqual(r.rollbacks, []);
    assert.deepEqual(r.failures, []);
    // The kills must have landed while work was going on, or the run proves nothing.
    assert.ok(r.publishesAcknowledged >= 6, `${r.publishesAcknowledged} publishes acknowledged`);
  });

  it('PostgreSQL, two instances, the one published through is killed: the other sees every acknowledged publish, never a lower version', async () => {
    const r = await runCrashHarness({
      backend: 'postgres',
      kills: 4,
      seed: 11,
      minDelayMs: 150,
      maxDelayMs: 900,
    });
    assert.deepEqual(r.lost, []);
    assert.deepEqual(r.rollbacks, []);
    assert.deepEqual(r.failures, []);
    assert.ok(r.publishesAcknowledged >= 4, `${r.publishesAcknowledged} publishes acknowledged`);
  });
});
