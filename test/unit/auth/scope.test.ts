import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_SCOPES,
  formatChallenge,
  formatScope,
  goQuote,
  parseScope,
  parseScopes,
  requiredScopes,
  satisfies,
  unauthorizedDetail,
  type RequiredAccess,
} from '../../../src/auth/scope.js';
import { isCountersignError } from '../../../src/errors.js';

const repo = (name: string, ...actions: string[]) => ({ type: 'repository', name, actions });
const need = (name: string, action: string): RequiredAccess => ({
  type: 'repository',
  name,
  action,
});

describe('scope', () => {
  describe('#parseScope', () => {
    it('parses a plain repository scope', () => {
      assert.deepEqual(
        parseScope('repository:docker.io/library/alpine:pull'),
        repo('docker.io/library/alpine', 'pull')
      );
    });

    it('keeps host:port in the name by splitting on the last colon', () => {
      assert.deepEqual(
        parseScope('repository:localhost:5000/golang:push,pull'),
        repo('localhost:5000/golang', 'push', 'pull')
      );
      assert.deepEqual(
        parseScope('repository:127.0.0.1:4443/a/b:pull,push'),
        repo('127.0.0.1:4443/a/b', 'pull', 'push')
      );
    });

    it('parses the catalog scope, "*" and a resource class', () => {
      assert.deepEqual(parseScope('registry:catalog:*'), {
        type: 'registry',
        name: 'catalog',
        actions: ['*'],
      });
      assert.deepEqual(parseScope('repository(plugin):vieux/sshfs:pull'), {
        type: 'repository',
        class: 'plugin',
        name: 'vieux/sshfs',
        actions: ['pull'],
      });
      assert.deepEqual(parseScope('repository:a:pull,pull,push'), repo('a', 'pull', 'push'));
    });

    it('refuses malformed scopes', () => {
      for (const bad of [
        '',
        'repository',
        'repository:name',
        ':name:pull',
        'repository::pull',
        'repository:name:',
        'repository:name:pull,',
        'repository:na me:pull',
        'repository:na\u0000me:pull',
        'Repository:name:pull',
        'repository:name:PULL',
        `repository:${'a'.repeat(600)}:pull`,
      ]) {
        assert.equal(parseScope(bad), null, JSON.stringify(bad));
      }
    });
  });

  describe('#parseScopes', () => {
    it('takes space-separated and repeated values, skipping what does not parse', () => {
      const { scopes, rejected } = parseScopes([
        'repository:a:pull repository:b:push,pull',
        '',
        'bogus',
      ]);
      assert.deepEqual(scopes, [repo('a', 'pull'), repo('b', 'push', 'pull')]);
      assert.deepEqual(rejected, ['bogus']);
      assert.deepEqual(parseScopes(undefined), { scopes: [], rejected: [] });
      assert.deepEqual(parseScopes('registry:catalog:*').scopes, [
        { type: 'registry', name: 'catalog', actions: ['*'] },
      ]);
    });

    it('refuses too many scopes', () => {
      const many = Array.from({ length: MAX_SCOPES + 1 }, (_, i) => `repository:r${i}:pull`).join(
        ' '
      );
      assert.throws(
        () => parseScopes(many),
        (e) => isCountersignError(e, 'INVALID_PARAMETERS')
      );
    });

    it('formats back', () => {
      assert.equal(
        formatScope(repo('localhost:5000/x', 'push', 'pull')),
        'repository:localhost:5000/x:push,pull'
      );
      assert.equal(
        formatScope({ type: 'repository', class: 'plugin', name: 'p', actions: ['pull'] }),
        'repository(plugin):p:pull'
      );
    });
  });

  describe('#satisfies', () => {
    it('needs every required action on the same type and name', () => {
      const granted = [repo('a', 'pull', 'push')];
      assert.equal(satisfies(granted, [need('a', 'push'), need('a', 'pull')]), true);
      assert.equal(satisfies(granted, [need('a', '*')]), false);
      assert.equal(satisfies(granted, [need('b', 'pull')]), false);
      assert.equal(
        satisfies([{ type: 'registry', name: 'a', actions: ['pull'] }], [need('a', 'pull')]),
        false
      );
      assert.equal(satisfies([], []), true);
      assert.equal(satisfies([], [need('a', 'pull')]), false);
    });

    it('lets "*" satisfy any action, and merges entries for one resource', () => {
      assert.equal(
        satisfies([repo('a', '*')], [need('a', 'push'), need('a', 'pull'), need('a', '*')]),
        true
      );
      assert.equal(
        satisfies([repo('a', 'pull'), repo('a', 'push')], [need('a', 'push'), need('a', 'pull')]),
        true
      );
    });

    it('ignores the class, like distribution', () => {
      assert.equal(
        satisfies([{ ...repo('a', 'pull'), class: 'image' }], [need('a', 'pull')]),
        true
      );
    });
  });

  describe('#formatChallenge', () => {
    const base = { realm: 'https://auth.example.com/token', service: 'notary-server' };

    it('matches docs/protocol.md §7.2', () => {
      assert.equal(
        formatChallenge({
          ...base,
          required: [need('example.com/x', 'push'), need('example.com/x', 'pull')],
        }),
        'Bearer realm="https://auth.example.com/token",service="notary-server",scope="repository:example.com/x:push,pull"'
      );
    });

    it('adds the error parameter and omits an empty scope', () => {
      assert.equal(
        formatChallenge({ ...base, required: [need('g', 'pull')], error: 'invalid_token' }),
        'Bearer realm="https://auth.example.com/token",service="notary-server",scope="repository:g:pull",error="invalid_token"'
      );
      assert.equal(
        formatChallenge({ ...base, error: 'insufficient_scope' }),
        'Bearer realm="https://auth.example.com/token",service="notary-server",error="insufficient_scope"'
      );
    });

    it('separates several resources with spaces', () => {
      const required = [
        need('a', 'pull'),
        { type: 'registry', name: 'catalog', action: '*' },
        need('a', 'push'),
      ];
      assert.deepEqual(requiredScopes(required).map(formatScope), [
        'repository:a:pull,push',
        'registry:catalog:*',
      ]);
      assert.match(
        formatChallenge({ ...base, required }),
        /,scope="repository:a:pull,push registry:catalog:\*"$/
      );
    });

    it('quotes like Go %q', () => {
      assert.equal(goQuote('a"b\\c'), '"a\\"b\\\\c"');
      assert.equal(goQuote('x\ny\u0001'), '"x\\ny\\x01"');
      assert.equal(goQuote('é'), '"é"');
    });
  });

  describe('#unauthorizedDetail', () => {
    it('lists required accesses as Go marshals auth.Access', () => {
      assert.equal(
        JSON.stringify(
          unauthorizedDetail([need('example.com/x', 'push'), need('example.com/x', 'pull')])
        ),
        '[{"Type":"repository","Class":"","Name":"example.com/x","Action":"push"},{"Type":"repository","Class":"","Name":"example.com/x","Action":"pull"}]'
      );
    });
  });
});
