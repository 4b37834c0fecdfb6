// Command-line options of `npm run bench` and the checks that must pass before anything starts.
import { accessSync, constants, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { delimiter, join } from 'node:path';
import { DEFAULT_PG_BIN, PG_PROGRAMS } from './postgres.mjs';

export const USAGE = `Usage: npm run bench [-- OPTIONS]

Compares Countersign (SQLite) with notary-server 0.7 (memory backend) and with a bare node:http
server answering the same bytes (Node's ceiling), each pinned to one CPU, loaded with wrk from
another; then both servers on one throwaway PostgreSQL 15 cluster (for information). Prints a
table of figures, ratios and goals; writes it as JSON to bench-results/.

Options:
  --quick             short run: 2 s per load, 5 publishes (for a smoke test; noisy)
  --duration S        seconds per wrk run (default 8; --quick 2)
  --warmup S          seconds of wrk warm-up before each run, not counted (default 1)
  --connections N     wrk connections (default 32)
  --publish-runs N    notary add -p runs per server (default 20; --quick 5)
  --big-targets N     targets in the large targets.json upload (default 10000)
  --workers N         also run countersign serve --workers N (default 2; 0 skips)
  --server-cpu LIST   CPU(s) for the servers (default 0)
  --load-cpu LIST     CPU(s) for wrk and the notary CLI (default 1)
  --repeat N          rounds of wrk runs per figure, servers interleaved; the median run
                      is reported (default 1; 3 on a shared machine)
  --history-versions N  targets versions of the long-history repository (default 300;
                      --quick 40)
  --history-targets N targets in each of its versions (default 3000)
  --no-postgres       skip the PostgreSQL phase
  --only PHASE        run only one phase: history (the long-history GETs), uploads (reads
                      during large uploads) or postgres (no goals are evaluated for it)
  --pg-bin DIR        PostgreSQL's programs (default ${DEFAULT_PG_BIN})
  --cpu-prof DIR      run Countersign under node --cpu-prof, profiles into DIR (for tuning;
                      the profiler slows it down, so do not compare those figures)
  --json FILE         also write the JSON results to FILE
  --help              this text

Needs: npm run build (dist/), and on PATH: wrk, taskset, notary-server, notary (Debian packages
wrk, util-linux, notary); unless --no-postgres, PostgreSQL 15's initdb, postgres and psql in
--pg-bin (Debian package postgresql-15) and, as root, a postgres user and setpriv.
Method and caveats: docs/bench.md.
`;

/** The phases `--only` can pick; without it all run (PostgreSQL unless --no-postgres). */
export const PHASES = ['history', 'uploads', 'postgres'];

/** Whether a phase runs: `main` is the memory-backend comparison (GETs, publishes, logs, workers). */
export function runsPhase(options, phase) {
  if (phase === 'postgres') return options.postgres && (!options.only || options.only === phase);
  return !options.only || options.only === phase;
}

export function parseOptions(argv) {
  const o = {
    quick: false,
    durationS: undefined,
    warmupS: 1,
    connections: 32,
    publishRuns: undefined,
    bigTargets: 10_000,
    workers: 2,
    serverCpu: '0',
    loadCpu: '1',
    json: undefined,
    repeat: 1,
    cpuProf: undefined,
    postgres: true,
    only: undefined,
    pgBin: DEFAULT_PG_BIN,
    historyVersions: undefined,
    historyTargets: 3000,
    help: false,
  };
  const num = (flag, v) => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < 0)
      throw new Error(`${flag} needs a whole number (got ${v ?? 'nothing'})`);
    return n;
  };
  const cpuList = (flag, v) => {
    if (v === undefined || !/^\d+([-,]\d+)*$/.test(v))
      throw new Error(`${flag} needs a CPU list such as 0 or 0,1 (got ${v ?? 'nothing'})`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=')
      ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
      : [a, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--quick':
        o.quick = true;
        break;
      case '--duration':
        o.durationS = num(flag, value());
        if (o.durationS < 1) throw new Error('--duration must be at least 1');
        break;
      case '--warmup':
        o.warmupS = num(flag, value());
        break;
      case '--connections':
        o.connections = num(flag, value());
        if (o.connections < 1) throw new Error('--connections must be at least 1');
        break;
      case '--publish-runs':
        o.publishRuns = num(flag, value());
        if (o.publishRuns < 1) throw new Error('--publish-runs must be at least 1');
        break;
      case '--big-targets':
        o.bigTargets = num(flag, value());
        if (o.bigTargets < 1) throw new Error('--big-targets must be at least 1');
        break;
      case '--workers':
        o.workers = num(flag, value());
        break;
      case '--server-cpu':
        o.serverCpu = cpuList(flag, value());
        break;
      case '--load-cpu':
        o.loadCpu = cpuList(flag, value());
        break;
      case '--repeat':
        o.repeat = num(flag, value());
        if (o.repeat < 1) throw new Error('--repeat must be at least 1');
        break;
      case '--cpu-prof':
        o.cpuProf = value();
        if (!o.cpuProf) throw new Error('--cpu-prof needs a directory');
        break;
      case '--no-postgres':
        o.postgres = false;
        break;
      case '--only':
        o.only = value();
        if (!PHASES.includes(o.only))
          throw new Error(
            `--only takes one phase: ${PHASES.join(', ')} (got ${o.only ?? 'nothing'})`
          );
        break;
      case '--history-versions':
        o.historyVersions = num(flag, value());
        if (o.historyVersions < 2) throw new Error('--history-versions must be at least 2');
        break;
      case '--history-targets':
        o.historyTargets = num(flag, value());
        if (o.historyTargets < 1) throw new Error('--history-targets must be at least 1');
        break;
      case '--pg-bin':
        o.pgBin = value();
        if (!o.pgBin) throw new Error('--pg-bin needs a directory');
        break;
      case '--json':
        o.json = value();
        if (!o.json) throw new Error('--json needs a file name');
        break;
      case '--help':
      case '-h':
        o.help = true;
        break;
      default:
        throw new Error(`unknown option ${a}`);
    }
  }
  if (o.only === 'postgres' && !o.postgres)
    throw new Error('--only postgres and --no-postgres leave nothing to run');
  o.durationS ??= o.quick ? 2 : 8;
  o.publishRuns ??= o.quick ? 5 : 20;
  o.historyVersions ??= o.quick ? 40 : 300;
  return o;
}

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(cmd) {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => isExecutable(join(dir, cmd)));
}

