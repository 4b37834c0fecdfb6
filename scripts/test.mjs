#!/usr/bin/env node
// The whole test suite, as README "Quick start" and .ci/run run it:
//   1. install the Debian packages the interop tests drive, when missing;
//   2. compile (tsc, incremental);
//   3. run the unit tests once with the clock moved 1000 days ahead (Debian's faketime), so a test
//      that depends on today's date fails here rather than on someone's machine in a year
//      (docs/testing.md, "Time");
//   4. run every test file under dist/test with Node's built-in runner (its summary is what CI reads,
//      so it runs last).
// `--unit` runs only test/unit; any other argument is a substring filter on test file paths, and
// skips step 3; `--no-future-clock` skips it too.
// The full run (no filter, not --unit) also measures line and branch coverage of src/ and fails
// below the floor in scripts/coverage-floor.json (scripts/coverage-reporter.mjs; docs/testing.md
// "Coverage"); `--no-coverage` turns that off.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const filters = args.filter((a) => !a.startsWith('--'));

if (!unitOnly) {
  const deps = spawnSync('bash', [join(root, 'scripts/ensure-debian-packages.sh')], {
    stdio: 'inherit',
  });
  if (deps.status !== 0) {
    console.error('the Debian packages the tests need are missing and could not be installed');
    process.exit(1);
  }
}
const tsc = spawnSync(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')],
  {
    stdio: 'inherit',
  }
);
if (tsc.status !== 0) {
  console.error('compilation failed');
  process.exit(1);
}

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
let files = walk(join(root, 'dist/test', unitOnly ? 'unit' : '')).sort();
if (filters.length) files = files.filter((f) => filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const concurrency = Math.max(2, os.availableParallelism());
const testEnv = { ...process.env, COUNTERSIGN_TEST: '1' };

if (filters.length === 0 && !args.includes('--no-future-clock')) {
  // Only the wall clock moves: monotonic time stays real, so timers and timeouts behave.
  const unitFiles = walk(join(root, 'dist/test/unit')).sort();
  console.log(`# unit tests with the clock 1000 days ahead (faketime -f +1000d)`);
  const future = spawnSync(
    'faketime',
    [
      '-f',
      '+1000d',
      process.execPath,
      '--test',
      `--test-concurrency=${concurrency}`,
      '--test-reporter=dot',
      ...unitFiles,
    ],
    { stdio: 'inherit', cwd: root, env: { ...testEnv, FAKETIME_DONT_FAKE_MONOTONIC: '1' } }
  );
  if (future.error) {
    console.error(`faketime could not run (${future.error.message}): install Debian's faketime`);
    process.exit(1);
  }
  if (future.status !== 0) {
    console.error('the unit tests fail with the clock 1000 days ahead: a test depends on today');
    process.exit(future.status ?? 1);
  }
}

const coverage = filters.length === 0 && !unitOnly && !args.includes('--no-coverage');
const coverageDir = coverage ? mkdtempSync(join(os.tmpdir(), 'countersign-coverage-')) : '';
const reporter = coverage
  ? [`--test-reporter=${join(root, 'scripts/coverage-reporter.mjs')}`]
  : ['--test-reporter=spec'];
const r = spawnSync(
  process.execPath,
  ['--test', `--test-concurrency=${concurrency}`, ...reporter, ...files],
  {
    stdio: 'inherit',
    cwd: root,
    env: coverage ? { ...testEnv, NODE_V8_COVERAGE: coverageDir } : testEnv,
  }
);
if (coverage) rmSync(coverageDir, { recursive: true, force: true });
process.exit(r.status ?? 1);
