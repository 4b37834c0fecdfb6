/**
 * The certification chain's routes (src/http/store-routes.ts): submissions, reports, waivers,
 * reviews, publish, revocations, the audit log and the store CA.
 */
import {
  AUTHENTICATED,
  errors,
  jsonBody,
  ok,
  ref,
  type Operation,
  type Parameter,
  type PathGroup,
} from './model.js';
import { GUN } from './common.js';
import { STORE_SCHEMAS, SUBMISSION_ID } from './store-schemas.js';
import { respondAsync } from './work-paths.js';

const TAG = 'store';

const ID: Parameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The submission id (unguessable; an id of another shape is 404).',
  schema: SUBMISSION_ID,
};

const PUBLIC_GUN: Parameter = {
  name: 'gun',
  in: 'path',
  required: true,
  description: 'A public GUN, verbatim with its slashes: `/repositories/store.test/acme/web/…`.',
  schema: GUN,
};

const integer = (name: string, description: string, minimum: number, maximum: number) =>
  ({
    name,
    in: 'query',
    description,
    schema: { type: 'integer', minimum, maximum },
  }) as const satisfies Parameter;

const SUBMISSION = ref('Submission');

/**
 * An operation on one submission. Its statuses gain 400: a path segment that does not decode
 * (`%ff`) is refused by the router before any handler runs.
 */
function onSubmission(
  o: Omit<Operation, 'tags' | 'responses'> & { statuses: Operation['responses'] }
): Operation {
  const { statuses, ...rest } = o;
  const responses = { ...statuses, ...errors(400) };
  return { ...rest, tags: [TAG], parameters: [ID, ...(o.parameters ?? [])], responses };
}

const submissions: Record<string, Operation> = {
  post: respondAsync({
    operationId: 'createSubmission',
    summary: 'Submit a staging tag for certification',
    description:
      'Creates a submission and verifies it. Without a registry verification has finished when the 201 returns; with one it may still be `submitted`.',
    tags: [TAG],
    requestBody: jsonBody('The staging GUN and tag.', ref('NewSubmission')),
    responses: {
      '201': ok('The submission.', SUBMISSION),
      ...errors(400, 403, 404, 413, ...AUTHENTICATED),
    },
  }),
  get: {
    operationId: 'listSubmissions',
    summary: 'List submissions (reviewers and admins)',
    tags: [TAG],
    parameters: [
      {
        name: 'state',
        in: 'query',
        description: 'Only this state.',
        schema: ref('SubmissionState'),
      },
      { name: 'gun', in: 'query', description: 'Only this staging GUN.', schema: GUN },
      integer('limit', 'At most this many.', 1, 10_000),
    ],
    responses: {
      '200': ok('The submissions.', ref('SubmissionList')),
      ...errors(400, 403, ...AUTHENTICATED),
    },
  },
};

const oneSubmission: Record<string, Operation> = {
  get: onSubmission({
    operationId: 'getSubmission',
    summary: 'Read a submission (its owner, reviewers, admins)',
    statuses: { '200': ok('The submission.', SUBMISSION), ...errors(403, 404, ...AUTHENTICATED) },
  }),
};

const verify: Record<string, Operation> = {
  post: respondAsync(
    onSubmission({
      operationId: 'verifySubmission',
      summary: 'Verify a submission again (its owner, admins)',
      description: 'After a registry outage, say; only while no one has reviewed it.',
      statuses: {
        '200': ok('The submission.', SUBMISSION),
        ...errors(403, 404, 409, ...AUTHENTICATED),
      },
    })
  ),
};

const reviews: Record<string, Operation> = {
  post: respondAsync(
    onSubmission({
      operationId: 'reviewSubmission',
      summary: 'Approve or reject (reviewers, admins; never the submitter)',
      description:
        'Publishes on the quorum when `autoPublish` is on, and answers after the publish. 409 `policy_failed` while a policy check fails unwaived.',
      requestBody: jsonBody('The decision and a note.', ref('ReviewRequest')),
      statuses: {
        '200': ok('The submission.', SUBMISSION),
        ...errors(400, 403, 404, 409, 413, ...AUTHENTICATED),
      },
    })
  ),
};

const reports: Record<string, Operation> = {
  post: onSubmission({
    operationId: 'attachReport',
    summary: 'Attach a vulnerability report (Trivy or Grype JSON, as the scanner wrote it)',
    description: 'Any Content-Type: the bytes are kept as sent; their sha256 goes into provenance.',
    requestBody: {
      required: true,
      content: { 'application/json': { schema: { description: 'A Trivy or Grype JSON report.' } } },
    },
    statuses: {
      '200': ok('The submission, with the report in `reports`.', SUBMISSION),
      ...errors(400, 403, 404, 409, 413, ...AUTHENTICATED),
    },
  }),
};

