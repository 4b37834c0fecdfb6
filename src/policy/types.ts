/**
 * The review policy (`countersign.store.policy` in docs/interfaces.md) and the checks it produces.
 * A setting left out, 0, false or [] is off and yields no check.
 */
import { fail } from '../errors.js';

export type PolicyCheckName =
  'size' | 'healthcheck' | 'user' | 'labels' | 'layers' | 'vulnerabilities' | 'healthcheck-run';

export interface Waiver {
  by: string;
  reason: string;
  /** ISO 8601 time of the waiver. */
  at: string;
}

export interface PolicyCheck {
  name: PolicyCheckName;
  passed: boolean;
  detail: string;
  waived?: Waiver;
}

/** Scanner severities; Grype's `Negligible` is its own bucket, below `low`. */
export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'negligible', 'unknown'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Most findings allowed per severity; a severity not named is unlimited. */
export type VulnerabilityBudget = Partial<Record<Severity, number>>;

export interface ReviewPolicy {
  maxCompressedBytes?: number;
  requireHealthcheck?: boolean;
  requireNonRootUser?: boolean;
  requiredLabels?: string[];
  maxLayers?: number;
  vulnerabilityBudget?: VulnerabilityBudget;
}

/**
 * Validates the policy settings this module knows; other keys (the approval quorum, say) are
 * left for their owners and not copied.
 */
export function parsePolicy(value: unknown): ReviewPolicy {
  if (value === undefined) return {};
  if (!isRecord(value)) fail('CONFIG_INVALID', 'store.policy must be an object');
  const policy: ReviewPolicy = {};
  const {
    maxCompressedBytes,
    requireHealthcheck,
    requireNonRootUser,
    requiredLabels,
    maxLayers,
    vulnerabilityBudget,
  } = value;
  if (maxCompressedBytes !== undefined)
    policy.maxCompressedBytes = count(maxCompressedBytes, 'maxCompressedBytes');
  if (requireHealthcheck !== undefined)
    policy.requireHealthcheck = flag(requireHealthcheck, 'requireHealthcheck');
  if (requireNonRootUser !== undefined)
    policy.requireNonRootUser = flag(requireNonRootUser, 'requireNonRootUser');
  if (requiredLabels !== undefined) {
    if (
      !Array.isArray(requiredLabels) ||
      !requiredLabels.every((l) => typeof l === 'string' && l !== '')
    ) {
      fail('CONFIG_INVALID', 'store.policy.requiredLabels must be an array of non-empty strings');
    }
    policy.requiredLabels = [...(requiredLabels as string[])];
  }
  if (maxLayers !== undefined) policy.maxLayers = count(maxLayers, 'maxLayers');
  if (vulnerabilityBudget !== undefined)
    policy.vulnerabilityBudget = parseBudget(vulnerabilityBudget);
  return policy;
}

export function parseBudget(value: unknown): VulnerabilityBudget {
  if (!isRecord(value))
    fail('CONFIG_INVALID', 'store.policy.vulnerabilityBudget must be an object');
  const budget: VulnerabilityBudget = {};
  for (const [key, limit] of Object.entries(value)) {
    if (!(SEVERITIES as readonly string[]).includes(key)) {
      fail(
        'CONFIG_INVALID',
        `store.policy.vulnerabilityBudget.${key}: severity must be one of ${SEVERITIES.join(', ')}`
      );
    }
    budget[key as Severity] = count(limit, `vulnerabilityBudget.${key}`);
  }
  return budget;
}

/** True when the budget names at least one severity, i.e. a report is required. */
export function budgetEnabled(
  budget: VulnerabilityBudget | undefined
): budget is VulnerabilityBudget {
  return budget !== undefined && Object.keys(budget).length > 0;
}

export function waive(check: PolicyCheck, waiver: Waiver): PolicyCheck {
  return { ...check, waived: { ...waiver } };
}

/** Checks that stop an approval: failed and not waived. */
export function blockingChecks(checks: readonly PolicyCheck[]): PolicyCheck[] {
  return checks.filter((c) => !c.passed && c.waived === undefined);
}

function count(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail('CONFIG_INVALID', `store.policy.${name} must be a non-negative integer`);
  }
  return value;
}

function flag(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean')
    fail('CONFIG_INVALID', `store.policy.${name} must be true or false`);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