/** Every missing prerequisite, as a sentence telling the user what to do. */
export function missingPrerequisites(repoRoot, options) {
  const problems = [];
  const packages = {
    wrk: 'wrk',
    taskset: 'util-linux',
    'notary-server': 'notary',
    notary: 'notary',
  };
  for (const [cmd, pkg] of Object.entries(packages)) {
    if (!onPath(cmd))
      problems.push(`\`${cmd}\` is not on PATH (Debian package ${pkg}: apt-get install ${pkg})`);
  }
  if (!existsSync(join(repoRoot, 'dist/src/cli/main.js'))) {
    problems.push(
      'dist/ is missing: run `npm run build` first (the benchmark builds nothing itself)'
    );
  }
  const signsHere = runsPhase(options, 'history') || runsPhase(options, 'uploads');
  if (signsHere && !existsSync(join(repoRoot, 'dist/test/helpers/tuf-builder.js'))) {
    problems.push(
      "dist/test/ is missing: run `npm run build` (the long-history and upload phases sign their metadata with the test suite's builder)"
    );
  }
  if (!existsSync(join(repoRoot, 'node_modules/express/package.json'))) {
    problems.push('express is not installed (the Express ceiling needs it): run `npm ci`');
  }
  if (runsPhase(options, 'postgres')) {
    const skip = 'or skip the phase with --no-postgres';
    for (const p of PG_PROGRAMS) {
      const file = join(options.pgBin, p);
      if (!isExecutable(file))
        problems.push(
          `PostgreSQL: ${file} is missing (Debian package postgresql-15: apt-get install postgresql-15; or --pg-bin DIR), ${skip}`
        );
    }
    if (process.getuid?.() === 0) {
      if (spawnSync('id', ['-u', 'postgres']).status !== 0)
        problems.push(
          `PostgreSQL refuses to run as root and there is no postgres user to run it as (the Debian package creates one), ${skip}`
        );
      if (!onPath('setpriv'))
        problems.push(
          `\`setpriv\` is not on PATH (Debian package util-linux): it runs PostgreSQL as the postgres user, ${skip}`
        );
    }
  }
  if (onPath('taskset')) {
    for (const [flag, cpus] of [
      ['--server-cpu', options.serverCpu],
      ['--load-cpu', options.loadCpu],
    ]) {
      const r = spawnSync('taskset', ['-c', cpus, 'true']);
      if (r.status !== 0)
        problems.push(
          `cannot pin to CPU ${cpus} (${flag}): ${String(r.stderr).trim() || 'taskset failed'}; this machine needs at least 2 usable CPUs`
        );
    }
  }
  return problems;
}
