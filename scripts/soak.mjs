#!/usr/bin/env node
// Load and soak (test/reliability/load-harness.ts):
//   npm run soak -- [--minutes 10] [--sample-seconds 10] [--readers 4]
// Mixed reads (every role, by version and checksum) from keep-alive clients while the real
// notary CLI publishes; samples the server's RSS and open descriptors and the window's p50/p99.
// Prints every sample and a summary for README "Reliability"; exits non-zero on any error.
import { parseArgs } from 'node:util';
import { importCompiled } from './lib/compiled.mjs';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'sample-seconds': { type: 'string', default: '10' },
    readers: { type: 'string', default: '4' },
  },
});
const { runLoad } = await importCompiled('test/reliability/load-harness.js');
const r = await runLoad({
  durationMs: Number(values.minutes) * 60_000,
  sampleMs: Number(values['sample-seconds']) * 1000,
  readers: Number(values.readers),
  log: (line) => console.log(line),
});
const first = r.samples[1] ?? r.samples[0];
const last = r.samples.at(-1);
const rss = r.samples.map((s) => s.rssMB);
console.log(
  `${(r.durationMs / 60_000).toFixed(1)} min: ${r.reads} reads, ${r.publishes} publishes, ${r.errors.length} errors; ` +
    `RSS ${first.rssMB} → ${last.rssMB} MB (max ${Math.max(...rss)}), open fds ${first.fds} → ${last.fds}, ` +
    `p99 ${first.p99ms} → ${last.p99ms} ms (first sample after warm-up → last)`
);
for (const e of r.errors.slice(0, 20)) console.log(`error: ${e}`);
process.exit(r.errors.length === 0 ? 0 : 1);
