// A test reporter for the full run (scripts/test.mjs): Node's spec reporter, plus line and
// branch coverage of src/ checked against a floor — and the runner's own summary still printed
// last, because CI reads it.
//
// scripts/test.mjs points NODE_V8_COVERAGE at a fresh folder, so every process of the run (the
// test files and the servers they start) leaves V8's raw coverage there when it exits. When the
// run ends this reporter reads it, counts lines and branches of the compiled src/ (dist/src),
// prints two lines of its own before the summary (the summary's diagnostics are held back until
// the end) and sets a failing exit status when a figure is below the floor in
// scripts/coverage-floor.json. The floor sits a little under the last full run's figures:
// coverage can go up, not down.
//
// Why not `--experimental-test-coverage`: on Node 20 it maps through tsc's source maps and its
// report fails on this code base ("Could not report code coverage. TypeError: Cannot read
// properties of undefined (reading 'line')"), and it prints its table after the summary.
// COUNTERSIGN_COVERAGE_FLOOR names another floor file (the reporter's own test uses it).
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { Transform } from 'node:stream';
import { spec } from 'node:test/reporters';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const FLOOR_FILE = join(root, 'scripts', 'coverage-floor.json');

/**
 * Line and branch coverage of the scripts under `dir`, from the raw V8 coverage files in
 * `coverageDir` (one per process). A line counts when it has something other than white space;
 * it is uncovered when, in every process that loaded its file, a block that ran zero times spans
 * it. A branch is a range V8 reports — a function's body (so a function never called counts as
 * a branch not taken) or a block inside one; it is covered when any process ran it. Files no process loaded are left out, as V8 knows nothing of them.
 */
export function coverageUnder(coverageDir, dir) {
  const prefix = pathToFileURL(dir).href + '/';
  const files = new Map(); // url → { lineStarts, text, lines: Map<line, covered>, branches: Map<key, covered> }
  for (const name of readdirSync(coverageDir)) {
    if (!name.endsWith('.json')) continue;
    const { result } = JSON.parse(readFileSync(join(coverageDir, name), 'utf8'));
    for (const script of result ?? []) {
      if (!script.url.startsWith(prefix) || !script.url.endsWith('.js')) continue;
      let f = files.get(script.url);
      if (!f) files.set(script.url, (f = fileState(fileURLToPath(script.url))));
      addProcess(f, script.functions);
    }
  }
  return totalsOf([...files.values()]);
}

function fileState(path) {
  const text = readFileSync(path, 'utf8');
  const lines = [];
  let start = 0;
  for (const line of text.split('\n')) {
    const first = line.search(/\S/);
    if (first >= 0) lines.push({ start: start + first, end: start + line.trimEnd().length });
    start += line.length + 1;
  }
  return { lines, covered: new Array(lines.length).fill(false), branches: new Map() };
}

/** One process's view of a file: lines not spanned by a zero-count block ran. */
function addProcess(f, functions) {
  const zero = [];
  for (const fn of functions) {
    fn.ranges.forEach((r, k) => {
      if (r.count === 0) zero.push(r);
      // The script's own top-level range runs whenever the file loads: not a branch.
      if (k > 0 || fn.functionName !== '' || r.startOffset > 0) {
        const key = `${r.startOffset}:${r.endOffset}`;
        f.branches.set(key, (f.branches.get(key) ?? false) || r.count > 0);
      }
    });
  }
  // A line inside a zero-count block did not run, unless a smaller block inside that one ran
  // (V8 reports a nested range only where its count differs from the enclosing one).
  const ran = functions.flatMap((fn) => fn.ranges.filter((r) => r.count > 0));
  f.lines.forEach((line, i) => {
    if (f.covered[i]) return;
    const inZero = zero.filter((r) => r.startOffset <= line.start && r.endOffset >= line.end);
    if (inZero.length === 0) {
      f.covered[i] = true;
      return;
    }
    const innermostZero = Math.min(...inZero.map((r) => r.endOffset - r.startOffset));
    f.covered[i] = ran.some(
      (r) =>
        r.startOffset <= line.start &&
        r.endOffset >= line.end &&
        r.endOffset - r.startOffset < innermostZero
    );
  });
}

function totalsOf(files) {
  const t = { files: files.length, lines: 0, coveredLines: 0, branches: 0, coveredBranches: 0 };
  for (const f of files) {
    t.lines += f.lines.length;
    t.coveredLines += f.covered.filter(Boolean).length;
    t.branches += f.branches.size;
    t.coveredBranches += [...f.branches.values()].filter(Boolean).length;
  }
  return {
    ...t,
    linePercent: t.lines === 0 ? 0 : (100 * t.coveredLines) / t.lines,
    branchPercent: t.branches === 0 ? 0 : (100 * t.coveredBranches) / t.branches,
  };
}

/** The lines to print and whether the figures pass the floor ({lines, branches} in percent). */
export function verdict(totals, floor) {
  const fig = (p) => `${p.toFixed(2)}%`;
  const lines = [
    `coverage of src/ (${totals.files} compiled files): lines ${fig(totals.linePercent)}, branches ${fig(totals.branchPercent)}` +
      ` (floor: lines ${fig(floor.lines)}, branches ${fig(floor.branches)})`,
  ];
  const below = [];
  if (totals.linePercent < floor.lines) below.push('lines');
  if (totals.branchPercent < floor.branches) below.push('branches');
  if (below.length > 0)
    lines.push(
      `coverage FAILED: ${below.join(' and ')} below the floor — add tests for the code you added`
    );
  return { ok: below.length === 0, lines };
}

export function readFloor(file = process.env.COUNTERSIGN_COVERAGE_FLOOR || FLOOR_FILE) {
  const floor = JSON.parse(readFileSync(file, 'utf8'));
  for (const k of ['lines', 'branches'])
    if (typeof floor[k] !== 'number' || floor[k] < 0 || floor[k] > 100)
      throw new Error(`${file}: "${k}" must be a percentage`);
  return floor;
}

export default class CoverageGate extends Transform {
  constructor() {
    super({ writableObjectMode: true });
    this.inner = new spec();
    this.inner.on('data', (chunk) => this.push(chunk));
    this.held = [];
  }

  _transform(event, _encoding, done) {
    // The run's summary (tests, pass, fail, …) arrives as top-level diagnostics: keep it last.
    if (event.type === 'test:diagnostic' && event.data.nesting === 0) {
      this.held.push(event);
      return done();
    }
    this.inner.write(event, done);
  }

  _flush(done) {
    const dir = process.env.NODE_V8_COVERAGE;
    if (!dir) {
      this.push('coverage: NODE_V8_COVERAGE is not set, so nothing was measured\n');
      process.exitCode = 1;
    } else {
      const v = verdict(coverageUnder(dir, join(root, 'dist', 'src')), readFloor());
      for (const line of v.lines) this.push(`${line}\n`);
      if (!v.ok) process.exitCode = 1;
    }
    for (const event of this.held) this.inner.write(event);
    this.inner.once('end', () => done());
    this.inner.end();
  }
}
