/**
 * The review policy's part of a submission record (docs/interfaces.md "Registries and review policy"):
 * attached vulnerability reports and the `vulnerabilities` check they decide, and reviewers'
 * waivers of failing checks. Pure functions from one SubmissionDetails to the next; the service
 * (src/store/service.ts) runs them inside its transactions and audits them.
 */
import { fail } from '../errors.js';
import { budgetEnabled, SEVERITIES, type ReviewPolicy, type Severity } from '../policy/types.js';
import { vulnerabilityCheck, type ScannerReport } from '../policy/vulnerabilities.js';
import type { PolicyCheckRecord, ReportRecord, SubmissionDetails } from './submission.js';

/** Reports kept per submission; a flood of uploads is refused rather than stored. */
export const MAX_REPORTS = 20;

/** The `custom` field of the published target that carries the report's sha256 (hex). */
export const REPORT_PROVENANCE_KEY = 'vulnerabilityReport';

/** Where a report's bytes are kept (the settings table: shared by every instance, off the submission row). */
export function reportSettingName(submissionId: string, sha256Hex: string): string {
  return `store.report.${submissionId}.${sha256Hex}`;
}

/** The report the policy counts: the one attached last. */
export function currentReport(d: SubmissionDetails): ScannerReport | undefined {
  const r = d.reports?.at(-1);
  if (!r) return undefined;
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, r.counts[s] ?? 0])) as Record<
    Severity,
    number
  >;
  return { format: r.format, sha256Hex: r.sha256, counts, findings: r.findings };
}

/** The `vulnerabilities` check of this submission now, or undefined when the policy has no budget. */
export function vulnerabilitiesCheck(
  policy: ReviewPolicy,
  d: SubmissionDetails
): PolicyCheckRecord | undefined {
  if (!budgetEnabled(policy.vulnerabilityBudget)) return undefined;
  return vulnerabilityCheck(policy.vulnerabilityBudget, currentReport(d));
}

/**
 * The details with one more report: it becomes the current one, its sha256 goes into the
 * provenance, and the `vulnerabilities` check is decided again from it (without any waiver: a
 * waiver was given for the evidence seen then).
 */
export function withReport(
  d: SubmissionDetails,
  record: ReportRecord,
  policy: ReviewPolicy
): SubmissionDetails {
  const reports = [...(d.reports ?? []), record];
  if (reports.length > MAX_REPORTS)
    fail('conflict', `a submission keeps at most ${MAX_REPORTS} reports; submit again instead`);
  const next: SubmissionDetails = {
    ...d,
    reports,
    provenance: { ...(d.provenance ?? {}), [REPORT_PROVENANCE_KEY]: record.sha256 },
  };
  const check = vulnerabilitiesCheck(policy, next);
  if (!check) return next;
  const checks = d.policy.checks.some((c) => c.name === check.name)
    ? d.policy.checks.map((c) => (c.name === check.name ? check : c))
    : [...d.policy.checks, check];
  return { ...next, policy: { checks } };
}

/** The details with the failing check `name` waived; refuses a check that passes or is waived. */
export function withWaiver(
  d: SubmissionDetails,
  name: string,
  waiver: NonNullable<PolicyCheckRecord['waived']>
): { details: SubmissionDetails; check: PolicyCheckRecord } {
  const check = d.policy.checks.find((c) => c.name === name);
  if (!check) {
    const names = d.policy.checks.map((c) => c.name);
    fail(
      'bad_request',
      `the submission has no policy check ${JSON.stringify(name)}${names.length ? ` (it has ${names.join(', ')})` : ''}`
    );
  }
  if (check.passed) fail('conflict', `policy check ${name} passes: there is nothing to waive`);
  if (check.pending)
    fail('conflict', `policy check ${name} is still running: wait for its verdict`);
  if (check.waived)
    fail('conflict', `policy check ${name} was already waived by ${check.waived.by}`);
  const waived: PolicyCheckRecord = { ...check, waived: { ...waiver } };
  return {
    details: {
      ...d,
      policy: { checks: d.policy.checks.map((c) => (c.name === name ? waived : c)) },
    },
    check: waived,
  };
}

/**
 * Policy checks computed again (re-verification) keep a waiver only where the check fails
 * exactly as it did when it was waived.
 */
export function carryWaivers(
  previous: readonly PolicyCheckRecord[],
  next: readonly PolicyCheckRecord[]
): PolicyCheckRecord[] {
  return next.map((c) => {
    const before = previous.find((p) => p.name === c.name);
    if (!before?.waived || c.passed || before.passed || before.detail !== c.detail) return c;
    return { ...c, waived: before.waived };
  });
}
