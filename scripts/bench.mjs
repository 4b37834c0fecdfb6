#!/usr/bin/env node
// `npm run bench`: Countersign against notary-server 0.7 and against Node's own ceiling, on the
// figures of the performance issue (docs/bench.md describes the method). Servers are pinned to
// one CPU, wrk and the notary CLI to another; every process started here is killed at the end,
// on error and on Ctrl-C, and every temporary directory is removed.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseOptions, missingPrerequisites, runsPhase, USAGE } from './bench/options.mjs';
import { cachedHeaders, httpGet, makeTempDir, sleep, tail } from './bench/procs.mjs';
import { repoRoot, startCeiling, startCountersign, startNotaryServer } from './bench/servers.mjs';
import { NotaryCli } from './bench/notary.mjs';
import { wrk, wrkRounds } from './bench/wrk.mjs';
import { RssSampler, childrenOf } from './bench/rss.mjs';
import { countersignUpdateMs, notaryServerUpdateMs } from './bench/logs.mjs';
import { deriveGetRow, evaluateGoals, formatReport } from './bench/report.mjs';
import {
  APP,
  APP_TARGETS,
  BIG,
  PUB,
  bigUpload,
  endpointList,
  measurePublish,
  median,
  populate,
  resolvePaths,
} from './bench/repos.mjs';
import { postgresPhase } from './bench/pg-phase.mjs';
import { cliStartPhase, formatCliStart } from './bench/cli-start.mjs';
import { historyPhase } from './bench/history-phase.mjs';
import { uploadPhase } from './bench/upload-phase.mjs';

const say = (msg) => process.stderr.write(`bench: ${msg}\n`);

