/**
 * Verdicts a report can show check by check. The check names are exactly the store's submission
 * checks (docs/interfaces.md "Store API"); each failure keeps its catalogue code and the role it is
 * about, so a CLI can pick an exit status and a store can show the reason.
 */
import type { ErrorCode } from '../errors.js';

export const CHECK_NAMES = [
  'root-chain',
  'signatures',
  'consistency',
  'target',
  'expiry',
  'rollback',
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export interface Check {
  readonly name: CheckName;
  readonly passed: boolean;
  readonly detail: string;
}

export interface Failure {
  readonly check: CheckName;
  readonly code: ErrorCode;
  /** The role the failure is about (`root`, `timestamp`, `targets/releases`, …), when there is one. */
  readonly role?: string;
  readonly message: string;
}

/** One role the client loaded, for `check` and for reports. */
export interface RoleReport {
  readonly role: string;
  readonly version: number;
  /** `expires` exactly as the metadata writes it (RFC 3339). */
  readonly expires: string;
  readonly expiresAt: Date;
  /** Lower-case hex sha256 and length of the exact bytes served. */
  readonly sha256: string;
  readonly length: number;
  /** expired: `expires` < now; expiring: before now + the minimum validity asked for. */
  readonly state: 'valid' | 'expiring' | 'expired';
  /** Root only: the earliest `notAfter` of the root certificates in force (RFC 3339). */
  readonly certificatesExpire?: string;
}

export interface ResolvedTarget {
  readonly name: string;
  readonly length: number;
  /** Algorithm → standard base64, as in the targets metadata. */
  readonly hashes: Readonly<Record<string, string>>;
  readonly custom?: unknown;
  /** `targets/releases` or `targets`: the role docker takes it from. */
  readonly role: string;
  /** `sha256:<hex>`, from the base64 sha256. */
  readonly digest: string;
}

export interface VerificationResult {
  /** Every check passed. */
  readonly ok: boolean;
  readonly gun: string;
  /** False when the server has no trust data for the GUN at all (root.json not found). */
  readonly found: boolean;
  /** The one clock reading every expiry comparison used. */
  readonly checkedAt: Date;
  /** One entry per check name, in CHECK_NAMES order; `target` only when a target was asked for. */
  readonly checks: readonly Check[];
  /** Roles loaded, in the order the client read them (root, timestamp, snapshot, targets, delegations pre-order). */
  readonly roles: readonly RoleReport[];
  readonly target?: ResolvedTarget;
  /** With a digest asked for: every tag docker resolves to it (sorted). */
  readonly tags?: readonly string[];
  /** Every failure found, in the order found; the first is the main reason. */
  readonly failures: readonly Failure[];
}

/**
 * Collects failures and positive details while the client walks the repository. A failure that
 * leaves nothing trustworthy to continue from stops the walk; checks that were not finished by
 * then are reported as not checked rather than as passed.
 */
export class Verdicts {
  readonly failures: Failure[] = [];
  private readonly details = new Map<CheckName, string>();
  private readonly finished = new Set<CheckName>();
  private stoppedBy: Failure | undefined;

  fail(check: CheckName, code: ErrorCode, message: string, role?: string): Failure {
    const f: Failure =
      role === undefined ? { check, code, message } : { check, code, role, message };
    this.failures.push(f);
    return f;
  }

  /** What a passed check says. */
  pass(check: CheckName, detail: string): void {
    this.details.set(check, detail);
  }

  finish(...checks: CheckName[]): void {
    for (const c of checks) this.finished.add(c);
  }

  stop(failure: Failure): void {
    this.stoppedBy ??= failure;
  }

  get stopped(): boolean {
    return this.stoppedBy !== undefined;
  }

  checks(withTarget: boolean): Check[] {
    return CHECK_NAMES.filter((name) => withTarget || name !== 'target').map((name) => {
      const own = this.failures.filter((f) => f.check === name);
      if (own.length > 0)
        return { name, passed: false, detail: own.map((f) => f.message).join('; ') };
      if (!this.finished.has(name)) {
        const why = this.stoppedBy ? `${this.stoppedBy.check} failed` : 'the client stopped early';
        return { name, passed: false, detail: `not checked: ${why}` };
      }
      return { name, passed: true, detail: this.details.get(name) ?? 'passed' };
    });
  }
}
