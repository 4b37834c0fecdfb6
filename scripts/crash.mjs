#!/usr/bin/env node
// The long run of the crash harness (test/reliability/crash-harness.ts):
//   npm run crash -- [--backend sqlite|postgres] [--kills 50] [--seed 1] [--min-delay-ms 100] [--max-delay-ms 1500]
//   npm run crash -- --store [--kills 20] [--tags-per-round 3] [--seed 1]   (the store's publish, SQLite)
// Kills `countersign serve` with SIGKILL while the real notary CLI publishes, restarts it on the
// same data dir and checks every acknowledged publish, the chain, rollbacks and integrity_check.
// Prints the figures for README "Reliability" and exits non-zero if anything was lost.
import { parseArgs } from 'node:util';
import { importCompiled } from './lib/compiled.mjs';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'sqlite' },
    kills: { type: 'string', default: '50' },
    seed: { type: 'string', default: '1' },
    'min-delay-ms': { type: 'string', default: '100' },
    'max-delay-ms': { type: 'string', default: '1500' },
    store: { type: 'boolean', default: false },
    'tags-per-round': { type: 'string', default: '3' },
  },
});
if (values.store) {
  // Kills while a reviewer approves and the store publishes (test/reliability/store-crash-harness.ts).
  const { runStoreCrashHarness } = await importCompiled('test/reliability/store-crash-harness.js');
  const r = await runStoreCrashHarness({
    kills: Number(values.kills),
    tagsPerRound: Number(values['tags-per-round']),
    seed: Number(values.seed),
    minDelayMs: Number(values['min-delay-ms']),
    maxDelayMs: Number(values['max-delay-ms']),
    log: (line) => console.log(line),
  });
  console.log(JSON.stringify(r, null, 2));
  console.log(
    `${r.kills} kills during store publishes in ${(r.durationMs / 1000).toFixed(0)} s: ` +
      `${r.publishesAcknowledged} of ${r.approvalsAttempted} approvals acknowledged published, ` +
      `${r.recoveredAtStart} published by the recovery at start, ${r.lost.length} lost, ${r.failures.length} other failures`
  );
  process.exit(r.lost.length + r.failures.length === 0 ? 0 : 1);
}
const { runCrashHarness } = await importCompiled('test/reliability/crash-harness.js');
if (!['sqlite', 'postgres'].includes(values.backend)) {
  console.error(`--backend is sqlite or postgres, not ${values.backend}`);
  process.exit(2);
}
const r = await runCrashHarness({
  backend: values.backend,
  kills: Number(values.kills),
  seed: Number(values.seed),
  minDelayMs: Number(values['min-delay-ms']),
  maxDelayMs: Number(values['max-delay-ms']),
  log: (line) => console.log(line),
});
console.log(JSON.stringify(r, null, 2));
const bad = r.lost.length + r.rollbacks.length + r.failures.length;
console.log(
  `${r.kills} kills in ${(r.durationMs / 1000).toFixed(0)} s: ${r.publishesAcknowledged} of ${r.publishesAttempted} publishes acknowledged, ` +
    `${r.lost.length} lost, ${r.rollbacks.length} rollbacks, ${r.failures.length} other failures`
);
process.exit(bad === 0 ? 0 : 1);