async function main() {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const problems = missingPrerequisites(repoRoot, options);
  if (problems.length > 0) {
    process.stderr.write(`bench: cannot run:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    return 1;
  }

  const startedAt = new Date().toISOString();
  const results = {
    startedAt,
    machine: machineInfo(),
    options,
    gets: [],
  };
  const load = {
    cpus: options.loadCpu,
    connections: options.connections,
    durationS: options.durationS,
    warmupS: options.warmupS,
    repeat: options.repeat,
  };
  const rss = new RssSampler(100);
  const stops = [];
  const stopLater = (s) => {
    stops.push(s);
    return s;
  };
  const ctx = {
    options,
    results,
    load,
    rss,
    stops,
    stopLater,
    stopNow: (s) => stopNow(stops, s),
    say,
  };

  try {
    if (runsPhase(options, 'main')) await memoryBackendPhases(ctx);
    if (runsPhase(options, 'main'))
      results.cliStart = await cliStartPhase({
        say,
        serverCpu: options.serverCpu,
        loadCpu: options.loadCpu,
      });
    if (runsPhase(options, 'history')) results.history = await historyPhase(ctx);
    if (runsPhase(options, 'uploads')) results.uploads = await uploadPhase(ctx);
    if (runsPhase(options, 'postgres')) results.postgres = await postgresPhase(ctx);
    rss.stop();
    results.rss = rss.result();
    results.finishedAt = new Date().toISOString();
    results.machine.loadAverageAtEnd = os.loadavg();
    results.goals = evaluateGoals(results);
  } catch (err) {
    // A server that died mid-run is the likely cause (wrk then says "connection refused"): say
    // which, how, and what it printed, before its temporary directory goes.
    const dead = stops.filter((s) => s.service.exit);
    const why = dead.map(
      (s) =>
        `${s.name} (pid ${s.service.pid}) exited: ${JSON.stringify(s.service.exit)}${s.service.stopping ? '' : s.service.exit.signal ? ' (a signal the benchmark did not send: something else on this machine killed it)' : ''}; its last output:\n${tail(s.service.output(), 15)}`
    );
    if (why.length && err instanceof Error) {
      // V8 formats `stack` on first read: read it before the message grows.
      const stack = err.stack ?? '';
      const before = err.message;
      err.message += `\n${why.join('\n')}`;
      err.stack = stack.replace(before, err.message);
    }
    throw err;
  } finally {
    for (const s of stops.reverse()) await s.stop().catch(() => {});
  }

  const cli = results.cliStart ? `\n\n${formatCliStart(results.cliStart)}` : '';
  const text = formatReport(results) + cli;
  process.stdout.write(`\n${text}\n`);
  const dir = join(repoRoot, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${startedAt.replace(/[:.]/g, '-')}.json`);
  const json = JSON.stringify({ ...results, table: text }, null, 2);
  writeFileSync(file, json);
  process.stdout.write(`\nJSON: ${file}\n`);
  if (options.json) {
    writeFileSync(options.json, json);
    process.stdout.write(`JSON: ${options.json}\n`);
  }
  return 0;
}

/**
 * Everything measured against notary-server's memory backend (the issue's goals): GETs against
 * the ceilings, publishes, the large upload, request logs and --workers.
 */
async function memoryBackendPhases({ options, results, load, rss, stops, stopLater }) {
  const cpuProfDir = options.cpuProf;
  const serverCpu = options.serverCpu;
  // The main instances: Countersign on a data dir of its own (restarted on later with
  // --workers), notary-server in memory. Both idle on the server CPU while the other is loaded.
  const csDataParent = makeTempDir('bench-countersign-data-');
  const csData = join(csDataParent, 'data');
  say('starting Countersign (--log-level warn) and notary-server (log level warn)');
  const cs = stopLater(
    await startCountersign({ cpus: serverCpu, logLevel: 'warn', dataDir: csData, cpuProfDir })
  );
  rss.watch('countersign', cs.service.pid);
  const ns = stopLater(await startNotaryServer({ cpus: serverCpu, logLevel: 'warn' }));
  rss.watch('notary-server', ns.service.pid);
  const servers = { countersign: cs, notaryServer: ns };
  const clients = {
    countersign: new NotaryCli(cs.url, options.loadCpu),
    notaryServer: new NotaryCli(ns.url, options.loadCpu),
  };

  say(
    `populating ${APP} on both with the notary CLI: ${APP_TARGETS} targets, server-held snapshot and timestamp keys`
  );
  for (const c of Object.values(clients)) await populate(c, APP, 'app-', APP_TARGETS);

  say(`publish end to end: ${options.publishRuns} × notary add -p on each server`);
  results.publish = await measurePublish(clients, options.publishRuns);

  say(`uploading a ${options.bigTargets}-target targets.json to both (${BIG})`);
  const bigE2e = {};
  for (const [k, c] of Object.entries(clients))
    bigE2e[k] = await bigUpload(c, BIG, options.bigTargets);

  const endpoints = endpointList(options.bigTargets);
  const paths = {};
  for (const [k, s] of Object.entries(servers)) paths[k] = await resolvePaths(s.url, endpoints);

  // The ceilings answer Countersign's own responses (bytes and headers) at Countersign's paths.
  const responses = {};
  for (const e of endpoints) {
    const r = await httpGet(cs.url + paths.countersign[e.id]);
    responses[paths.countersign[e.id]] = {
      headers: cachedHeaders(r.headers),
      body: r.body,
    };
  }
  say('starting the bare node:http and Express 5 ceilings');
  const bare = stopLater(await startCeiling('bare', { cpus: serverCpu, responses }));
  const express = stopLater(await startCeiling('express', { cpus: serverCpu, responses }));

  // The first figure of a run would otherwise also pay for JIT-compiling the whole read path.
  say('warming up every server on timestamp.json');
  for (const [k, s] of [
    ...Object.entries(servers),
    ['countersign', bare],
    ['countersign', express],
  ]) {
    await wrk(s.url + paths[k].timestamp, { ...load, durationS: 2, warmupS: 0 });
  }
  for (const e of endpoints) {
    say(
      `GET ${e.what}: countersign, notary-server, bare node:http${e.id === 'timestamp' ? ', express' : ''}`
    );
    const targets = {
      countersign: cs.url + paths.countersign[e.id],
      notaryServer: ns.url + paths.notaryServer[e.id],
      bare: bare.url + paths.countersign[e.id],
    };
    // One role is enough for Express; measured in the same rounds as the bare server.
    if (e.id === 'timestamp') targets.express = express.url + paths.countersign[e.id];
    const { express: expressRun, ...row } = await wrkRounds(targets, load);
    results.gets.push(deriveGetRow({ id: e.id, what: e.what, ...row }));
    if (expressRun) results.express = { what: e.what, wrk: expressRun, bareRps: row.bare.rps };
  }
  await stopNow(stops, bare);
  await stopNow(stops, express);
  results.upload = {
    targets: options.bigTargets,
    countersign: { e2eMs: bigE2e.countersign },
    notaryServer: { e2eMs: bigE2e.notaryServer },
  };

  // Request logs on: Countersign with its default logging, notary-server at info. Same data,
  // fresh instances; the large upload is repeated there because only the logs say server time.
  await stopNow(stops, cs);
  rss.unwatch('countersign');
  say('starting Countersign with default logging and notary-server at log level info');
  const csInfo = stopLater(
    await startCountersign({ cpus: serverCpu, name: 'countersign-info', cpuProfDir })
  );
  rss.watch('countersign-info', csInfo.service.pid);
  const nsInfo = stopLater(
    await startNotaryServer({ cpus: serverCpu, logLevel: 'info', name: 'notary-server-info' })
  );
  const infoClients = {
    countersign: new NotaryCli(csInfo.url, options.loadCpu),
    notaryServer: new NotaryCli(nsInfo.url, options.loadCpu),
  };
  for (const c of Object.values(infoClients)) await populate(c, APP, 'app-', APP_TARGETS);
  const warnTs = results.gets.find((g) => g.id === 'timestamp');
  results.logging = {
    what: 'timestamp.json',
    countersignWarnRps: warnTs.countersign.rps,
    notaryServerWarnRps: warnTs.notaryServer.rps,
  };
  say('GET timestamp.json on Countersign and notary-server with request logs');
  const logged = await wrkRounds(
    {
      countersign: `${csInfo.url}/v2/${APP}/_trust/tuf/timestamp.json`,
      notaryServer: `${nsInfo.url}/v2/${APP}/_trust/tuf/timestamp.json`,
    },
    load
  );
  Object.assign(results.logging, logged);
  say(
    `repeating the ${options.bigTargets}-target upload to read the server time from the request logs`
  );
  for (const [k, c] of Object.entries(infoClients)) {
    results.upload[k].e2eMsWithLogs = await bigUpload(c, BIG, options.bigTargets);
  }
  const k = Math.min(options.publishRuns, 10);
  say(`${k} × notary add -p on each, to read the server time of a one-target publish`);
  await measurePublish(infoClients, k);
  await sleep(500); // pino writes asynchronously
  const serverPublish = {
    countersign: countersignUpdateMs(csInfo.service.output(), PUB)
      .slice(-k)
      .map((x) => x.ms),
    notaryServer: notaryServerUpdateMs(nsInfo.service.output(), PUB)
      .slice(-k)
      .map((x) => x.ms),
  };
  for (const [name, ms] of Object.entries(serverPublish)) {
    results.publish[name].serverMedianMs = ms.length === k ? median(ms) : undefined;
    results.publish[name].serverMs = ms;
  }
  const csPosts = countersignUpdateMs(csInfo.service.output(), BIG);
  const nsPosts = notaryServerUpdateMs(nsInfo.service.output(), BIG);
  results.upload.countersign.serverMs = csPosts.at(-1)?.ms;
  results.upload.countersign.serverUpdates = csPosts;
  results.upload.notaryServer.serverMs = nsPosts.at(-1)?.ms;
  results.upload.notaryServer.serverUpdates = nsPosts;
  await stopNow(stops, csInfo);
  rss.unwatch('countersign-info');
  await stopNow(stops, nsInfo);

  if (options.workers > 0)
    results.workers = await measureWorkers(
      options,
      csData,
      paths.countersign.timestamp,
      load,
      rss,
      warnTs.countersign.rps,
      stops
    );

  rss.unwatch('notary-server');
  await stopNow(stops, ns);
}

async function stopNow(stops, s) {
  await s.stop();
  const i = stops.indexOf(s);
  if (i >= 0) stops.splice(i, 1);
}

/**
 * `countersign serve --workers N` on the main data dir. "Not available" when the flag is refused
 * or accepted without any worker process appearing (the server then runs as one process).
 */
async function measureWorkers(options, dataDir, tsPath, load, rss, singleRps, stops) {
  const n = options.workers;
  const out = { n, what: 'timestamp.json' };
  say(`trying countersign serve --workers ${n}`);
  let server;
  try {
    server = await startCountersign({
      cpus: options.serverCpu,
      logLevel: 'warn',
      dataDir,
      extraArgs: ['--workers', String(n)],
      name: `countersign-workers-${n}`,
      cpuProfDir: options.cpuProf,
    });
  } catch (e) {
    out.status = `not available (${firstLine(e.message)})`;
    return out;
  }
  stops.push(server);
  try {
    await sleep(1000);
    const kids = childrenOf(server.service.pid);
    out.workerPids = kids;
    if (kids.length === 0) {
      out.status =
        'not available (the flag is accepted, but no worker processes start: one process serves)';
      return out;
    }
    rss.watch(server.name, server.service.pid);
    out.wrk = (await wrkRounds({ workers: server.url + tsPath }, load)).workers;
    out.singleRps = singleRps;
    out.status = 'measured';
    rss.unwatch(server.name);
    return out;
  } finally {
    await stopNow(stops, server);
  }
}

function firstLine(s) {
  return (
    String(s)
      .split('\n')
      .find((l) => l.trim()) ?? String(s)
  );
}

function machineInfo() {
  const v = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'notary'], { encoding: 'utf8' });
  const wrkV = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'wrk'], { encoding: 'utf8' });
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryBytes: os.totalmem(),
    node: process.version,
    notaryServer: v.status === 0 ? v.stdout.trim() : 'unknown',
    wrk: wrkV.status === 0 ? wrkV.stdout.trim() : 'unknown',
    loadAverage: os.loadavg(),
  };
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(
      `bench: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`
    );
    process.exit(1);
  }
);
