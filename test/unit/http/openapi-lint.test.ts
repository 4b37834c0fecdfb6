/**
 * The OpenAPI description (src/http/openapi/) is a valid OpenAPI 3.1 document in the ways tools
 * rely on: every `$ref` resolves, every operation has an operationId (unique) and described
 * responses, path templates and path parameters agree, security and tags name what the
 * document declares, every schema compiles as JSON Schema 2020-12 (strict), and every component
 * schema is used. Run without a server.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openApiDocument, PATH_GROUPS } from '../../../src/http/openapi/document.js';
import type { Operation } from '../../../src/http/openapi/model.js';
import { OpenApiChecker } from '../../helpers/openapi-check.js';

const doc = openApiDocument();
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

function operations(): { path: string; method: string; op: Operation }[] {
  const out: { path: string; method: string; op: Operation }[] = [];
  for (const [path, item] of Object.entries(doc.paths))
    for (const method of METHODS) {
      const op = (item as Partial<Record<string, Operation>>)[method];
      if (op) out.push({ path, method, op });
    }
  return out;
}

/** Every `$ref` value in the document, with where it was found. */
function refs(value: unknown, at = '#', out: { at: string; ref: string }[] = []) {
  if (Array.isArray(value)) value.forEach((v, i) => refs(v, `${at}/${i}`, out));
  else if (typeof value === 'object' && value !== null)
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push({ at, ref: v });
      else refs(v, `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, out);
    }
  return out;
}

function resolve(ref: string): unknown {
  assert.ok(ref.startsWith('#/'), `only local references: ${ref}`);
  let node: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof node !== 'object' || node === null || !(key in node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

describe('OpenAPI description: structure', () => {
  it('is OpenAPI 3.1 with a title, a version and at least the store routes', () => {
    assert.match(doc.openapi, /^3\.1\.\d+$/);
    assert.equal(typeof doc.info.title, 'string');
    assert.match(String(doc.info.version), /^\d+\.\d+\.\d+/);
    assert.ok(Object.keys(doc.paths).length >= 15, Object.keys(doc.paths).join(', '));
    for (const path of Object.keys(doc.paths)) assert.match(path, /^\/(api\/v1|auth)\//, path);
  });

  it('every $ref resolves', () => {
    const found = refs(doc);
    assert.ok(found.length > 20, `${found.length} references`);
    const broken = found.filter((r) => resolve(r.ref) === undefined);
    assert.deepEqual(broken, []);
  });

  it('every operation has a unique operationId, a summary, a tag and described responses', () => {
    const ids = new Map<string, string>();
    const declaredTags = new Set(doc.tags.map((t) => t.name));
    for (const { path, method, op } of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      assert.match(op.operationId, /^[A-Za-z][A-Za-z0-9]*$/, where);
      assert.equal(ids.get(op.operationId), undefined, `${where} reuses ${op.operationId}`);
      ids.set(op.operationId, where);
      assert.ok(op.summary.length > 0, where);
      assert.ok(op.tags.length > 0 && op.tags.every((t) => declaredTags.has(t)), where);
      const statuses = Object.keys(op.responses);
      assert.ok(
        statuses.some((s) => /^2\d\d$/.test(s)),
        `${where}: no 2xx answer`
      );
      for (const s of statuses) {
        assert.match(s, /^[1-5]\d\d$/, `${where}: status ${s}`);
        assert.ok(op.responses[s]!.description.length > 0, `${where} ${s}: no description`);
      }
    }
    assert.ok(ids.size >= 18, `${ids.size} operations`);
  });

  it('path templates and path parameters agree', () => {
    for (const { path, method, op } of operations()) {
      const inTemplate = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? []).filter((p) => p.in === 'path');
      assert.deepEqual(declared.map((p) => p.name).sort(), inTemplate, `${method} ${path}`);
      for (const p of declared) assert.equal(p.required, true, `${method} ${path} {${p.name}}`);
      const names = (op.parameters ?? []).map((p) => `${p.in}:${p.name}`);
      assert.equal(new Set(names).size, names.length, `${method} ${path}: a parameter twice`);
    }
  });

  it('security requirements name declared schemes', () => {
    const schemes = new Set(Object.keys(doc.components.securitySchemes));
    assert.deepEqual([...schemes].sort(), ['basic', 'bearer']);
    const requirements = [...doc.security, ...operations().flatMap(({ op }) => op.security ?? [])];
    for (const r of requirements)
      for (const name of Object.keys(r)) assert.ok(schemes.has(name), name);
  });

  it('every schema compiles as strict JSON Schema 2020-12, and every component schema is used', () => {
    const checker = new OpenApiChecker(doc);
    const names = Object.keys(doc.components.schemas);
    for (const name of names)
      assert.doesNotThrow(
        () => checker.schemaProblem(['components', 'schemas', name], {}, 'x'),
        name
      );
    for (const { path, method, op } of operations()) {
      for (const [status, r] of Object.entries(op.responses))
        for (const type of Object.keys(r.content ?? {}))
          checker.schemaProblem(
            ['paths', path, method, 'responses', status, 'content', type, 'schema'],
            null,
            'x'
          );
    }
    const used = new Set(refs(doc).map((r) => r.ref));
    const unused = names.filter((n) => !used.has(`#/components/schemas/${n}`));
    assert.deepEqual(unused, []);
  });

  it('two groups cannot describe one path or define one schema', () => {
    const [first] = PATH_GROUPS;
    assert.throws(() => openApiDocument([first!, first!]), /two groups describe \/auth\/token/);
    assert.throws(
      () => openApiDocument([{ ...first!, paths: {}, schemas: { Error: {} } }]),
      /two groups define the schema Error/
    );
  });
});
