/**
 * The vulnerability budget: a scanner report (Trivy JSON or Grype JSON, read strictly so a
 * report of another shape is refused rather than counted as clean) is counted by severity over
 * all its results and compared with the policy's most-allowed-per-severity. The sha256 of the
 * report's bytes is kept: it goes into the published target's `custom`.
 */
import { createHash } from 'node:crypto';
import { fail } from '../errors.js';
import { SEVERITIES, type PolicyCheck, type Severity, type VulnerabilityBudget } from './types.js';
import { parseJson } from '../canonical/parse.js';

/** Reports above this are refused before parsing (real image reports are a few MiB at most). */
export const MAX_REPORT_BYTES = 32 * 1024 * 1024;

export type ScannerFormat = 'trivy' | 'grype';

export interface ScannerReport {
  format: ScannerFormat;
  /** sha256 of the report bytes as uploaded, hex. */
  sha256Hex: string;
  /** Findings per severity; each finding (a vulnerability in a package) counts once. */
  counts: Record<Severity, number>;
  findings: number;
}

export function parseScannerReport(bytes: Uint8Array): ScannerReport {
  if (bytes.length > MAX_REPORT_BYTES) {
    fail(
      'too_large',
      `the scanner report is ${bytes.length} bytes; at most ${MAX_REPORT_BYTES} are accepted`
    );
  }
  const sha256Hex = createHash('sha256').update(bytes).digest('hex');
  let json: unknown;
  try {
    json = parseJson(Buffer.from(bytes).toString('utf8'));
  } catch {
    fail('bad_request', 'the scanner report is not JSON');
  }
  if (Array.isArray(json)) {
    fail(
      'bad_request',
      'the scanner report is a top-level array (Trivy before 0.20); export it with a current Trivy (SchemaVersion 2)'
    );
  }
  if (!isRecord(json)) fail('bad_request', 'the scanner report is not a JSON object');
  const trivy = 'SchemaVersion' in json || 'Results' in json;
  const grype = 'matches' in json;
  if (trivy && grype)
    fail(
      'bad_request',
      'the scanner report has both Trivy (SchemaVersion/Results) and Grype (matches) fields'
    );
  const severities = trivy ? trivySeverities(json) : grype ? grypeSeverities(json) : notAReport();
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const s of severities) counts[s]++;
  return { format: trivy ? 'trivy' : 'grype', sha256Hex, counts, findings: severities.length };
}

/** Trivy JSON: `{SchemaVersion: 2, Results: [{Vulnerabilities: [{Severity}]}]}`. */
function trivySeverities(json: Record<string, unknown>): Severity[] {
  if (json.SchemaVersion !== 2) {
    fail(
      'bad_request',
      `Trivy report SchemaVersion ${JSON.stringify(json.SchemaVersion)} is not supported (expected 2)`
    );
  }
  const results = json.Results ?? [];
  if (!Array.isArray(results)) fail('bad_request', 'Trivy report Results must be an array');
  const out: Severity[] = [];
  results.forEach((r, i) => {
    if (!isRecord(r)) fail('bad_request', `Trivy report Results[${i}] is not an object`);
    const vulns = r.Vulnerabilities ?? [];
    if (!Array.isArray(vulns))
      fail('bad_request', `Trivy report Results[${i}].Vulnerabilities must be an array`);
    vulns.forEach((v, j) => {
      const where = `Trivy report Results[${i}].Vulnerabilities[${j}]`;
      if (!isRecord(v)) fail('bad_request', `${where} is not an object`);
      out.push(severity(v.Severity, `${where}.Severity`));
    });
  });
  return out;
}

/** Grype JSON: `{matches: [{vulnerability: {severity}}], descriptor: {name: "grype"}}`. */
function grypeSeverities(json: Record<string, unknown>): Severity[] {
  const { matches, descriptor } = json;
  if (!Array.isArray(matches)) fail('bad_request', 'Grype report matches must be an array');
  if (descriptor !== undefined && !(isRecord(descriptor) && descriptor.name === 'grype')) {
    fail('bad_request', 'Grype report descriptor.name must be "grype"');
  }
  return matches.map((m, i) => {
    const where = `Grype report matches[${i}]`;
    if (!isRecord(m) || !isRecord(m.vulnerability))
      fail('bad_request', `${where}.vulnerability is not an object`);
    return severity(m.vulnerability.severity, `${where}.vulnerability.severity`);
  });
}

function notAReport(): never {
  fail(
    'bad_request',
    'the body is neither a Trivy JSON report (SchemaVersion, Results) nor a Grype JSON report (matches)'
  );
}

function severity(value: unknown, where: string): Severity {
  const s = typeof value === 'string' ? value.toLowerCase() : undefined;
  if (s === undefined || !(SEVERITIES as readonly string[]).includes(s)) {
    fail('bad_request', `${where} ${JSON.stringify(value)} is not a known severity`);
  }
  return s as Severity;
}

/** The `vulnerabilities` check: fails without a report, and when any budgeted severity is over. */
export function vulnerabilityCheck(
  budget: VulnerabilityBudget,
  report: ScannerReport | undefined
): PolicyCheck {
  const limits = SEVERITIES.filter((s) => budget[s] !== undefined)
    .map((s) => `${s} ≤ ${budget[s]}`)
    .join(', ');
  if (!report) {
    return {
      name: 'vulnerabilities',
      passed: false,
      detail: `no vulnerability report attached; the budget (${limits}) needs a Trivy or Grype JSON report`,
    };
  }
  const over = SEVERITIES.filter((s) => budget[s] !== undefined && report.counts[s] > budget[s]);
  const counts = SEVERITIES.map((s) => `${s} ${report.counts[s]}`).join(', ');
  const head = `${report.format} report sha256:${report.sha256Hex}: ${counts}`;
  if (over.length === 0)
    return {
      name: 'vulnerabilities',
      passed: true,
      detail: `${head}; within the budget (${limits})`,
    };
  const excess = over.map((s) => `${report.counts[s]} ${s} (at most ${budget[s]})`).join(', ');
  return { name: 'vulnerabilities', passed: false, detail: `${head}; over the budget: ${excess}` };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
