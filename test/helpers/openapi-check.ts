/**
 * Checks HTTP exchanges against the OpenAPI description (src/http/openapi/): the answer's status
 * must be described for that path and method, its body must match the schema for that status
 * and content type, and a request the server accepted (2xx) must match the described parameters
 * and body. A path under /api/ or /auth/ that the description does not list must answer the JSON
 * 404. Failures name the method, the path template, the status and the schema error.
 *
 * `validatingRequest(handler)` is supertest's `request(handler)` with this check added to every
 * request; the store API test fixtures use it, so every store test checks the description. Ajv
 * (JSON Schema 2020-12, OpenAPI 3.1's dialect) is reached only through this module.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import request from 'supertest';
import type { Response, Test } from 'supertest';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { openApiDocument, type OpenApiDocument } from '../../src/http/openapi/document.js';
import type { Operation } from '../../src/http/openapi/model.js';

/** One request and its answer, as the checker sees them. */
export interface Exchange {
  readonly method: string;
  /** Path and query as sent (`/api/v1/audit?limit=5`). */
  readonly url: string;
  readonly requestContentType?: string;
  /** What the test sent: an object (JSON or form), a string, a Buffer, or undefined. */
  readonly requestBody?: unknown;
  readonly status: number;
  readonly responseContentType?: string;
  /** The parsed JSON answer, or its text for other content types. */
  readonly responseBody: unknown;
}

const ROOT = 'urn:countersign:openapi';
const DESCRIBED_PREFIXES = ['/api/', '/auth/'];

interface Template {
  readonly path: string;
  readonly regex: RegExp;
  readonly names: readonly string[];
}

/** `/repositories/{gun}/status` → a regex; `{gun}` takes slashes (GUNs are verbatim in paths). */
function template(path: string): Template {
  const names: string[] = [];
  const source = path
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const m = /^\{(.+)\}$/.exec(part);
      if (!m) return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
      names.push(m[1]!);
      return m[1] === 'gun' ? '(.+)' : '([^/]+)';
    })
    .join('');
  return { path, regex: new RegExp(`^${source}$`), names };
}

