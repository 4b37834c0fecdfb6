/**
 * `GET /api/v1/openapi.json` (docs/interfaces.md "OpenAPI description"), and proof that the
 * schema check the store API tests run (test/helpers/openapi-check.ts) fails on wrong answers
 * and on requests the server should not have accepted, naming method, path, status and error.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { openApiDocument } from '../../src/http/openapi/document.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { OpenApiChecker, validatingRequest, type Exchange } from '../helpers/openapi-check.js';

const STORE = { countersign: { store: { zones: [{ staging: 'staging.t/', public: 't/' }] } } };
const ID = 'A'.repeat(22);

/** A well-formed submission as the API sends it. */
function submission(): Record<string, unknown> {
  return {
    id: ID,
    gun: 'staging.t/acme/web',
    publicGun: 't/acme/web',
    tag: '1.0',
    state: 'verified',
    submitter: 'acme',
    createdAt: '2026-12-07T06:00:00.000Z',
    updatedAt: '2026-12-07T06:00:00.000Z',
    target: null,
    staging: null,
    verification: { checks: [{ name: 'root-chain', passed: true, detail: 'ok' }], at: null },
    policy: { checks: [] },
    reviews: [],
    approvalsRequired: 1,
  };
}

const answer = (o: Partial<Exchange> & Pick<Exchange, 'method' | 'url' | 'status'>): Exchange => ({
  responseContentType: 'application/json; charset=utf-8',
  responseBody: undefined,
  ...o,
});

describe('GET /api/v1/openapi.json', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp(STORE);
  });
  after(() => t?.close());

  it('serves the description to anyone, cacheable, with an ETag that answers 304', async () => {
    const res = await t.http.get('/api/v1/openapi.json').expect(200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.match(String(res.headers['cache-control']), /^public, max-age=\d+$/);
    assert.deepEqual(res.body, JSON.parse(JSON.stringify(openApiDocument())));
    const etag = res.headers.etag;
    assert.ok(etag, 'an ETag');
    await t.http.get('/api/v1/openapi.json').set('If-None-Match', etag).expect(304);
  });

  it('auth stays on for the rest of the API', async () => {
    await t.http.get('/api/v1/whoami').expect(401);
  });
});

describe('the schema check fails on what the description does not allow', () => {
  const checker = new OpenApiChecker();

  it('accepts a conforming answer', () => {
    const ok = answer({
      method: 'GET',
      url: `/api/v1/submissions/${ID}`,
      status: 200,
      responseBody: submission(),
    });
    assert.deepEqual(checker.problems(ok), []);
  });

  it('a body missing a field, or with a wrong value, names method, path, status and the schema error', () => {
    const readAnswer = (responseBody: unknown) =>
      answer({ method: 'GET', url: `/api/v1/submissions/${ID}`, status: 200, responseBody });
    const { state: _state, ...noState } = submission();
    void _state;
    assert.throws(
      () => checker.check(readAnswer(noState)),
      /GET \/api\/v1\/submissions\/\{id\} → 200: response body must have required property 'state'/
    );
    assert.throws(
      () => checker.check(readAnswer({ ...submission(), state: 'approvd' })),
      /response body\/state must be equal to one of the allowed values/
    );
    assert.match(
      checker.problems(readAnswer({ ...submission(), secret: 'x' })).join('\n'),
      /must NOT have additional properties/
    );
  });

  it('an error answer must have the error shape, and its status must be described', () => {
    const wrongShape = answer({
      method: 'POST',
      url: '/api/v1/submissions',
      status: 403,
      responseBody: { message: 'no' },
    });
    assert.match(
      checker.problems(wrongShape).join('\n'),
      /POST \/api\/v1\/submissions → 403: response body must have required property 'error'/
    );
    const undescribed = answer({
      method: 'GET',
      url: '/api/v1/audit',
      status: 409,
      responseBody: { error: { code: 'conflict', message: 'x' } },
    });
    assert.match(
      checker.problems(undescribed).join('\n'),
      /GET \/api\/v1\/audit → 409: status 409 is not described/
    );
    const plain = answer({
      method: 'GET',
      url: '/api/v1/store/ca.pem',
      status: 200,
      responseContentType: 'text/html',
      responseBody: '<html>',
    });
    assert.match(checker.problems(plain).join('\n'), /content type text\/html is not described/);
  });

  it('a request the server accepted must match the described body and parameters', () => {
    const accepted = answer({
      method: 'POST',
      url: '/api/v1/submissions',
      requestContentType: 'application/json',
      requestBody: { gun: 'staging.t/acme/web', tag: 7 },
      status: 201,
      responseBody: submission(),
    });
    assert.match(
      checker.problems(accepted).join('\n'),
      /POST \/api\/v1\/submissions → 201, yet the request does not match: request body\/tag must be string/
    );
    // Refused with a 400, the same request is what the description says happens.
    const refused = {
      ...accepted,
      status: 400,
      responseBody: { error: { code: 'bad_request', message: 'tag' } },
    };
    assert.deepEqual(checker.problems(refused), []);
    const query = answer({
      method: 'GET',
      url: '/api/v1/submissions?limit=0&colour=red',
      status: 200,
      responseBody: { submissions: [] },
    });
    const problems = checker.problems(query).join('\n');
    assert.match(problems, /query parameter limit must be >= 1/);
    assert.match(problems, /parameter colour is not described/);
  });

  it('an undescribed path under /api answers only the JSON 404', () => {
    const notFound = { error: { code: 'not_found', message: 'No route' } };
    assert.deepEqual(
      checker.problems(
        answer({ method: 'GET', url: '/api/v1/nope', status: 404, responseBody: notFound })
      ),
      []
    );
    assert.match(
      checker
        .problems(answer({ method: 'DELETE', url: '/api/v1/audit', status: 200, responseBody: {} }))
        .join('\n'),
      /DELETE \/api\/v1\/audit is not in the description, yet answered 200/
    );
    assert.deepEqual(checker.problems(answer({ method: 'GET', url: '/v2/', status: 401 })), []);
  });

  it('the validating supertest wrapper fails the request whose answer is wrong', async () => {
    // A server that forgets `role` and `namespaces` in whoami.
    const wrong = (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ name: 'acme' }));
    };
    await assert.rejects(
      validatingRequest(wrong).get('/api/v1/whoami'),
      /GET \/api\/v1\/whoami → 200: response body must have required property 'role'/
    );
    const right = (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ name: 'acme', role: 'publisher', namespaces: [] }));
    };
    const res = await validatingRequest(right).get('/api/v1/whoami').expect(200);
    assert.equal(res.body.name, 'acme');
  });
});
