/**
 * All policy checks of a submission, in docs/interfaces.md's order: the hygiene checks of the image,
 * then `vulnerabilities` when the policy has a budget.
 */
import type { ImageSummary } from '../registry/image.js';
import { hygieneChecks } from './hygiene.js';
import { budgetEnabled, type PolicyCheck, type ReviewPolicy } from './types.js';
import { vulnerabilityCheck, type ScannerReport } from './vulnerabilities.js';

export function policyChecks(
  policy: ReviewPolicy,
  image: ImageSummary,
  report?: ScannerReport
): PolicyCheck[] {
  const checks = hygieneChecks(policy, image);
  if (budgetEnabled(policy.vulnerabilityBudget))
    checks.push(vulnerabilityCheck(policy.vulnerabilityBudget, report));
  return checks;
}
