import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  INTERNAL_CODES,
  NOTARY_CODES,
  RESERVED_CODES,
  STORE_CODES,
  CountersignError,
  explain,
  invalidUpdate,
  isCountersignError,
} from '../../src/errors.js';
import { errorsMarkdown } from '../../src/errors-doc.js';
import { notaryErrorBody } from '../../src/http/notary-errors.js';
import { repoRoot } from '../helpers/paths.js';

describe('the error catalogue', () => {
  it('has every code once across the three groups', () => {
    const all = [
      ...Object.keys(NOTARY_CODES),
      ...Object.keys(STORE_CODES),
      ...Object.keys(INTERNAL_CODES),
    ];
    assert.equal(new Set(all).size, all.length);
  });

  it('is documented exactly in docs/errors.md', () => {
    assert.equal(
      readFileSync(`${repoRoot}/docs/errors.md`, 'utf8'),
      errorsMarkdown(),
      'run: npm run build && node scripts/errors-doc.mjs'
    );
  });

  it("keeps notary-server's statuses and fixed messages (docs/protocol.md §1.3)", () => {
    assert.deepEqual(NOTARY_CODES.METADATA_NOT_FOUND, {
      status: 404,
      message: 'You have requested metadata that does not exist.',
    });
    assert.deepEqual(NOTARY_CODES.INVALID_UPDATE, {
      status: 400,
      message: 'Update sent by the client is invalid.',
    });
    assert.deepEqual(NOTARY_CODES.UNAUTHORIZED, {
      status: 401,
      message: 'authentication required',
    });
    assert.deepEqual(NOTARY_CODES.VERSION, {
      status: 400,
      message: 'A newer version of metadata is already available.',
    });
  });

  it('turns anything that is not a Notary code into UNKNOWN 500, never leaking its message', () => {
    const e = notaryErrorBody(new CountersignError('STORAGE_FAILURE', 'disk /var/lib is full'));
    assert.equal(e.status, 500);
    assert.equal(e.body, '{"errors":[{"code":"UNKNOWN","message":"unknown error","detail":{}}]}\n');
    assert.equal(notaryErrorBody(new Error('boom')).code, 'UNKNOWN');
  });

  it('has every code raised somewhere in src/, or reserved with a reason', () => {
    const sources = (dir: string): string[] =>
      readdirSync(dir).flatMap((n) => {
        const p = join(dir, n);
        return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
      });
    const catalogue = ['src/errors.ts', 'src/errors-doc.ts'].map((p) => join(repoRoot, p));
    const text = sources(join(repoRoot, 'src'))
      .filter((p) => !catalogue.includes(p))
      .map((p) => readFileSync(p, 'utf8'))
      .join('\n');
    // Raised = the code's literal in the arguments of fail(…) or new CountersignError(…), even
    // behind a conditional (`new CountersignError(down ? 'unavailable' : 'conflict', …)`).
    const raised = (code: string) =>
      new RegExp(`\\b(?:fail|CountersignError)\\(\\s*[^;]{0,80}?'${code}'`).test(text);
    const all = [
      ...Object.keys(NOTARY_CODES),
      ...Object.keys(STORE_CODES),
      ...Object.keys(INTERNAL_CODES),
    ];
    const reserved = Object.keys(RESERVED_CODES);
    assert.deepEqual(
      all.filter((c) => !raised(c) && !reserved.includes(c)),
      [],
      'raise these codes somewhere, or list them in RESERVED_CODES with the reason they stay'
    );
    assert.deepEqual(
      reserved.filter((c) => raised(c)),
      [],
      'these codes are raised now: take them out of RESERVED_CODES'
    );
    assert.ok(Object.values(RESERVED_CODES).every((why) => (why ?? '').length > 20));
  });

  it('keeps the cause of a refused update, and explains the chain with its codes', () => {
    const rule = new CountersignError(
      'META_THRESHOLD',
      'valid signatures did not meet threshold for targets'
    );
    const refused = invalidUpdate('ErrBadTargets', rule.message, { cause: rule });
    assert.equal(refused.code, 'INVALID_UPDATE');
    assert.equal(refused.cause, rule);
    assert.ok(isCountersignError(refused.cause, 'META_THRESHOLD'));
    assert.deepEqual(refused.detail, {
      Name: 'ErrBadTargets',
      Error: { Msg: 'valid signatures did not meet threshold for targets' },
    });
    assert.equal(
      explain(refused),
      'INVALID_UPDATE: valid signatures did not meet threshold for targets ← META_THRESHOLD: valid signatures did not meet threshold for targets'
    );
    // The cause stays out of what the client reads.
    assert.doesNotMatch(notaryErrorBody(refused).body, /META_THRESHOLD/);
  });

  it('keeps the three payloads apart: the client detail, response headers, a peer context', () => {
    const e = new CountersignError('rate_limited', undefined, { headers: { 'Retry-After': '3' } });
    assert.deepEqual(e.headers, { 'Retry-After': '3' });
    assert.equal(e.detail, undefined);
    const n = new CountersignError('NETWORK', 'registry r: refused', {
      context: { registry: 'r', operation: 'get manifest', code: 'ECONNREFUSED' },
    });
    assert.equal(n.context?.code, 'ECONNREFUSED');
    assert.equal(n.detail, undefined);
    const missing = invalidUpdate('ErrBadHierarchy', 'no snapshot', { missing: 'snapshot' });
    assert.deepEqual(missing.detail, {
      Name: 'ErrBadHierarchy',
      Error: { Missing: 'snapshot', Msg: 'no snapshot' },
    });
  });
});
