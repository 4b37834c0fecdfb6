/**
 * Long work and the webhook delivery log (src/http/job-routes.ts, webhook-routes.ts; docs/store.md
 * "Jobs", docs/webhooks.md): `GET /api/v1/jobs/{id}`, `GET /api/v1/submissions/{id}/jobs`,
 * `GET /api/v1/webhooks/deliveries`, and `respondAsync`, which gives a long store route its
 * `Prefer: respond-async` → 202 answer.
 */
import {
  AUTHENTICATED,
  errors,
  ok,
  ref,
  type Operation,
  type Parameter,
  type PathGroup,
} from './model.js';
import { TEXT, TIME } from './common.js';

const TAG = 'work';

const PREFER: Parameter = {
  name: 'Prefer',
  in: 'header',
  description:
    '`respond-async` (RFC 7240): answer 202 at once with a job to follow at `Location`, instead of waiting for the work.',
  schema: { type: 'string' },
};

/** A long route (verification against a registry, promotion) that can answer with a job instead. */
export function respondAsync(op: Operation): Operation {
  return {
    ...op,
    parameters: [...(op.parameters ?? []), PREFER],
    responses: {
      ...op.responses,
      '202': {
        description:
          'Asked for `Prefer: respond-async`: the job doing the work; its `result` is what the synchronous answer would have been.',
        headers: {
          Location: { description: '`/api/v1/jobs/ID`.', schema: { type: 'string' } },
          'Preference-Applied': { description: '`respond-async`.', schema: { type: 'string' } },
        },
        content: { 'application/json': { schema: ref('Job') } },
      },
    },
  };
}

const closed = (required: readonly string[], properties: Record<string, unknown>) => ({
  type: 'object',
  required,
  properties,
  additionalProperties: false,
});

const job: Record<string, Operation> = {
  get: {
    operationId: 'getJob',
    summary:
      'A job’s state, progress and, once finished, its result or error (its starter, admins; a submission’s job: also whoever may read the submission)',
    tags: [TAG],
    parameters: [
      { name: 'id', in: 'path', required: true, description: 'The job id.', schema: TEXT },
    ],
    responses: { '200': ok('The job.', ref('Job')), ...errors(400, 404, ...AUTHENTICATED) },
  },
};

const submissionJobs: Record<string, Operation> = {
  get: {
    operationId: 'listSubmissionJobs',
    summary:
      'A submission’s jobs, newest first, whoever started them (the submission’s readers: its publisher, reviewers, admins)',
    description:
      'The newest `limit` of the submission’s jobs: every reader of a submission reads all of its jobs. Refused (403, 404) exactly as `GET /api/v1/submissions/{id}` is.',
    tags: [TAG],
    parameters: [
      { name: 'id', in: 'path', required: true, description: 'The submission id.', schema: TEXT },
      {
        name: 'limit',
        in: 'query',
        description: 'At most this many (default 20).',
        schema: { type: 'integer', minimum: 1, maximum: 100 },
      },
    ],
    responses: {
      '200': ok('The jobs, newest first.', ref('JobList')),
      ...errors(400, 403, 404, ...AUTHENTICATED),
    },
  },
};

const deliveries: Record<string, Operation> = {
  get: {
    operationId: 'listWebhookDeliveries',
    summary: 'The webhook delivery log, newest first (admins)',
    tags: [TAG],
    parameters: [
      {
        name: 'state',
        in: 'query',
        description: 'Only this state.',
        schema: { enum: ['pending', 'delivered', 'failed'] },
      },
      {
        name: 'limit',
        in: 'query',
        description: 'At most this many (default 100).',
        schema: { type: 'integer', minimum: 1, maximum: 1000 },
      },
      {
        name: 'before',
        in: 'query',
        description: 'Only deliveries created before this time (paging).',
        schema: TIME,
      },
    ],
    responses: {
      '200': ok('The deliveries.', ref('DeliveryList')),
      ...errors(400, 403, ...AUTHENTICATED),
    },
  },
};

export const WORK_PATHS: PathGroup = {
  tag: {
    name: TAG,
    description:
      'Long store work as jobs (`Prefer: respond-async`) and the webhook delivery log. docs/store.md "Jobs", docs/webhooks.md.',
  },
  paths: {
    '/api/v1/jobs/{id}': job,
    '/api/v1/submissions/{id}/jobs': submissionJobs,
    '/api/v1/webhooks/deliveries': deliveries,
  },
  schemas: {
    Job: closed(['id', 'kind', 'state', 'owner', 'progress', 'createdAt', 'updatedAt'], {
      id: TEXT,
      kind: {
        enum: ['submit', 'verify', 'review', 'publish', 'healthcheck'],
        description:
          '`healthcheck`: a `healthcheck-run` of a submission, started by its verification (owner `countersign`; readable by whoever may read the submission).',
      },
      state: { enum: ['running', 'succeeded', 'failed'] },
      owner: TEXT,
      submission: TEXT,
      progress: {
        type: 'object',
        description:
          'What the work has done so far: `blobs 37/120, 1.2 GB` (counts and bytes) for registry walks; for `healthcheck`, `phase`, `platform` {index, total, name}, `step` (pull, unpack, start, probe), `probe` and `retries`, and `text` (`platform 1/1 linux/amd64: probe 2 …`).',
      },
      result: {
        description:
          'When `succeeded`: the synchronous answer (a submission); for `healthcheck`, `{submission, check, passed, detail, recorded}`.',
      },
      error: { type: 'object', description: 'When `failed`: `{"code","message"}`.' },
      createdAt: TIME,
      updatedAt: TIME,
      finishedAt: TIME,
    }),
    JobList: closed(['jobs'], { jobs: { type: 'array', items: ref('Job') } }),
    Delivery: closed(['id', 'url', 'event', 'eventId', 'state', 'attempts', 'createdAt', 'body'], {
      id: TEXT,
      url: TEXT,
      event: TEXT,
      eventId: TEXT,
      state: { enum: ['pending', 'delivered', 'failed'] },
      attempts: { type: 'integer', minimum: 0 },
      createdAt: TIME,
      nextAttemptAt: TIME,
      lastAttemptAt: TIME,
      lastStatus: { type: 'integer' },
      lastError: TEXT,
      body: { type: 'object', description: 'The JSON body as it was signed and sent.' },
    }),
    DeliveryList: closed(['deliveries'], {
      deliveries: { type: 'array', items: ref('Delivery') },
    }),
  },
};
