/**
 * The OpenAPI 3.1 description of the store API and the token service, served at
 * `GET /api/v1/openapi.json` (docs/interfaces.md "OpenAPI description").
 *
 * Adding routes (the jobs API under /api/v1/jobs, webhook deliveries, …): write a module beside
 * this one that exports a PathGroup — its paths with full templates (`/api/v1/jobs/{id}`), an
 * operationId for every operation, every status the route answers (errors through `errors()`), and
 * the component schemas it refers to — then add it to PATH_GROUPS below. The route-walk test
 * (test/api/openapi-routes.test.ts) fails while an Express route has no description or a
 * description has no route, and the store API tests check their answers against these schemas.
 */
import { packageVersion } from '../../util/package-info.js';
import { AUTH_PATHS } from './auth-paths.js';
import { COMMON_SCHEMAS } from './common.js';
import type { PathGroup, Paths, Schema } from './model.js';
import { STATUS_PATHS } from './status-paths.js';
import { STORE_PATHS } from './store-paths.js';
import { WORK_PATHS } from './work-paths.js';

/** Every area of the API, in the order readers see them. */
export const PATH_GROUPS: readonly PathGroup[] = [
  AUTH_PATHS,
  STORE_PATHS,
  STATUS_PATHS,
  WORK_PATHS,
];

export interface OpenApiDocument {
  readonly openapi: '3.1.1';
  readonly info: Readonly<Record<string, unknown>>;
  readonly servers: readonly { readonly url: string; readonly description: string }[];
  readonly security: readonly Readonly<Record<string, readonly string[]>>[];
  readonly tags: readonly PathGroup['tag'][];
  readonly paths: Paths;
  readonly components: {
    readonly schemas: Readonly<Record<string, Schema>>;
    readonly securitySchemes: Readonly<Record<string, Schema>>;
  };
}

/** The description, built from these groups; throws when two groups claim one path or schema. */
export function openApiDocument(groups: readonly PathGroup[] = PATH_GROUPS): OpenApiDocument {
  const paths: Record<string, Paths[string]> = {};
  const schemas: Record<string, Schema> = { ...COMMON_SCHEMAS };
  for (const g of groups) {
    for (const [path, item] of Object.entries(g.paths)) {
      if (path in paths) throw new Error(`OpenAPI: two groups describe ${path}`);
      paths[path] = item;
    }
    for (const [name, schema] of Object.entries(g.schemas ?? {})) {
      if (name in schemas) throw new Error(`OpenAPI: two groups define the schema ${name}`);
      schemas[name] = schema;
    }
  }
  return {
    openapi: '3.1.1',
    info: {
      title: 'Countersign store API',
      version: packageVersion(),
      description:
        'The certification chain, expiry status and the token service of a Countersign server. The Notary API (`/v2/…`) is notary-server 0.7’s and is not described here (docs/protocol.md). Errors are `{"error":{"code","message"}}` with the status of their code (docs/errors.md); `/auth/token` answers distribution’s `{"errors":[…]}`.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/', description: 'The server that serves this description.' }],
    security: [{ bearer: [] }, { basic: [] }],
    tags: groups.map((g) => g.tag),
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A token from `/auth/token` (built-in mode) or from the configured token service (external mode).',
        },
        basic: {
          type: 'http',
          scheme: 'basic',
          description:
            'An account’s name and password (`countersign user add`); logins are rate-limited.',
        },
      },
    },
  };
}
