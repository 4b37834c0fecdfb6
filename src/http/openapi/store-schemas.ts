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
