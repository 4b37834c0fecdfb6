import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isCountersignError } from '../../src/errors.js';
import { parseBudget } from '../../src/policy/types.js';
import {
  MAX_REPORT_BYTES,
  parseScannerReport,
  vulnerabilityCheck,
} from '../../src/policy/vulnerabilities.js';
import { fixturePath } from '../helpers/paths.js';

const fixture = (name: string): Buffer => readFileSync(fixturePath('registry', name));
const budget = { critical: 0, high: 5 };

function refuses(body: string | Buffer, code: string, pattern: RegExp): void {
  assert.throws(
    () => parseScannerReport(typeof body === 'string' ? Buffer.from(body) : body),
    (err) => {
      assert.ok(isCountersignError(err), String(err));
      assert.equal(err.code, code);
      assert.match(err.message, pattern);
      return true;
    }
  );
}

describe('vulnerability budget', () => {
  describe('#parseScannerReport', () => {
    it('counts a Trivy report over all its results, case-insensitively, and keeps its sha256', () => {
      const bytes = fixture('trivy-within-budget.json');
      const report = parseScannerReport(bytes);
      assert.equal(report.format, 'trivy');
      assert.equal(report.sha256Hex, createHash('sha256').update(bytes).digest('hex'));
      assert.deepEqual(report.counts, {
        critical: 0,
        high: 2,
        medium: 3,
        low: 1,
        negligible: 0,
        unknown: 1,
      });
      assert.equal(report.findings, 7);
    });

    it('counts a Grype report, with Negligible in its own bucket', () => {
      const report = parseScannerReport(fixture('grype-within-budget.json'));
      assert.equal(report.format, 'grype');
      assert.deepEqual(report.counts, {
        critical: 0,
        high: 2,
        medium: 1,
        low: 1,
        negligible: 2,
        unknown: 1,
      });
    });

    it('refuses what is not a Trivy or Grype JSON report', () => {
      refuses('not json', 'bad_request', /not JSON/);
      refuses(
        '[{"Target":"x","Vulnerabilities":null}]',
        'bad_request',
        /top-level array \(Trivy before 0\.20\)/
      );
      refuses(
        '{"version":"2.3","vulnerabilities":[]}',
        'bad_request',
        /neither a Trivy JSON report .* nor a Grype JSON report/
      );
      refuses(
        '{"SchemaVersion":1,"Results":[]}',
        'bad_request',
        /SchemaVersion 1 is not supported/
      );
      refuses('{"SchemaVersion":2,"Results":{}}', 'bad_request', /Results must be an array/);
      refuses(
        '{"SchemaVersion":2,"Results":[{"Vulnerabilities":[{"Severity":"SEVERE"}]}]}',
        'bad_request',
        /Results\[0\]\.Vulnerabilities\[0\]\.Severity "SEVERE" is not a known severity/
      );
      refuses(
        '{"SchemaVersion":2,"Results":[{"Vulnerabilities":[{}]}]}',
        'bad_request',
        /Severity undefined is not a known severity/
      );
      refuses(
        '{"matches":[{"vulnerability":{}}]}',
        'bad_request',
        /matches\[0\]\.vulnerability\.severity/
      );
      refuses(
        '{"matches":[],"descriptor":{"name":"syft"}}',
        'bad_request',
        /descriptor\.name must be "grype"/
      );
      refuses('{"matches":[],"Results":[]}', 'bad_request', /both Trivy .* and Grype/);
    });

    it('refuses a body over the size cap before parsing it', () => {
      refuses(Buffer.alloc(MAX_REPORT_BYTES + 1, 0x20), 'too_large', /at most 33554432/);
    });

    it('accepts a clean Trivy report with no Results', () => {
      const report = parseScannerReport(Buffer.from('{"SchemaVersion":2,"ArtifactName":"x"}'));
      assert.equal(report.findings, 0);
    });
  });

  describe('#vulnerabilityCheck', () => {
    it('passes a report within the budget', () => {
      const report = parseScannerReport(fixture('trivy-within-budget.json'));
      const check = vulnerabilityCheck(budget, report);
      assert.equal(check.name, 'vulnerabilities');
      assert.equal(check.passed, true);
      assert.equal(
        check.detail,
        `trivy report sha256:${report.sha256Hex}: critical 0, high 2, medium 3, low 1, negligible 0, unknown 1; within the budget (critical ≤ 0, high ≤ 5)`
      );
      assert.equal(
        vulnerabilityCheck(budget, parseScannerReport(fixture('grype-within-budget.json'))).passed,
        true
      );
    });

    it('fails a report over the budget, naming each severity over it', () => {
      const check = vulnerabilityCheck(
        budget,
        parseScannerReport(fixture('trivy-over-budget.json'))
      );
      assert.equal(check.passed, false);
      assert.match(
        check.detail,
        /; over the budget: 6 critical \(at most 0\), 6 high \(at most 5\)$/
      );
    });

    it('applies budgets on any named severity and leaves the others unlimited', () => {
      const report = parseScannerReport(fixture('grype-within-budget.json'));
      assert.equal(vulnerabilityCheck({ negligible: 1 }, report).passed, false);
      assert.equal(vulnerabilityCheck({ negligible: 2 }, report).passed, true);
      assert.equal(
        vulnerabilityCheck({ critical: 0 }, parseScannerReport(fixture('trivy-within-budget.json')))
          .passed,
        true
      );
    });

    it('fails while no report is attached', () => {
      const check = vulnerabilityCheck(budget, undefined);
      assert.equal(check.passed, false);
      assert.match(check.detail, /no vulnerability report attached/);
    });
  });

  describe('#parseBudget', () => {
    it('accepts severities and refuses unknown keys and bad limits', () => {
      assert.deepEqual(parseBudget({ critical: 0, high: 5 }), { critical: 0, high: 5 });
      assert.throws(
        () => parseBudget({ severe: 1 }),
        (err) => isCountersignError(err, 'CONFIG_INVALID')
      );
      assert.throws(
        () => parseBudget({ high: -1 }),
        (err) => isCountersignError(err, 'CONFIG_INVALID')
      );
      assert.throws(
        () => parseBudget({ high: 1.5 }),
        (err) => isCountersignError(err, 'CONFIG_INVALID')
      );
    });
  });
});
