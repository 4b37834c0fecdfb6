/**
 * Expiry status (src/http/status-routes.ts, docs/freshness.md). With auth off anyone may call
 * these; otherwise admins and reviewers, and the publisher owning the repository for its status.
 */
import { GUN, TIME } from './common.js';
import { AUTHENTICATED, errors, ok, ref, type PathGroup, type Schema } from './model.js';

const TAG = 'freshness';

/** Who may ask (status-routes.ts): with auth off the routes are open, like the Notary API. */
const WHO = 'With auth off (no store zones, no token service) anyone; otherwise admins, reviewers';

const ROLE_STATUS_PROPERTIES: Record<string, Schema> = {
  role: { type: 'string', examples: ['root', 'targets', 'targets/releases', 'snapshot'] },
  version: { type: 'integer', minimum: 0 },
  expires: { type: 'string', description: 'As the metadata writes it (RFC 3339).' },
  secondsLeft: { type: 'integer', description: 'Negative once expired.' },
  keyHolder: {
    type: 'string',
    enum: ['server', 'client', 'store'],
    description: 'Who holds the key that signs it.',
  },
  state: { type: 'string', enum: ['valid', 'expiring', 'expired'] },
  resignAt: { ...TIME, description: 'When the server re-signs it; roles it keeps fresh only.' },
  certificatesExpire: { ...TIME, description: 'Root only: its certificates’ earliest expiry.' },
};
const ROLE_STATUS_REQUIRED = ['role', 'version', 'expires', 'secondsLeft', 'keyHolder', 'state'];

export const STATUS_PATHS: PathGroup = {
  tag: { name: TAG, description: 'What expires when, per repository and across them.' },
  schemas: {
    RoleStatus: {
      type: 'object',
      additionalProperties: false,
      required: ROLE_STATUS_REQUIRED,
      properties: ROLE_STATUS_PROPERTIES,
    },
    RepositoryStatus: {
      type: 'object',
      additionalProperties: false,
      required: ['gun', 'roles'],
      properties: { gun: GUN, roles: { type: 'array', items: ref('RoleStatus') } },
    },
    ExpiringRoles: {
      type: 'object',
      additionalProperties: false,
      required: ['asOf', 'within', 'roles'],
      properties: {
        asOf: TIME,
        within: { type: 'string', examples: ['30d'] },
        roles: {
          type: 'array',
          description: 'Soonest first.',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['gun', ...ROLE_STATUS_REQUIRED],
            properties: { gun: GUN, ...ROLE_STATUS_PROPERTIES },
          },
        },
      },
    },
  },
  paths: {
    '/api/v1/repositories/{gun}/status': {
      get: {
        operationId: 'getRepositoryStatus',
        summary: 'Each role’s version, expiry, key holder and state',
        description: `${WHO} and the publisher owning the repository.`,
        tags: [TAG],
        parameters: [
          {
            name: 'gun',
            in: 'path',
            required: true,
            description: 'The GUN, verbatim with its slashes.',
            schema: GUN,
          },
        ],
        responses: {
          '200': ok('The roles of the repository.', ref('RepositoryStatus')),
          // 400: a path segment that does not decode (`%ff`).
          ...errors(400, 403, 404, ...AUTHENTICATED),
        },
      },
    },
    '/api/v1/expiring': {
      get: {
        operationId: 'listExpiring',
        summary: 'Every role of every repository expiring within a duration',
        description: `${WHO}.`,
        tags: [TAG],
        parameters: [
          {
            name: 'within',
            in: 'query',
            description: 'A duration: an integer and s, m, h or d (default 30d).',
            schema: { type: 'string', examples: ['30d', '12h'] },
          },
          {
            name: 'keyHolder',
            in: 'query',
            description: 'Only roles whose key these hold: a comma-separated list.',
            schema: { type: 'string', examples: ['server,store'] },
          },
        ],
        responses: {
          '200': ok('The roles, soonest first.', ref('ExpiringRoles')),
          ...errors(400, 403, ...AUTHENTICATED),
        },
      },
    },
  },
};
