#!/usr/bin/env node
// How fast the client starts (issue 16's goal, not a timed test): `countersign check` of one GUN
// against a local Countersign, against `node -e ''` plus the HTTP round trips that check makes
// (the same GETs, replayed from a warm process on new connections). Also `check --help`,
// `verify --help` and the client-only bundle, whose CommonJS twin the installed check runs while
// it is current (src/cli/client-bundle.ts; the report says whether it was). Goal: check within
// 1.5× of that sum.
//   node scripts/bench/cli-start.mjs [--runs N]      (npm run build first; needs notary on PATH)
// scripts/bench.mjs runs it as one phase; docs/bench.md describes the method.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { NotaryCli } from './notary.mjs';
import { httpGet, pinned, run } from './procs.mjs';
import { median } from './report.mjs';
import { populate } from './repos.mjs';
import { repoRoot, startCountersign } from './servers.mjs';

const GUN = 'bench.test/cli-start';
const BIN = join(repoRoot, 'bin/countersign.js');
const BUNDLE = join(repoRoot, 'dist/countersign-client.mjs');
export const CLI_START_GOAL = 1.5;

/** Median wall time (spawn to exit) of each command, the commands interleaved round by round. */
async function timeCommands(commands, runs, cpus) {
  const times = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  for (let i = 0; i < runs; i++) {
    for (const [name, argv] of Object.entries(commands)) {
      const [cmd, args] = pinned(cpus, process.execPath, argv);
      const r = await run(cmd, args, { env: { PATH: process.env.PATH } });
      if (r.code !== 0) throw new Error(`${name} exited ${r.code}: ${r.stderr || r.stdout}`);
      times[name].push(r.ms);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, t]) => [k, median(t)]));
}

/** The metadata paths one `check` requested, read from the server's request log. */
async function pathsOfOneCheck(server, checkArgv) {
  const before = server.service.output().length;
  const r = await run(process.execPath, checkArgv, { env: { PATH: process.env.PATH } });
  if (r.code !== 0) throw new Error(`check exited ${r.code}: ${r.stderr || r.stdout}`);
  const lines = server.service.output().slice(before).split('\n');
  return lines.flatMap((l) => {
    const m = /"path":"(\/v2\/[^"]+)"/.exec(l);
    return m ? [m[1]] : [];
  });
}

/**
 * A fresh process that makes only those GETs with node:http, one after another, and exits: the
 * least any Node client making check's requests could take (no verification, no argument
 * parsing, no state). How far check is from it says what its own code costs.
 */
function bareGetsScript(url, paths) {
  return `const http = require('node:http');
const urls = ${JSON.stringify(paths.map((p) => url + p))};
(async () => {
  for (const u of urls)
    await new Promise((resolve, reject) =>
      http.get(u, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject));
})();`;
}

/**
 * Median time of those GETs one after another, each on a new connection, made from this (warm)
 * process: the network part of check's time, without any process start.
 */
async function roundTripsMs(url, paths, runs) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    for (const p of paths) await httpGet(url + p);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return median(times);
}

export async function cliStartPhase({
  say = () => {},
  runs = 15,
  serverCpu = '0',
  loadCpu = '1',
} = {}) {
  // Request logs on (info): they tell which GETs check makes.
  const server = await startCountersign({ cpus: serverCpu, name: 'countersign-cli-start' });
  try {
    say('cli start: publishing one repository with the notary CLI');
    await populate(new NotaryCli(server.url, loadCpu), GUN, 'cli-', 10);
    const check = [BIN, 'check', '--server', server.url, '--gun', GUN];
    const paths = await pathsOfOneCheck(server, check);
    say(`cli start: check makes ${paths.length} requests; timing ${runs} rounds`);
    const commands = {
      nodeEmpty: ['-e', ''],
      bareGets: ['-e', bareGetsScript(server.url, paths)],
      checkHelp: [BIN, 'check', '--help'],
      verifyHelp: [BIN, 'verify', '--help'],
      check,
      ...(existsSync(BUNDLE)
        ? { bundleCheck: [BUNDLE, 'check', '--server', server.url, '--gun', GUN] }
        : {}),
    };
    const { bundleIsCurrent } = await import(
      pathToFileURL(join(repoRoot, 'dist/src/cli/client-bundle.js')).href
    );
    const installedRunsBundle = bundleIsCurrent(BUNDLE.replace(/\.mjs$/, '.cjs'));
    const ms = await timeCommands(commands, runs, loadCpu);
    const trips = await roundTripsMs(server.url, paths, runs);
    const base = ms.nodeEmpty + trips;
    return {
      runs,
      requests: paths.length,
      installedRunsBundle,
      medianMs: { ...ms, roundTrips: trips },
      ratio: ms.check / base,
      bareGetsRatio: ms.bareGets / base,
      bundleRatio: ms.bundleCheck === undefined ? null : ms.bundleCheck / base,
      goal: CLI_START_GOAL,
      met: ms.check / base <= CLI_START_GOAL,
    };
  } finally {
    await server.stop();
  }
}

export function formatCliStart(r) {
  const f = (v) => `${v.toFixed(0)} ms`;
  const m = r.medianMs;
  return [
    `CLI start (median of ${r.runs}; check makes ${r.requests} requests):`,
    `  node -e ''            ${f(m.nodeEmpty)}`,
    `  round trips           ${f(m.roundTrips)}`,
    `  node:http GETs only   ${f(m.bareGets)}  = ${r.bareGetsRatio.toFixed(2)}× (a fresh process making check's GETs and nothing else)`,
    `  countersign check     ${f(m.check)}  = ${r.ratio.toFixed(2)}× (node -e '' + round trips); goal ≤ ${r.goal}×: ${r.met ? 'met' : 'NOT met'}`,
    `                        (${r.installedRunsBundle ? 'through the client bundle, current with dist/src' : 'through the compiled modules: no current client bundle'})`,
    ...(m.bundleCheck !== undefined
      ? [`  bundle check          ${f(m.bundleCheck)}  = ${r.bundleRatio.toFixed(2)}×`]
      : []),
    `  check --help          ${f(m.checkHelp)}`,
    `  verify --help         ${f(m.verifyHelp)}`,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--runs');
  const runs = i > 0 ? Number(process.argv[i + 1]) : 15;
  if (!Number.isSafeInteger(runs) || runs < 1 || runs > 1000) {
    process.stderr.write('cli-start: --runs takes an integer from 1 to 1000\n');
    process.exit(2);
  }
  const r = await cliStartPhase({ runs, say: (m) => process.stderr.write(`bench: ${m}\n`) });
  process.stdout.write(`${formatCliStart(r)}\n`);
}
