#!/usr/bin/env node
// Property-based fuzzing of every client-facing surface (test/fuzz/harness.ts):
//   npm run fuzz -- [--runs 10000] [--seed 1] [--target upload|read|store|token ...] [--notary-share 0.05]
// Prints, per target, cases, accepted/refused, real notary CLI checks and the first failure
// (fast-check's shrunk counterexample with its seed and path, to replay). Exits non-zero if any failed.
import { parseArgs } from 'node:util';
import { importCompiled } from './lib/compiled.mjs';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '1' },
    target: { type: 'string', multiple: true },
    'notary-share': { type: 'string', default: '0.05' },
  },
});
const { runFuzzTarget } = await importCompiled('test/fuzz/targets.js');
const targets = values.target ?? ['upload', 'read', 'store', 'token'];
let failed = 0;
for (const target of targets) {
  const r = await runFuzzTarget(target, {
    runs: Number(values.runs),
    seed: Number(values.seed),
    notaryCheckShare: Number(values['notary-share']),
  });
  console.log(
    `${target}: ${r.cases} cases in ${(r.durationMs / 1000).toFixed(0)} s, ${r.accepted} accepted, ` +
      `${r.refused} refused, ${r.notaryChecks} notary CLI checks, ${r.failure ? 'FAILED' : 'no failure'}`
  );
  if (r.failure) {
    failed++;
    console.log(r.failure);
  }
}
process.exit(failed === 0 ? 0 : 1);
