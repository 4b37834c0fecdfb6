#!/usr/bin/env node
// Isolates the long-history phase's open question (docs/performance.md "Two full runs"): do many
// large uploads in this process, or a notary-server holding the same history on the same core,
// slow Countersign's cached small-file GETs? Starts Countersign and notary-server pinned to CPU 0,
// wrk on CPU 1, and measures root.json and timestamp.json after one upload, after N, and after
// notary-server stopped. Usage: node scripts/bench/history-isolation.mjs [N=200] (needs
// `npm run build`, wrk, taskset, notary-server; loopback only; about two minutes).
import { startCountersign, startNotaryServer } from './servers.mjs';
import { wrk } from './wrk.mjs';
import { DirectRepo, targetList } from './direct-repo.mjs';

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
  for (const r of repos) await r.post(r.firstUploadWith(first));
  await measure(cs, 'after 1 upload');
  for (let v = 2; v <= versions; v++) {
    const list = targetList('app-', TARGETS);
    list[0] = { ...list[0], sha256: Buffer.alloc(32, v % 251), length: v };
    const body = repos[0].targetsUpload(v, list, { delegation: true });
    for (const r of repos) await r.post(body);
  }
  await measure(cs, `after ${versions} uploads to each, notary-server alive`);
  await ns.stop();
  await measure(cs, 'notary-server stopped');
} finally {
  await ns.stop().catch(() => {});
  await cs.stop();
}
