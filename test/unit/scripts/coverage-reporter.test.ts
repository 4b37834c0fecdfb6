/**
 * The coverage gate of the full run (scripts/coverage-reporter.mjs): figures over src/ only,
 * a failing exit status below the floor, and the test runner's summary still printed last.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../../helpers/paths.js';

interface Totals {
  files: number;
  linePercent: number;
  branchPercent: number;
}
interface Gate {
  totalsUnder(files: object[], dir: string): Totals;
  verdict(t: Totals, floor: { lines: number; branches: number }): { ok: boolean; lines: string[] };
}

const reporterPath = join(repoRoot, 'scripts', 'coverage-reporter.mjs');
const gate = (await import(pathToFileURL(reporterPath).href)) as Gate;

function withoutTestContext(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

const file = (path: string, lines: [number, number], branches: [number, number]) => ({
  path,
  totalLineCount: lines[1],
  coveredLineCount: lines[0],
  totalBranchCount: branches[1],
  coveredBranchCount: branches[0],
});

describe('the coverage gate', () => {
  it('counts only the files under the given folder', () => {
    const src = join(repoRoot, 'src');
    const t = gate.totalsUnder(
      [
        file(join(src, 'a.ts'), [8, 10], [1, 4]),
        file(join(src, 'x', 'b.ts'), [2, 10], [3, 4]),
        file(join(repoRoot, 'test', 'a.test.ts'), [100, 100], [10, 10]),
        file(`${src}-other${sep}c.ts`, [0, 50], [0, 10]),
      ],
      src
    );
    assert.equal(t.files, 2);
    assert.equal(t.linePercent, 50);
    assert.equal(t.branchPercent, 50);
  });

  it('passes at the floor and fails below it, naming what fell', () => {
    const t = { files: 3, linePercent: 80, branchPercent: 70 };
    assert.equal(gate.verdict(t, { lines: 80, branches: 70 }).ok, true);
    const low = gate.verdict(t, { lines: 80.01, branches: 70 });
    assert.equal(low.ok, false);
    assert.match(low.lines.at(-1) ?? '', /coverage FAILED: lines below the floor/);
    assert.match(low.lines[0] ?? '', /lines 80\.00%, branches 70\.00%/);
  });

  describe('as the reporter of a real run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'countersign-coverage-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const durationModule = pathToFileURL(join(repoRoot, 'dist', 'src', 'util', 'duration.js')).href;
    const testFile = join(dir, 'one.test.mjs');
    writeFileSync(
      testFile,
      `import test from 'node:test';\nimport { parseDuration } from '${durationModule}';\n` +
        `test('parses', () => { parseDuration('5s', 'x'); });\n`
    );
    const run = (floor: { lines: number; branches: number }) => {
      const floorFile = join(dir, `floor-${floor.lines}.json`);
      writeFileSync(floorFile, JSON.stringify(floor));
      return spawnSync(
        process.execPath,
        ['--test', '--experimental-test-coverage', `--test-reporter=${reporterPath}`, testFile],
        {
          cwd: repoRoot,
          encoding: 'utf8',
          // Without NODE_TEST_CONTEXT the nested runner reports for itself, not to this one.
          env: { ...withoutTestContext(), COUNTERSIGN_COVERAGE_FLOOR: floorFile },
        }
      );
    };

    it('passes above the floor, with the summary last and no coverage table', () => {
      const r = run({ lines: 1, branches: 0 });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      const out = r.stdout.trimEnd().split('\n');
      assert.match(out.at(-1) ?? '', /^ℹ duration_ms /);
      assert.ok(out.some((l) => /^coverage of src\/ \([1-9]\d* files\): lines/.test(l)));
      assert.ok(!r.stdout.includes('start of coverage report'));
    });

    it('fails below the floor, still with the summary last', () => {
      const r = run({ lines: 100, branches: 100 });
      assert.equal(r.status, 1);
      assert.match(r.stdout, /coverage FAILED: lines and branches below the floor/);
      assert.match(r.stdout.trimEnd().split('\n').at(-1) ?? '', /^ℹ duration_ms /);
      assert.match(r.stdout, /ℹ fail 0/);
    });
  });
});