const pointer = (...parts: string[]) =>
  `${ROOT}#/${parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;

/** A path segment decoded as express decodes it; undecodable (`%ff`) stays as sent. */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

const mediaType = (header: string | undefined) => header?.split(';')[0]?.trim().toLowerCase();

export class OpenApiChecker {
  private readonly ajv: Ajv2020;
  private readonly templates: Template[];
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(readonly doc: OpenApiDocument = openApiDocument()) {
    this.ajv = new Ajv2020({ strict: true, allErrors: true, validateFormats: false });
    this.ajv.addKeyword('components').addKeyword('paths');
    this.ajv.addSchema({ $id: ROOT, components: doc.components, paths: doc.paths });
    // Literal templates before ones with a slash-taking {gun}.
    this.templates = Object.keys(doc.paths)
      .map(template)
      .sort((a, b) => Number(a.path.includes('{gun}')) - Number(b.path.includes('{gun}')));
  }

  /** The validator of the schema at this place of the description, compiled once. */
  private validator(parts: string[]): ValidateFunction {
    const at = pointer(...parts);
    let v = this.compiled.get(at);
    if (v === undefined) {
      v = this.ajv.compile({ $ref: at });
      this.compiled.set(at, v);
    }
    return v;
  }

  /** The schema error of `data` at this place of the description (undefined when it matches). */
  schemaProblem(parts: string[], data: unknown, what: string): string | undefined {
    const v = this.validator(parts);
    if (v(data)) return undefined;
    return this.ajv.errorsText(v.errors, { dataVar: what, separator: '; ' });
  }

  /** Every way this exchange departs from the description (empty when it conforms). */
  problems(x: Exchange): string[] {
    const url = new URL(x.url, 'http://localhost');
    const method = x.method.toLowerCase() === 'head' ? 'get' : x.method.toLowerCase();
    const match = this.match(url.pathname);
    const op = match ? this.doc.paths[match.path]?.[method as 'get'] : undefined;
    if (!match || !op) {
      if (!DESCRIBED_PREFIXES.some((p) => url.pathname.startsWith(p))) return [];
      if (
        x.status === 404 &&
        this.schemaProblem(['components', 'schemas', 'Error'], x.responseBody, 'body') === undefined
      )
        return [];
      return [`${x.method} ${url.pathname} is not in the description, yet answered ${x.status}`];
    }
    const where = `${x.method} ${match.path} → ${x.status}`;
    const out = this.responseProblems(x, match.path, method, op).map((p) => `${where}: ${p}`);
    if (x.status >= 200 && x.status < 300) {
      const req = [
        ...this.parameterProblems(match.path, method, op, match.params, url.searchParams),
        ...this.bodyProblems(x, match.path, method, op),
      ];
      out.push(...req.map((p) => `${where}, yet the request does not match: ${p}`));
    }
    return out;
  }

  /** Throws one error listing every problem. */
  check(x: Exchange): void {
    const found = this.problems(x);
    if (found.length > 0) throw new Error(`OpenAPI description: ${found.join('\n')}`);
  }

  private match(path: string): { path: string; params: Map<string, string> } | undefined {
    for (const t of this.templates) {
      const m = t.regex.exec(path);
      if (!m) continue;
      const params = new Map(t.names.map((n, i) => [n, decoded(m[i + 1]!)]));
      return { path: t.path, params };
    }
    return undefined;
  }

  private responseProblems(x: Exchange, path: string, method: string, op: Operation): string[] {
    const response = op.responses[String(x.status)];
    if (!response)
      return [`status ${x.status} is not described (${Object.keys(op.responses).join(', ')})`];
    if (x.method.toUpperCase() === 'HEAD' || !response.content) return [];
    const type = mediaType(x.responseContentType);
    if (type === undefined || !(type in response.content))
      return [
        `content type ${type} is not described (${Object.keys(response.content).join(', ')})`,
      ];
    const problem = this.schemaProblem(
      ['paths', path, method, 'responses', String(x.status), 'content', type, 'schema'],
      x.responseBody,
      'response body'
    );
    return problem === undefined ? [] : [problem];
  }

  private parameterProblems(
    path: string,
    method: string,
    op: Operation,
    pathParams: Map<string, string>,
    query: URLSearchParams
  ): string[] {
    const out: string[] = [];
    const declared = op.parameters ?? [];
    for (const [name, value] of [...pathParams, ...query]) {
      const index = declared.findIndex((p) => p.name === name);
      const p = declared[index];
      if (p === undefined) {
        out.push(`parameter ${name} is not described`);
        continue;
      }
      const typed = p.schema.type === 'integer' && /^-?\d+$/.test(value) ? Number(value) : value;
      const where = ['paths', path, method, 'parameters', String(index), 'schema'];
      const problem = this.schemaProblem(where, typed, `${p.in} parameter ${name}`);
      if (problem !== undefined) out.push(problem);
    }
    for (const p of declared)
      if (p.required && !pathParams.has(p.name) && !query.has(p.name))
        out.push(`required parameter ${p.name} is missing`);
    return out;
  }

  private bodyProblems(x: Exchange, path: string, method: string, op: Operation): string[] {
    const body = op.requestBody;
    if (!body) return [];
    if (x.requestBody === undefined)
      return body.required ? ['the body is required and was not sent'] : [];
    const type = mediaType(x.requestContentType);
    if (type === undefined || !(type in body.content))
      return [`request content type ${type} is not described`];
    const problem = this.schemaProblem(
      ['paths', path, method, 'requestBody', 'content', type, 'schema'],
      requestValue(x.requestBody, type),
      'request body'
    );
    return problem === undefined ? [] : [problem];
  }
}

/** The request body as the schema sees it: JSON parsed, a form as an object. */
function requestValue(body: unknown, type: string): unknown {
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : body;
  if (typeof text !== 'string') return text;
  if (type === 'application/x-www-form-urlencoded') {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of new URLSearchParams(text)) {
      const prev = out[k];
      out[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
    }
    return out;
  }
  if (type === 'application/json') {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

let shared: OpenApiChecker | undefined;

/** One checker for the whole test process (compiling the schemas takes a moment). */
export function openApiChecker(): OpenApiChecker {
  shared ??= new OpenApiChecker();
  return shared;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
type Agent = ReturnType<typeof request>;
const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete', 'head', 'options']);

/** The exchange supertest saw (the ClientRequest holds the final path, query included). */
export function exchangeOf(res: Response, sent: unknown): Exchange {
  const req = (
    res as unknown as { req: { method: string; path: string; getHeader(n: string): unknown } }
  ).req;
  const json = mediaType(res.headers['content-type']) === 'application/json';
  const requestContentType = req.getHeader('content-type');
  return {
    method: req.method,
    url: req.path,
    ...(typeof requestContentType === 'string' ? { requestContentType } : {}),
    requestBody: sent,
    status: res.status,
    responseContentType: res.headers['content-type'],
    responseBody: json ? (res.body as unknown) : res.text,
  };
}

export interface ValidatingOptions {
  readonly checker?: OpenApiChecker;
  /** Path prefixes of routes a test adds for itself (`/api/v1/test/`): not checked. */
  readonly unchecked?: readonly string[];
}

/** supertest's `request(handler)`, with every answer checked against the description. */
export function validatingRequest(handler: Handler, o: ValidatingOptions = {}): Agent {
  const checker = o.checker ?? openApiChecker();
  const unchecked = o.unchecked ?? [];
  return new Proxy(request(handler), {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof prop !== 'string' || !METHODS.has(prop) || typeof value !== 'function')
        return value;
      return (url: string) => {
        const test = (value as (u: string) => Test).call(target, url);
        return unchecked.some((p) => url.startsWith(p)) ? test : instrument(test, checker);
      };
    },
  });
}

function instrument(test: Test, checker: OpenApiChecker): Test {
  let sent: unknown;
  const send = test.send.bind(test);
  test.send = (data?: unknown) => {
    sent = data;
    return send(data as string);
  };
  return test.expect((res: Response) => checker.check(exchangeOf(res, sent)));
}
