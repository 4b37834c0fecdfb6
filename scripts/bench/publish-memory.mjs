#!/usr/bin/env node
// Memory after many publishes across many repositories (performance issue: "RSS after 10,000
// publishes across 1,000 GUNs, no growth without bound in caches"), and a publish loop to
// profile the POST path with (--cpu-prof). Countersign (SQLite, log level warn) pinned to one
// CPU; every upload is signed here before the clock starts and POSTed over plain HTTP, no
// notary CLI. Method: docs/bench.md "Memory after many publishes".
import os from 'node:os';
import { httpGet } from './procs.mjs';
import { startCountersign } from './servers.mjs';
import { RssSampler } from './rss.mjs';
import { DirectRepo, targetList } from './direct-repo.mjs';
import { median } from './report.mjs';

const USAGE = `Usage: node scripts/bench/publish-memory.mjs [OPTIONS]

  --guns N          repositories (default 1000)
  --publishes N     publishes in all, spread evenly over the GUNs (default 10000)
  --concurrency N   uploads in flight at once (default 4)
  --server-cpu LIST CPU(s) for Countersign (default 0)
  --cpu-prof DIR    run Countersign under node --cpu-prof (profiles written into DIR at exit)
  --help            this text
`;

const say = (msg) => process.stderr.write(`publish-memory: ${msg}\n`);
const mb = (bytes) => Math.round(bytes / 1024 / 1024);

function parse(argv) {
  const o = { guns: 1000, publishes: 10_000, concurrency: 4, serverCpu: '0', cpuProf: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const whole = (flag) => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive whole number`);
      return n;
    };
    if (a === '--guns') o.guns = whole(a);
    else if (a === '--publishes') o.publishes = whole(a);
    else if (a === '--concurrency') o.concurrency = whole(a);
    else if (a === '--server-cpu') o.serverCpu = argv[++i];
    else if (a === '--cpu-prof') o.cpuProf = argv[++i];
    else if (a === '--help') o.help = true;
    else throw new Error(`unknown option ${a}`);
  }
  if (o.publishes < o.guns) throw new Error('--publishes must be at least --guns (one each)');
  return o;
}

/** Every upload, signed now: per GUN its first publish (root + targets v1), then targets v2…. */
async function prepare(url, o) {
  const perGun = Math.floor(o.publishes / o.guns);
  const extra = o.publishes % o.guns;
  const repos = [];
  for (let g = 0; g < o.guns; g++) {
    const repo = await DirectRepo.open(url, `bench.test/mem/r${g}`);
    const n = perGun + (g < extra ? 1 : 0);
    const bodies = [repo.firstUpload(targetList('t-', 3, g))];
    for (let v = 2; v <= n; v++) bodies.push(repo.targetsUpload(v, targetList('t-', 3 + v, g)));
    repos.push({ repo, bodies });
    if ((g + 1) % 100 === 0) say(`signed the uploads of ${g + 1} of ${o.guns} GUNs`);
  }
  return repos;
}

/** `lanes` loops, each publishing its own GUNs' uploads in version order, round-robin over them. */
async function publishAll(repos, lanes, onEach) {
  const times = [];
  const lane = async (first) => {
    const mine = repos.filter((_, i) => i % lanes === first);
    const rounds = Math.max(...mine.map((r) => r.bodies.length));
    for (let round = 0; round < rounds; round++) {
      for (const r of mine) {
        const body = r.bodies[round];
        if (!body) continue;
        times.push((await r.repo.post(body)).ms);
        onEach(times.length);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, repos.length) }, (_, i) => lane(i)));
  return times;
}

/**
 * The server's own view of its memory, from its Prometheus metrics (prom-client's default
 * Node.js metrics): how much of the RSS is V8 heap in use, heap committed, and external memory.
 */
async function heapOf(url) {
  const r = await httpGet(`${url}/metrics`);
  if (r.status !== 200) throw new Error(`GET /metrics: ${r.status}`);
  const text = r.body.toString('utf8');
  const value = (name) => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+]+)$`, 'm').exec(text);
    return m ? mb(Number(m[1])) : undefined;
  };
  return {
    heapUsedMB: value('nodejs_heap_size_used_bytes'),
    heapTotalMB: value('nodejs_heap_size_total_bytes'),
    externalMB: value('nodejs_external_memory_bytes'),
  };
}

async function main() {
  let o;
  try {
    o = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`publish-memory: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (o.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const loadBefore = os.loadavg();
  const cs = await startCountersign({ cpus: o.serverCpu, logLevel: 'warn', cpuProfDir: o.cpuProf });
  const rss = new RssSampler(100);
  try {
    rss.watch('countersign', cs.service.pid);
    const atStart = rss.result().countersign.lastBytes;
    say(`signing ${o.publishes} uploads for ${o.guns} GUNs`);
    const repos = await prepare(cs.url, o);
    say(`publishing, ${o.concurrency} at a time`);
    const progress = [];
    const started = performance.now();
    const times = await publishAll(repos, o.concurrency, (n) => {
      if (n % 1000 !== 0) return;
      rss.sample();
      progress.push({ publishes: n, rssMB: mb(rss.result().countersign.lastBytes) });
      say(`${n} publishes, RSS ${progress.at(-1).rssMB} MB`);
    });
    const seconds = (performance.now() - started) / 1000;
    rss.sample();
    const afterPublishes = rss.result().countersign.lastBytes;
    const heapAfterPublishes = await heapOf(cs.url);
    say('reading every GUN’s timestamp, snapshot, targets and root twice (fills the read cache)');
    for (let pass = 0; pass < 2; pass++) {
      for (const { repo } of repos) {
        for (const role of ['timestamp', 'snapshot', 'targets', 'root']) {
          const r = await httpGet(`${cs.url}/v2/${repo.gun}/_trust/tuf/${role}.json`);
          if (r.status !== 200) throw new Error(`GET ${repo.gun} ${role}.json: ${r.status}`);
        }
      }
    }
    rss.sample();
    const result = {
      guns: o.guns,
      publishes: times.length,
      concurrency: o.concurrency,
      publishesPerSecond: Math.round(times.length / seconds),
      postMs: { median: median(times), max: Math.max(...times) },
      rssMB: {
        atStart: mb(atStart),
        afterPublishes: mb(afterPublishes),
        afterReads: mb(rss.result().countersign.lastBytes),
        max: mb(rss.result().countersign.maxBytes),
      },
      heap: { afterPublishes: heapAfterPublishes, afterReads: await heapOf(cs.url) },
      progress,
      loadAverage: { before: loadBefore, after: os.loadavg() },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } finally {
    rss.stop();
    await cs.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`publish-memory: failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  }
);