const oneReport: Record<string, Operation> = {
  get: onSubmission({
    operationId: 'getReport',
    summary: 'Download an attached report, byte for byte',
    parameters: [
      {
        name: 'sha256',
        in: 'path',
        required: true,
        description: 'The report’s sha256 (hex), as `reports[].sha256` lists it.',
        schema: { type: 'string' },
      },
    ],
    statuses: {
      '200': ok('The report as uploaded.', { description: 'Scanner JSON.' }),
      ...errors(403, 404, ...AUTHENTICATED),
    },
  }),
};

const waivers: Record<string, Operation> = {
  post: onSubmission({
    operationId: 'waivePolicyCheck',
    summary: 'Waive a failing policy check with a reason (reviewers, admins)',
    requestBody: jsonBody('The check and why.', ref('WaiverRequest')),
    statuses: {
      '200': ok('The submission.', SUBMISSION),
      ...errors(400, 403, 404, 409, 413, ...AUTHENTICATED),
    },
  }),
};

const publish: Record<string, Operation> = {
  post: respondAsync(
    onSubmission({
      operationId: 'publishSubmission',
      summary: 'Publish an approved submission (admins)',
      statuses: {
        '200': ok('The submission, `published`.', SUBMISSION),
        ...errors(403, 404, 409, 500, ...AUTHENTICATED),
      },
    })
  ),
};

const revocations: Record<string, Operation> = {
  post: {
    operationId: 'revokeTag',
    summary: 'Remove a tag from a public repository (admins)',
    tags: [TAG],
    parameters: [PUBLIC_GUN],
    requestBody: jsonBody('The tag and why.', ref('RevocationRequest')),
    responses: {
      '200': ok('What was revoked.', ref('Revocation')),
      ...errors(400, 403, 404, 409, 413, ...AUTHENTICATED),
    },
  },
};

const audit: Record<string, Operation> = {
  get: {
    operationId: 'listAudit',
    summary: 'Audit entries, oldest first (admins)',
    tags: [TAG],
    parameters: [
      { name: 'gun', in: 'query', description: 'Only entries about this GUN.', schema: GUN },
      {
        name: 'since',
        in: 'query',
        description: 'Only entries at or after this time (RFC 3339).',
        schema: { type: 'string' },
      },
      integer('after', 'Only entries with a greater id (paging).', 0, Number.MAX_SAFE_INTEGER),
      integer('limit', 'At most this many (default 1000).', 1, 10_000),
    ],
    responses: {
      '200': ok('The entries.', ref('AuditList')),
      ...errors(400, 403, ...AUTHENTICATED),
    },
  },
};

const auditVerify: Record<string, Operation> = {
  get: {
    operationId: 'verifyAudit',
    summary: 'Check the audit log’s hash chain (admins)',
    tags: [TAG],
    responses: {
      '200': ok('The first broken entry, if any.', ref('AuditVerification')),
      ...errors(403, ...AUTHENTICATED),
    },
  },
};

const caPem: Record<string, Operation> = {
  get: {
    operationId: 'getStoreCa',
    summary: 'The store CA certificate, to pin (anyone)',
    tags: [TAG],
    security: [],
    responses: {
      '200': {
        description: 'PEM; what `trust_pinning.ca` and `countersign verify --pin-ca` take.',
        content: {
          'application/x-pem-file': {
            schema: { type: 'string', pattern: '^-----BEGIN CERTIFICATE-----' },
          },
        },
      },
      ...errors(404),
    },
  },
};

export const STORE_PATHS: PathGroup = {
  tag: {
    name: TAG,
    description:
      'The certification chain: staging → verify → review → publish. Needs store zones; without them these routes answer 404.',
  },
  schemas: STORE_SCHEMAS,
  paths: {
    '/api/v1/submissions': submissions,
    '/api/v1/submissions/{id}': oneSubmission,
    '/api/v1/submissions/{id}/verify': verify,
    '/api/v1/submissions/{id}/reviews': reviews,
    '/api/v1/submissions/{id}/reports': reports,
    '/api/v1/submissions/{id}/reports/{sha256}': oneReport,
    '/api/v1/submissions/{id}/waivers': waivers,
    '/api/v1/submissions/{id}/publish': publish,
    '/api/v1/repositories/{gun}/revocations': revocations,
    '/api/v1/audit': audit,
    '/api/v1/audit/verify': auditVerify,
    '/api/v1/store/ca.pem': caPem,
  },
};
