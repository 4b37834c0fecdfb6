import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseScannerReport } from '../../../src/policy/vulnerabilities.js';
import { FindingsCache, reportFindings } from '../../../src/ui/findings.js';
import { fixturePath } from '../../helpers/paths.js';

const fixture = (name: string) => readFileSync(fixturePath('registry', name));

describe('ui report findings', () => {
  for (const name of [
    'trivy-within-budget.json',
    'grype-within-budget.json',
    'trivy-over-budget.json',
  ]) {
    it(`lists as many findings of ${name} as the policy counts, most severe first`, () => {
      const bytes = fixture(name);
      const rows = reportFindings(bytes);
      const counted = parseScannerReport(bytes);
      assert.equal(rows.length, counted.findings);
      for (const [severity, n] of Object.entries(counted.counts))
        assert.equal(rows.filter((r) => r.severity === severity).length, n, severity);
      const order = ['critical', 'high', 'medium', 'low', 'negligible', 'unknown'];
      const ranks = rows.map((r) => order.indexOf(r.severity));
      assert.deepEqual(
        ranks,
        [...ranks].sort((a, b) => a - b)
      );
      assert.ok(rows.every((r) => r.id !== ''));
    });
  }

  it('reads a report\u2019s bytes once per sha256', async () => {
    const cache = new FindingsCache();
    let reads = 0;
    const bytes = async () => {
      reads++;
      return fixture('trivy-within-budget.json');
    };
    const first = await cache.get('abc', bytes);
    const second = await cache.get('abc', bytes);
    assert.equal(reads, 1);
    assert.equal(second, first);
  });
});
