/**
 * Repository names no token is signed for, and GUNs no write accepts (issue 20): path tricks in
 * token scopes (`..`, `%2e%2e`, `//`) and Unicode's bidirectional controls, which can make one
 * GUN display as another.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseScope, parseScopes } from '../../../src/auth/scope.js';
import { gunProblem } from '../../../src/tuf/names.js';

const BIDI = ['\u061c', '\u200e', '\u200f', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e'];
const ISOLATES = ['\u2066', '\u2067', '\u2068', '\u2069'];

describe('repository names in token scopes', () => {
  it('drops scopes whose repository name is a path trick', () => {
    for (const name of [
      'example.com/a/../b',
      'example.com/a/%2e%2e/b',
      'example.com/a/%2E%2e/b',
      'example.com//b',
      'example.com/a/./b',
      'example.com/a%2fb',
      '/example.com/a',
      'example.com/a/',
      `example.com/ab${'\u202e'}cd`,
    ]) {
      assert.equal(parseScope(`repository:${name}:pull`), null, name);
    }
    const { scopes, rejected } = parseScopes(
      'repository:example.com/a/../b:pull repository:example.com/ok:pull,push'
    );
    assert.deepEqual(scopes, [
      { type: 'repository', name: 'example.com/ok', actions: ['pull', 'push'] },
    ]);
    assert.deepEqual(rejected, ['repository:example.com/a/../b:pull']);
  });

  it('keeps ordinary names, ports and other resource types', () => {
    assert.ok(parseScope('repository:example.com:5000/team/app:pull'));
    assert.ok(parseScope('repository:docker.io/library/ubuntu.2..x:pull'));
    assert.ok(parseScope('registry:catalog:*'));
  });
});

describe('GUNs with bidirectional controls', () => {
  it('refuses every bidirectional control, as control characters already are', () => {
    for (const c of [...BIDI, ...ISOLATES])
      assert.match(
        gunProblem(`example.com/a${c}b`) ?? '',
        /bidirectional/,
        c.codePointAt(0)!.toString(16)
      );
    assert.equal(
      gunProblem('example.com/\u00e9t\u00e9'),
      undefined,
      'other non-ASCII stays allowed'
    );
  });
});
