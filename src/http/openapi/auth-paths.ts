/**
 * Who is calling: the built-in token service `/auth/token` (src/http/token-route.ts, present in
 * built-in auth mode), `GET /api/v1/whoami`, and this description itself.
 */
import { TIME } from './common.js';
import { AUTHENTICATED, errors, json, ok, ref, type Parameter, type PathGroup } from './model.js';

const TAG = 'auth';

/** Distribution's error body, which the docker and notary CLIs print. */
const TOKEN_ERRORS = {
  type: 'object',
  additionalProperties: false,
  required: ['errors'],
  properties: {
    errors: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'message'],
        properties: {
          code: {
            type: 'string',
            enum: ['UNAUTHORIZED', 'INVALID_REQUEST', 'TOOMANYREQUESTS', 'UNAVAILABLE', 'UNKNOWN'],
          },
          message: { type: 'string' },
        },
      },
    },
  },
} as const;

const tokenError = (description: string) => ({
  description,
  content: { 'application/json': { schema: ref('TokenErrors') } },
});

const TOKEN_RESPONSES = {
  '200': ok('A token (an empty `access` when nothing was granted).', ref('TokenResponse')),
  '400': tokenError('INVALID_REQUEST: a parameter given twice, another service, a bad grant.'),
  '401': tokenError('UNAUTHORIZED: the credentials or the refresh token are not valid.'),
  '404': {
    description:
      'not_found (the store API’s error body): no token service here — the server is not in built-in auth mode.',
    content: json(ref('Error')),
  },
  '429': tokenError('TOOMANYREQUESTS: too many failed logins; see Retry-After.'),
  '503': tokenError('UNAVAILABLE: too many logins at once; see Retry-After.'),
};

const query = (name: string, description: string): Parameter => ({
  name,
  in: 'query',
  description,
  schema: { type: 'string' },
});

export const AUTH_PATHS: PathGroup = {
  tag: { name: TAG, description: 'Tokens, the caller, and this description.' },
  schemas: {
    TokenErrors: TOKEN_ERRORS,
    TokenResponse: {
      type: 'object',
      additionalProperties: false,
      required: ['token', 'access_token', 'expires_in', 'issued_at'],
      properties: {
        token: { type: 'string', description: 'A JWT; `access` lists the granted actions.' },
        access_token: { type: 'string', description: 'The same token (OAuth2 name).' },
        expires_in: { type: 'integer', minimum: 1 },
        issued_at: TIME,
        refresh_token: { type: 'string' },
      },
    },
    WhoAmI: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'role', 'namespaces'],
      properties: {
        name: { type: 'string' },
        role: { type: 'string', enum: ['publisher', 'reviewer', 'admin'] },
        namespaces: { type: 'array', items: { type: 'string' } },
      },
    },
    TokenForm: {
      type: 'object',
      required: ['grant_type'],
      properties: {
        grant_type: { type: 'string', enum: ['password', 'refresh_token'] },
        username: { type: 'string' },
        password: { type: 'string' },
        refresh_token: { type: 'string' },
        service: { type: 'string' },
        client_id: { type: 'string' },
        access_type: { type: 'string', enum: ['offline', 'online'] },
        scope: { description: 'Once or more: `repository:GUN:pull,push`.' },
      },
    },
  },
  paths: {
    '/auth/token': {
      get: {
        operationId: 'getToken',
        summary: 'A token for repository scopes (docker’s token flow)',
        description:
          'No Authorization: the anonymous grants. Basic credentials: the account’s grants. Only in built-in auth mode.',
        tags: [TAG],
        security: [{}, { basic: [] }],
        parameters: [
          query('service', 'The service the token is for; another is refused.'),
          {
            name: 'scope',
            in: 'query',
            description: 'Once or more: `repository:GUN:pull,push`.',
            schema: { type: 'string' },
          },
          query('account', 'The account name docker sends beside the Basic header.'),
          query('offline_token', '`true` for a refresh token as well.'),
          query('client_id', 'The client asking.'),
        ],
        responses: TOKEN_RESPONSES,
      },
      post: {
        operationId: 'postToken',
        summary: 'A token by password or refresh token (docker’s OAuth form)',
        tags: [TAG],
        security: [],
        requestBody: {
          required: true,
          content: { 'application/x-www-form-urlencoded': { schema: ref('TokenForm') } },
        },
        responses: TOKEN_RESPONSES,
      },
    },
    '/api/v1/whoami': {
      get: {
        operationId: 'whoami',
        summary: 'The calling account',
        tags: [TAG],
        responses: { '200': ok('The account.', ref('WhoAmI')), ...errors(...AUTHENTICATED) },
      },
    },
    '/api/v1/openapi.json': {
      get: {
        operationId: 'getOpenApi',
        summary: 'This description (OpenAPI 3.1)',
        tags: [TAG],
        security: [],
        responses: {
          '200': ok('The description.', {
            type: 'object',
            required: ['openapi', 'info', 'paths'],
            properties: {
              openapi: { type: 'string', pattern: '^3\\.1\\.' },
              info: { type: 'object' },
              paths: { type: 'object' },
            },
          }),
          '304': { description: 'Not modified: If-None-Match named the current ETag.' },
        },
      },
    },
  },
};
