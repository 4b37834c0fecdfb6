#!/usr/bin/env node
// The server time of one publish, measured many times (performance issue 19: "notary add -p end
// to end at most notary-server's time, and the POST's server time reported"). Countersign
// (SQLite, default logging: one request line per request) pinned to one CPU; one repository
// whose uploads are shaped as the notary CLI's `add -p` sends them (targets.json alone, the
// server signing snapshot and timestamp; `--targets` of them, one changed each version, as in
// the benchmark's publish repository after a run), all signed before the clock starts and POSTed one after the other over plain HTTP. Reported: the median, p90 and
// max of the server's own time (the `ms` of its request lines) and of the client's, and the
// load average. `--count-sql` instead counts the SQL statements per publish (method:
// docs/bench.md "Publish server time").
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startCountersign } from './servers.mjs';
import { DirectRepo, targetList } from './direct-repo.mjs';
import { countersignUpdateMs } from './logs.mjs';
import { median } from './report.mjs';
import { sleep } from './procs.mjs';

const here = dirname(fileURLToPath(import.meta.url));

const USAGE = `Usage: node scripts/bench/publish-time.mjs [OPTIONS]

  --publishes N     measured publishes (default 200)
  --warmup N        uncounted publishes first (default 30)
  --targets N       targets listed in every upload (default 25)
  --server-cpu LIST CPU(s) for Countersign (default 0)
  --cpu-prof DIR    run Countersign under node --cpu-prof (profiles written into DIR at exit)
  --log-level L     Countersign's log level (default info: request lines give the server
                    time; at warn only the client's time and the CPU time are reported)
  --count-sql       count the SQL statements of the measured publishes instead of timing them
  --help            this text
`;

const GUN = 'bench.test/publish-time';
const say = (msg) => process.stderr.write(`publish-time: ${msg}\n`);

function parse(argv) {
  const o = {
    publishes: 200,
    warmup: 30,
    targets: 25,
    serverCpu: '0',
    cpuProf: undefined,
    countSql: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const whole = (flag, min) => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < min) throw new Error(`${flag} needs a whole number ≥ ${min}`);
      return n;
    };
    if (a === '--publishes') o.publishes = whole(a, 1);
    else if (a === '--warmup') o.warmup = whole(a, 0);
    else if (a === '--targets') o.targets = whole(a, 1);
    else if (a === '--server-cpu') o.serverCpu = argv[++i];
    else if (a === '--cpu-prof') o.cpuProf = argv[++i];
    else if (a === '--count-sql') o.countSql = true;
    else if (a === '--log-level') o.logLevel = argv[++i];
    else if (a === '--help') o.help = true;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

function summary(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const round = (x) => Math.round(x * 1000) / 1000;
  return {
    median: round(median(s)),
    p90: round(s[Math.min(s.length - 1, Math.floor(s.length * 0.9))]),
    max: round(s[s.length - 1]),
  };
}

/**
 * CPU time a process has used in ms, user and system (all threads): /proc/PID/stat's utime and
 * stime in clock ticks (100 a second on Linux). Waiting for the disk is in neither, so user time
 * is the JavaScript and native work of a publish without its fsync (system time holds the
 * kernel's share of the writes and the sockets); both hold stiller on a busy machine than times.
 */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) * 10, system: Number(fields[12]) * 10 };
}

/** The statement counts the preloaded sql-counter.mjs printed last, divided by `publishes`. */
async function takeSqlCounts(cs, publishes) {
  const before = cs.service.output().length;
  process.kill(cs.service.pid, 'SIGUSR2');
  for (let waited = 0; waited < 5000; waited += 20) {
    const m = /sql-counts (\{.*\})\n/.exec(cs.service.output().slice(before));
    if (m) {
      const counts = JSON.parse(m[1]);
      const per = (n) => Math.round((n / publishes) * 100) / 100;
      const perPublish = Object.fromEntries(Object.entries(counts).map(([k, n]) => [k, per(n)]));
      const total = (bucket) =>
        per(
          Object.entries(counts)
            .filter(([k]) => k.startsWith(bucket))
            .reduce((sum, [, n]) => sum + n, 0)
        );
      return { inTransaction: total('tx '), outside: total('-- '), perPublish };
    }
    await sleep(20);
  }
  throw new Error('the server printed no sql-counts (was sql-counter.mjs preloaded?)');
}

async function main() {
  let o;
  try {
    o = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`publish-time: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (o.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const counter = pathToFileURL(join(here, 'sql-counter.mjs')).href;
  const cs = await startCountersign({
    cpus: o.serverCpu,
    cpuProfDir: o.cpuProf,
    logLevel: o.logLevel,
    ...(o.countSql ? { env: { NODE_OPTIONS: `--import=${counter}` } } : {}),
  });
  try {
    const repo = await DirectRepo.open(cs.url, GUN);
    const total = 1 + o.warmup + o.publishes;
    say(`signing ${total} uploads`);
    // Version v changes target v mod N: one target's hash differs from the previous version's.
    const listFor = (v) =>
      targetList('t-', o.targets).map((t, i) =>
        i === v % o.targets ? { ...t, sha256: Buffer.alloc(32, v % 251) } : t
      );
    const bodies = [repo.firstUpload(listFor(1))];
    for (let v = 2; v <= total; v++) bodies.push(repo.targetsUpload(v, listFor(v)));
    const loadBefore = os.loadavg();
    for (const body of bodies.slice(0, 1 + o.warmup)) await repo.post(body);
    if (o.countSql) await takeSqlCounts(cs, 1); // forget the set-up's statements
    say(`publishing ${o.publishes} times`);
    const clientMs = [];
    const cpuBefore = cpuMs(cs.service.pid);
    for (const body of bodies.slice(1 + o.warmup)) clientMs.push((await repo.post(body)).ms);
    await sleep(100); // the cache prewarm after the last publish
    const cpuAfter = cpuMs(cs.service.pid);
    const perPublish = (k) =>
      Math.round(((cpuAfter[k] - cpuBefore[k]) / o.publishes) * 1000) / 1000;
    const loadAfter = os.loadavg();
    if (o.countSql) {
      const sql = await takeSqlCounts(cs, o.publishes);
      process.stdout.write(`${JSON.stringify({ publishes: o.publishes, sql }, null, 2)}\n`);
      return 0;
    }
    await sleep(200); // the last request lines reach the log file
    const logged = !o.logLevel || ['trace', 'debug', 'info'].includes(o.logLevel);
    const server = logged ? countersignUpdateMs(cs.service.output(), GUN).slice(-o.publishes) : [];
    if (logged && (server.length !== o.publishes || server.some((r) => r.status !== 200)))
      throw new Error(`expected ${o.publishes} logged 200s, found ${server.length}`);
    const result = {
      publishes: o.publishes,
      targets: o.targets,
      ...(logged ? { serverMs: summary(server.map((r) => r.ms)) } : {}),
      clientMs: summary(clientMs),
      serverCpuMsPerPublish: { user: perPublish('user'), system: perPublish('system') },
      loadAverage: { before: loadBefore, after: loadAfter },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } finally {
    await cs.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`publish-time: failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  }
);
