/**
 * A submission as the store API shows it (docs/interfaces.md "Store API"): the stored row
 * (src/storage/types.ts StoredSubmission) with its `details` given a type, and the rules of the
 * state machine
 *
 *   submitted → verified | verification_failed → approved | rejected → published → revoked
 *
 * that the service (src/store/service.ts) enforces.
 */
import { randomBytes } from 'node:crypto';
import type { RunReport } from '../sandbox/run.js';
import type { StoredSubmission, SubmissionState } from '../storage/types.js';

export type { SubmissionState } from '../storage/types.js';

export const SUBMISSION_STATES: readonly SubmissionState[] = [
  'submitted',
  'verified',
  'verification_failed',
  'approved',
  'rejected',
  'published',
  'revoked',
];

export function isSubmissionState(value: unknown): value is SubmissionState {
  return typeof value === 'string' && (SUBMISSION_STATES as readonly string[]).includes(value);
}

/** The signed target a submission certifies, exactly as the staging metadata lists it. */
export interface SubmissionTarget {
  readonly name: string;
  readonly length: number;
  /** Algorithm → standard base64, as in targets.json. */
  readonly hashes: Readonly<Record<string, string>>;
  /** `sha256:<hex>`. */
  readonly digest: string;
  /** `targets/releases` or `targets`: where docker takes it from. */
  readonly role: string;
  readonly custom?: unknown;
}

/** One verification check (docs/interfaces.md check names, plus the registry's). */
export interface SubmissionCheck {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
  /**
   * The check could not be run (the registry was unreachable): not a verdict about the image.
   * A submission whose only failed checks are inconclusive stays `submitted` until verified again.
   */
  readonly inconclusive?: true;
}

/** One policy check (filled by the review policy, src/policy). */
export interface PolicyCheckRecord {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
  readonly waived?: { readonly by: string; readonly reason: string; readonly at: string };
  /** Not evaluated (the registry holding the image was unreachable); the submission stays `submitted`. */
  readonly inconclusive?: true;
  /** Decided later, in the background (healthcheck-run): blocks approval and cannot be waived yet. */
  readonly pending?: true;
  /** The job that decides it (healthcheck-run): `GET /api/v1/jobs/ID` shows where it is. */
  readonly job?: string;
  /** What the check saw (healthcheck-run: per platform every probe, the sizes, the user). */
  readonly evidence?: HealthcheckEvidence;
}

/** What `healthcheck-run` recorded: a report per platform run here, and the platforms not run. */
export interface HealthcheckEvidence {
  readonly platforms: readonly RunReport[];
  readonly notRun: readonly string[];
}

/** A vulnerability report attached to a submission (its bytes are kept beside it, gzipped). */
export interface ReportRecord {
  /** sha256 of the report's bytes as uploaded, hex. */
  readonly sha256: string;
  readonly format: 'trivy' | 'grype';
  /** Findings per severity (critical, high, medium, low, negligible, unknown). */
  readonly counts: Readonly<Record<string, number>>;
  readonly findings: number;
  /** Size of the uploaded bytes. */
  readonly size: number;
  readonly by: string;
  /** ISO 8601. */
  readonly at: string;
}

export type ReviewDecision = 'approve' | 'reject';

export interface Review {
  readonly reviewer: string;
  readonly decision: ReviewDecision;
  readonly note: string;
  /** ISO 8601. */
  readonly at: string;
}

/** What verification read from staging: the versions and sha256s of every role it loaded. */
export interface StagingRecord {
  readonly versions: Readonly<Record<string, number>>;
  readonly sha256: Readonly<Record<string, string>>;
  /** Key IDs whose signatures verified the role the target came from (sorted). */
  readonly producerKeyIds: readonly string[];
}

export interface PublishRecord {
  readonly at: string;
  readonly by: string;
  /** Version of the public targets.json that carries the tag. */
  readonly targetsVersion: number;
  /** The store key that signed it. */
  readonly targetsKeyId: string;
  /** A tag published before by another submission, now replaced. */
  readonly replaced?: { readonly submission?: string; readonly digest: string };
}

