#!/usr/bin/env node
// Isolates the long-history phase's open question (docs/performance.md "Two full runs"): do many
// large uploads in this process, or a notary-server holding the same history on the same core,
// slow Countersign's cached small-file GETs? Starts Countersign and notary-server pinned to CPU 0,
// wrk on CPU 1, and measures root.json and timestamp.json after the first upload, after the
// bench's long-history uploads up to targets version N (the delegation's too), and after
// notary-server stopped. Usage: node scripts/bench/history-isolation.mjs [N=200] (needs
// `npm run build`, wrk, taskset, notary-server; loopback only; about two minutes).
import { startCountersign, startNotaryServer } from './servers.mjs';
import { wrk } from './wrk.mjs';
import { DirectRepo, targetList } from './direct-repo.mjs';
import { historyUploads } from './history-phase.mjs';

const GUN = 'bench.test/history';
const versions = Number(process.argv[2] ?? 200);
const TARGETS = 3000;
const load = { cpus: '1', connections: 32, durationS: 4, warmupS: 1 };
const url = (s, file) => `${s.url}/v2/${GUN}/_trust/tuf/${file}`;

async function measure(server, label) {
  await wrk(url(server, 'root.json'), { ...load, durationS: 2, warmupS: 0 });
  for (const file of ['root.json', 'timestamp.json']) {
    const r = await wrk(url(server, file), load);
    console.log(`${label}: ${file} ${Math.round(r.rps)} req/s, p99 ${r.p99Ms} ms`);
  }
}

const cs = await startCountersign({ cpus: '0', logLevel: 'warn', name: 'isolation-countersign' });
const ns = await startNotaryServer({ cpus: '0', logLevel: 'warn', name: 'isolation-notary' });
try {
  const client = await DirectRepo.clientKeys(GUN);
  const repos = [
    await DirectRepo.open(cs.url, GUN, client),
    await DirectRepo.open(ns.url, GUN, client),
  ];
  const first = repos[0].targetsFile(1, targetList('app-', TARGETS), { delegation: true });
  for (const r of repos) {
    await r.post(r.firstUploadWith(first));
    await r.post(r.delegationUpload(1, targetList('rel-', 20)));
  }
  await measure(cs, 'after the first upload');
  for (const body of historyUploads(repos[0], versions, TARGETS))
    for (const r of repos) await r.post(body);
  await measure(
    cs,
    `after targets versions 2–${versions} and the delegation's, notary-server alive`
  );
  await ns.stop();
  await measure(cs, 'notary-server stopped');
} finally {
  await ns.stop().catch(() => {});
  await cs.stop();
}
