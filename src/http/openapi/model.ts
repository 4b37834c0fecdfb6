/**
 * The building blocks of the OpenAPI 3.1 description (docs/interfaces.md "OpenAPI description"):
 * the few object shapes the description uses, and helpers that keep each area's module short —
 * a `$ref` to a component, a JSON body, the store API's error answers by status.
 *
 * Schemas are plain JSON Schema 2020-12 objects (OpenAPI 3.1's dialect): `type: ['string', 'null']`
 * instead of 3.0's `nullable`, `examples` instead of `example`.
 */

/** A JSON Schema 2020-12 object. Kept loose: the lint test checks the description as a whole. */
export type Schema = { readonly [keyword: string]: unknown };

export interface Parameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly required?: boolean;
  readonly description: string;
  readonly schema: Schema;
}

export interface MediaType {
  readonly schema: Schema;
}

export interface RequestBody {
  readonly required: boolean;
  readonly description?: string;
  readonly content: Readonly<Record<string, MediaType>>;
}

export interface ResponseObject {
  readonly description: string;
  readonly headers?: Readonly<
    Record<string, { readonly description: string; readonly schema: Schema }>
  >;
  readonly content?: Readonly<Record<string, MediaType>>;
}

export interface Operation {
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  /** `[]` for an operation anyone may call; absent to inherit the document's (Bearer or Basic). */
  readonly security?: readonly Readonly<Record<string, readonly string[]>>[];
  readonly parameters?: readonly Parameter[];
  readonly requestBody?: RequestBody;
  /** Status code → answer. Every status the route can give is listed; there is no `default`. */
  readonly responses: Readonly<Record<string, ResponseObject>>;
}

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** OpenAPI path template (`/api/v1/submissions/{id}`) → method → operation. */
export type Paths = Readonly<Record<string, Readonly<Partial<Record<HttpMethod, Operation>>>>>;

/** One area of the API: its paths and the component schemas they refer to. */
export interface PathGroup {
  readonly tag: { readonly name: string; readonly description: string };
  readonly paths: Paths;
  readonly schemas?: Readonly<Record<string, Schema>>;
}

/** `{"$ref": "#/components/schemas/NAME"}`. */
export function ref(name: string): Schema {
  return { $ref: `#/components/schemas/${name}` };
}

/** A response or request content map with one JSON schema. */
export function json(schema: Schema): Readonly<Record<string, MediaType>> {
  return { 'application/json': { schema } };
}

/** A 2xx answer with a JSON body. */
export function ok(description: string, schema: Schema): ResponseObject {
  return { description, content: json(schema) };
}

/** A required JSON request body. */
export function jsonBody(description: string, schema: Schema): RequestBody {
  return { required: true, description, content: json(schema) };
}

/**
 * Why the store API answers each error status (codes: src/errors.ts STORE_CODES); every one has
 * the body `{"error":{"code","message"}}`. 500 is listed only where a server-side step can fail
 * by design (publish); anywhere else it is a bug, and the schema check of the tests fails on it.
 */
const ERROR_REASONS = {
  400: 'bad_request: a parameter or the body is not valid.',
  401: 'unauthorized: no credentials, or credentials or a token that are not valid.',
  403: 'forbidden: the account may not do this.',
  404: 'not_found: no such resource (or the route needs store zones that are not configured).',
  409: 'conflict or policy_failed: the resource is not in a state that allows this.',
  413: 'too_large: the body is over its cap.',
  429: 'rate_limited: too many failed logins for this account or address.',
  503: 'unavailable: too many logins at once, storage full, or a registry the step needs is down.',
  500: 'internal: a step of the server failed (a publish hook, say); the server log has the reason.',
} as const;

export type ErrorStatus = keyof typeof ERROR_REASONS;

/** The statuses of a route behind `authenticate` (a login can be refused or rate-limited). */
export const AUTHENTICATED: readonly ErrorStatus[] = [401, 429, 503];

/** Error answers for these statuses, each with the store API's error body. */
export function errors(...statuses: readonly ErrorStatus[]): Record<string, ResponseObject> {
  const out: Record<string, ResponseObject> = {};
  // Status keys are integer-like: objects keep them in ascending order by themselves.
  for (const s of new Set(statuses))
    out[String(s)] = { description: ERROR_REASONS[s], content: json(ref('Error')) };
  return out;
}
