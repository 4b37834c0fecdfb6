/**
 * The bounded fuzz run of `npm test` (test/fuzz/harness.ts): every client-facing surface with a
 * fixed seed, so a failure reproduces; `npm run fuzz -- --runs 10000` is the long run. A failure
 * prints fast-check's shrunk counterexample; turn it into a regression test beside the fix.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runFuzzTarget } from './targets.js';
import type { FuzzTarget } from './harness.js';

const RUNS: Record<FuzzTarget, number> = { upload: 200, read: 400, store: 200, token: 200 };

describe('fuzz (fast-check, fixed seed)', () => {
  for (const target of Object.keys(RUNS) as FuzzTarget[]) {
    it(`${target}: no 5xx, no dropped connection, nothing written on a refusal, accepted uploads readable by the notary CLI`, async () => {
      const r = await runFuzzTarget(target, {
        runs: RUNS[target],
        seed: 20261207,
        notaryCheckShare: 0.25,
      });
      assert.equal(r.failure, null);
      assert.equal(r.cases, RUNS[target]);
      // Both outcomes must occur, or the generators explore only one side.
      assert.ok(r.refused > 0, `${r.refused} refused`);
      assert.ok(r.accepted > 0, `${r.accepted} accepted`);
    });
  }
});
