/**
 * The coverage gate of the full run (scripts/coverage-reporter.mjs): figures over src/ only,
 * a failing exit status below the floor, and the test runner's summary still printed last.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../../helpers/paths.js';

interface Totals {
  files: number;
  linePercent: number;
  branchPercent: number;
}
interface Gate {
  coverageUnder(coverageDir: string, dir: string): Totals & { lines: number; branches: number };
  verdict(t: Totals, floor: { lines: number; branches: number }): { ok: boolean; lines: string[] };
}

const reporterPath = join(repoRoot, 'scripts', 'coverage-reporter.mjs');
const gate = (await import(pathToFileURL(reporterPath).href)) as Gate;

function withoutTestContext(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

describe('the coverage gate', () => {
  it('counts lines and branches of the files under the folder, from raw V8 coverage', () => {
    const dir = mkdtempSync(join(tmpdir(), 'countersign-v8-'));
    try {
      const src = join(dir, 'src');
      mkdirSync(src);
      // Four non-blank lines; the else branch (lines 3–4) never ran.
      const code = 'export function f(x) {\n  if (x) return 1;\n  const y = 2;\n  return y;\n}\n\n';
      writeFileSync(join(src, 'f.js'), code);
      writeFileSync(join(dir, 'other.js'), code);
      const elseStart = code.indexOf('  const y');
      const script = (path: string) => ({
        url: pathToFileURL(path).href,
        functions: [
          {
            functionName: '',
            isBlockCoverage: false,
            ranges: [{ startOffset: 0, endOffset: code.length, count: 1 }],
          },
          {
            functionName: 'f',
            isBlockCoverage: true,
            ranges: [
              { startOffset: 0, endOffset: code.indexOf('}\n') + 1, count: 1 },
              { startOffset: elseStart, endOffset: code.indexOf('}\n'), count: 0 },
            ],
          },
        ],
      });
      const v8 = join(dir, 'v8');
      mkdirSync(v8);
      writeFileSync(
        join(v8, 'coverage-1.json'),
        JSON.stringify({ result: [script(join(src, 'f.js')), script(join(dir, 'other.js'))] })
      );
      const t = gate.coverageUnder(v8, src);
      assert.equal(t.files, 1);
      assert.equal(t.lines, 5);
      assert.equal(t.linePercent, 60);
      // f's body (ran) and its else block (did not).
      assert.equal(t.branches, 2);
      assert.equal(t.branchPercent, 50);
      // A second process that took the else branch covers it.
      const ranAll = script(join(src, 'f.js'));
      ranAll.functions[1]!.ranges[1]!.count = 1;
      writeFileSync(join(v8, 'coverage-2.json'), JSON.stringify({ result: [ranAll] }));
      const both = gate.coverageUnder(v8, src);
      assert.equal(both.linePercent, 100);
      assert.equal(both.branchPercent, 100);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
      const v8 = mkdtempSync(join(dir, 'v8-'));
      return spawnSync(process.execPath, ['--test', `--test-reporter=${reporterPath}`, testFile], {
        cwd: repoRoot,
        encoding: 'utf8',
        // Without NODE_TEST_CONTEXT the nested runner reports for itself, not to this one.
        env: {
          ...withoutTestContext(),
          COUNTERSIGN_COVERAGE_FLOOR: floorFile,
          NODE_V8_COVERAGE: v8,
        },
      });
    };

    it('passes above the floor, with the summary last and no coverage table', () => {
      const r = run({ lines: 1, branches: 0 });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      const out = r.stdout.trimEnd().split('\n');
      assert.match(out.at(-1) ?? '', /^ℹ duration_ms /);
      assert.ok(out.some((l) => /^coverage of src\/ \([1-9]\d* compiled files\): lines/.test(l)));
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
