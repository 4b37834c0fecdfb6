// A test reporter for the full run (scripts/test.mjs): Node's spec reporter, plus line and
// branch coverage of src/ checked against a floor — and the runner's own summary still printed
// last, because CI reads it.
//
// Node 20 prints its coverage table after the summary and has no threshold option, so this
// reporter takes the coverage event out of the stream, prints two lines of its own before the
// summary (the summary's diagnostics are held back until the end), and sets a failing exit
// status when a figure is below the floor in scripts/coverage-floor.json. The floor sits a
// little under the last full run's figures: coverage can go up, not down. Figures are over the
// TypeScript of src/ (Node maps the compiled files back through tsc's source maps), the test
// files themselves left out.
// COUNTERSIGN_COVERAGE_FLOOR names another floor file (the reporter's own test uses it).
import { readFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { Transform } from 'node:stream';
import { spec } from 'node:test/reporters';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const FLOOR_FILE = join(root, 'scripts', 'coverage-floor.json');

/** Line and branch totals over the files of `summary.files` under `dir`. */
export function totalsUnder(files, dir) {
  const t = { files: 0, lines: 0, coveredLines: 0, branches: 0, coveredBranches: 0 };
  for (const f of files) {
    if (!f.path.startsWith(dir + sep)) continue;
    t.files++;
    t.lines += f.totalLineCount;
    t.coveredLines += f.coveredLineCount;
    t.branches += f.totalBranchCount;
    t.coveredBranches += f.coveredBranchCount;
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
    `coverage of src/ (${totals.files} files): lines ${fig(totals.linePercent)}, branches ${fig(totals.branchPercent)}` +
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
    this.coverage = undefined;
  }

  _transform(event, _encoding, done) {
    if (event.type === 'test:coverage') {
      this.coverage = event.data.summary;
      return done();
    }
    // The run's summary (tests, pass, fail, …) arrives as top-level diagnostics: keep it last.
    if (event.type === 'test:diagnostic' && event.data.nesting === 0) {
      this.held.push(event);
      return done();
    }
    this.inner.write(event, done);
  }

  _flush(done) {
    if (this.coverage === undefined) {
      this.push('coverage: no coverage data (run with --experimental-test-coverage)\n');
      process.exitCode = 1;
    } else {
      const v = verdict(totalsUnder(this.coverage.files, join(root, 'src')), readFloor());
      for (const line of v.lines) this.push(`${line}\n`);
      if (!v.ok) process.exitCode = 1;
    }
    for (const event of this.held) this.inner.write(event);
    this.inner.once('end', () => done());
    this.inner.end();
  }
}