export interface SubmissionDetails {
  readonly target: SubmissionTarget | null;
  readonly staging: StagingRecord | null;
  readonly verification: {
    readonly checks: readonly SubmissionCheck[];
    readonly at: string | null;
  };
  readonly policy: { readonly checks: readonly PolicyCheckRecord[] };
  readonly reviews: readonly Review[];
  readonly approvedAt?: string;
  readonly published?: PublishRecord;
  /** The last publish attempt that was refused (staging changed, something expired, …). */
  readonly publishError?: { readonly at: string; readonly message: string };
  readonly revoked?: { readonly at: string; readonly by: string; readonly reason: string };
  /** Vulnerability reports attached, oldest first; the last one is the one the policy counts. */
  readonly reports?: readonly ReportRecord[];
  /** Extra fields for the published target's `custom` (hooks: vulnerability report digest, …). */
  readonly provenance?: Readonly<Record<string, unknown>>;
}

/** The API shape of a submission. */
export interface SubmissionView extends SubmissionDetails {
  readonly id: string;
  readonly gun: string;
  readonly publicGun: string;
  readonly tag: string;
  readonly state: SubmissionState;
  readonly submitter: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export const EMPTY_DETAILS: SubmissionDetails = {
  target: null,
  staging: null,
  verification: { checks: [], at: null },
  policy: { checks: [] },
  reviews: [],
};

/**
 * 16 random bytes, base64url: unguessable, so an id says nothing about other submissions. An id
 * never begins with `-`: reviewers type it as a command-line argument (`countersign approve ID`),
 * where a leading dash reads as a flag. Drawing again drops one value in 64 of the first
 * character and leaves the rest uniform.
 */
export function newSubmissionId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** A plausible id in a URL (anything else is 404 without a query). */
export function isSubmissionId(value: string): boolean {
  return /^[A-Za-z0-9_-]{16,64}$/.test(value);
}

export function detailsOf(s: StoredSubmission): SubmissionDetails {
  return { ...EMPTY_DETAILS, ...(s.details as Partial<SubmissionDetails>) };
}

export function viewOf(s: StoredSubmission): SubmissionView {
  return {
    id: s.id,
    gun: s.gun,
    publicGun: s.publicGun,
    tag: s.tag,
    state: s.state,
    submitter: s.submitter,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
    ...detailsOf(s),
  };
}

/** Distinct reviewers who approved, in the order they did. */
export function approvers(details: SubmissionDetails): string[] {
  return [
    ...new Set(details.reviews.filter((r) => r.decision === 'approve').map((r) => r.reviewer)),
  ];
}

/** A policy check that fails and is not waived blocks approval (docs/interfaces.md: 409 policy_failed). */
export function blockingPolicyChecks(details: SubmissionDetails): PolicyCheckRecord[] {
  return details.policy.checks.filter((c) => !c.passed && c.waived === undefined);
}

/**
 * Docker's tag grammar (`[\w][\w.-]{0,127}`): what `docker trust sign` and `docker push` can
 * produce, and what every later step (registry paths, audit subjects) can carry safely.
 */
export function tagProblem(tag: string): string | null {
  return /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)
    ? null
    : 'a tag is 1 to 128 letters, digits, "_", "." or "-", not starting with "." or "-"';
}

/**
 * The digest a public target entry signs and the submission its provenance names (if any): what
 * a replacing publish and a revocation record about the tag.
 */
export function certifiedBy(entry: Readonly<Record<string, unknown>>): {
  digest: string;
  submission?: string;
} {
  const hashes = entry.hashes as Record<string, unknown> | undefined;
  const b64 = typeof hashes?.sha256 === 'string' ? hashes.sha256 : '';
  const digest = `sha256:${Buffer.from(b64, 'base64').toString('hex')}`;
  const custom = entry.custom as Record<string, unknown> | undefined;
  const submission = typeof custom?.submission === 'string' ? custom.submission : undefined;
  return submission ? { digest, submission } : { digest };
}
