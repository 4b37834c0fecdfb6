/**
 * The store's JSON shapes (src/store/submission.ts SubmissionView and its parts, the audit log,
 * revocations). Objects are closed (`additionalProperties: false`): a field the server starts
 * sending must be described here first, or the schema check of the store API tests fails.
 */
import { GUN, TIME, TEXT } from './common.js';
import { ref, type Schema } from './model.js';

const nullable = (schema: Schema): Schema => ({ anyOf: [schema, { type: 'null' }] });

function closed(required: readonly string[], properties: Record<string, Schema>): Schema {
  return { type: 'object', additionalProperties: false, required, properties };
}

const check = (extra: Record<string, Schema> = {}): Schema =>
  closed(['name', 'passed', 'detail'], {
    name: TEXT,
    passed: { type: 'boolean' },
    detail: TEXT,
    inconclusive: { const: true },
    ...extra,
  });

export const SUBMISSION_ID: Schema = { type: 'string', pattern: '^[A-Za-z0-9_-]{16,64}$' };

export const STORE_SCHEMAS: Readonly<Record<string, Schema>> = {
  SubmissionState: {
    type: 'string',
    enum: [
      'submitted',
      'verified',
      'verification_failed',
      'approved',
      'rejected',
      'published',
      'revoked',
    ],
  },
  SubmissionTarget: closed(['name', 'length', 'hashes', 'digest', 'role'], {
    name: TEXT,
    length: { type: 'integer', minimum: 0 },
    hashes: {
      type: 'object',
      description: 'Algorithm → standard base64, as in targets.json.',
      additionalProperties: { type: 'string' },
    },
    digest: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' },
    role: { type: 'string', examples: ['targets/releases', 'targets'] },
    custom: { description: 'The staging target’s `custom`, as signed.' },
  }),
  StagingRecord: closed(['versions', 'sha256', 'producerKeyIds'], {
    versions: { type: 'object', additionalProperties: { type: 'integer' } },
    sha256: { type: 'object', additionalProperties: { type: 'string' } },
    producerKeyIds: { type: 'array', items: { type: 'string' } },
  }),
  VerificationCheck: check(),
  PolicyCheck: check({
    waived: closed(['by', 'reason', 'at'], { by: TEXT, reason: TEXT, at: TIME }),
    pending: {
      const: true,
      description:
        'Decided later by a job (`healthcheck-run`): blocks approval and cannot be waived until then.',
    },
    job: {
      type: 'string',
      pattern: '^job_[0-9a-f]{32}$',
      description: 'The job deciding it: `GET /api/v1/jobs/{id}`.',
    },
    evidence: ref('HealthcheckEvidence'),
  }),
  HealthcheckEvidence: closed(['platforms', 'notRun'], {
    platforms: { type: 'array', items: ref('HealthcheckPlatformRun') },
    notRun: {
      type: 'array',
      items: TEXT,
      description: 'Platforms of the image this host cannot run (`linux/arm64`, …).',
    },
  }),
  HealthcheckPlatformRun: closed(['platform', 'passed', 'reason', 'probes'], {
    platform: { type: 'string', examples: ['linux/amd64'] },
    passed: { type: 'boolean' },
    reason: TEXT,
    healthcheck: {
      type: 'array',
      items: TEXT,
      description: 'The image’s HEALTHCHECK `Test`, as declared.',
    },
    probes: { type: 'array', items: ref('HealthcheckProbe') },
    compressedBytes: { type: 'integer', minimum: 0, description: 'The layers, as pulled.' },
    unpackedBytes: { type: 'integer', minimum: 0, description: 'The root file system, unpacked.' },
    user: closed(['declared', 'uid', 'inPasswd'], {
      declared: { type: 'string', description: 'The image’s `User` (empty: root).' },
      uid: { type: 'integer', minimum: 0 },
      inPasswd: { type: 'boolean', description: 'Whether the user is in the image’s /etc/passwd.' },
    }),
    mainOutput: { type: 'string', description: 'The first 4 KiB the main process wrote.' },
  }),
  HealthcheckProbe: closed(['at', 'exitCode', 'durationMs', 'output', 'inStartPeriod'], {
    at: TIME,
    exitCode: { type: 'integer', description: '-1: timed out or could not run.' },
    durationMs: { type: 'integer', minimum: 0 },
    output: { type: 'string', description: 'The first 4 KiB of stdout and stderr together.' },
    inStartPeriod: { type: 'boolean' },
  }),
  Review: closed(['reviewer', 'decision', 'note', 'at'], {
    reviewer: TEXT,
    decision: { type: 'string', enum: ['approve', 'reject'] },
    note: TEXT,
    at: TIME,
  }),
  Report: closed(['sha256', 'format', 'counts', 'findings', 'size', 'by', 'at'], {
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    format: { type: 'string', enum: ['trivy', 'grype'] },
    counts: {
      type: 'object',
      description: 'Findings per severity (critical, high, medium, low, negligible, unknown).',
      additionalProperties: { type: 'integer', minimum: 0 },
    },
    findings: { type: 'integer', minimum: 0 },
    size: { type: 'integer', minimum: 0 },
    by: TEXT,
    at: TIME,
  }),
  Submission: closed(
    [
      'id',
      'gun',
      'publicGun',
      'tag',
      'state',
      'submitter',
      'createdAt',
      'updatedAt',
      'target',
      'staging',
      'verification',
      'policy',
      'reviews',
      'approvalsRequired',
    ],
    {
      id: SUBMISSION_ID,
      gun: GUN,
      publicGun: GUN,
      tag: TEXT,
      state: ref('SubmissionState'),
      submitter: TEXT,
      createdAt: TIME,
      updatedAt: TIME,
      target: nullable(ref('SubmissionTarget')),
      staging: nullable(ref('StagingRecord')),
      verification: closed(['checks', 'at'], {
        checks: { type: 'array', items: ref('VerificationCheck') },
        at: nullable(TIME),
      }),
      policy: closed(['checks'], { checks: { type: 'array', items: ref('PolicyCheck') } }),
      reviews: { type: 'array', items: ref('Review') },
      approvalsRequired: {
        type: 'integer',
        minimum: 1,
        description: 'Distinct approvals that complete the quorum (`countersign.store.approvals`).',
      },
      approvedAt: TIME,
      published: closed(['at', 'by', 'targetsVersion', 'targetsKeyId'], {
        at: TIME,
        by: TEXT,
        targetsVersion: { type: 'integer', minimum: 1 },
        targetsKeyId: TEXT,
        replaced: closed(['digest'], { submission: TEXT, digest: TEXT }),
      }),
      publishError: closed(['at', 'message'], { at: TIME, message: TEXT }),
      revoked: closed(['at', 'by', 'reason'], { at: TIME, by: TEXT, reason: TEXT }),
      reports: { type: 'array', items: ref('Report') },
      provenance: {
        type: 'object',
        description: 'Extra fields for the published target’s `custom` (the report digest, …).',
      },
    }
  ),
  SubmissionList: closed(['submissions'], {
    submissions: { type: 'array', items: ref('Submission') },
  }),
  NewSubmission: closed(['gun', 'tag'], {
    gun: GUN,
    tag: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$' },
  }),
  ReviewRequest: {
    ...closed(['decision'], {
      decision: { type: 'string', enum: ['approve', 'reject'] },
      note: { type: 'string', maxLength: 4096 },
    }),
    description: 'A rejection needs a `note`.',
  },
  WaiverRequest: closed(['check', 'reason'], {
    check: { type: 'string', minLength: 1, maxLength: 64 },
    reason: { type: 'string', minLength: 1, maxLength: 4096 },
  }),
  RevocationRequest: closed(['tag', 'reason'], {
    tag: { type: 'string', minLength: 1, maxLength: 128 },
    reason: { type: 'string', minLength: 1, maxLength: 4096 },
  }),
  Revocation: closed(
    ['publicGun', 'tag', 'reason', 'digest', 'submission', 'revokedAt', 'by', 'targetsVersion'],
    {
      publicGun: GUN,
      tag: TEXT,
      reason: TEXT,
      digest: TEXT,
      submission: nullable(TEXT),
      revokedAt: TIME,
      by: TEXT,
      targetsVersion: { type: 'integer', minimum: 1 },
    }
  ),
  AuditEntry: closed(['id', 'at', 'actor', 'action', 'subject', 'details', 'prevHash', 'hash'], {
    id: { type: 'integer', minimum: 1 },
    at: { type: 'string', description: 'RFC 3339, or `invalid` for a tampered row.' },
    actor: TEXT,
    action: { type: 'string', examples: ['submission.created', 'key.created'] },
    subject: TEXT,
    details: { type: 'object' },
    prevHash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    hash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
  }),
  AuditList: closed(['entries'], { entries: { type: 'array', items: ref('AuditEntry') } }),
  AuditVerification: closed(['ok', 'entries', 'firstBroken'], {
    ok: { type: 'boolean' },
    entries: { type: 'integer', minimum: 0 },
    firstBroken: nullable({ type: 'integer', minimum: 1 }),
    reason: TEXT,
  }),
};
