import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isBearerChallengeError } from '../../../src/auth/token-error.js';
import {
  DEFAULT_CLIENT_ID,
  parseBasicCredentials,
  parseGetTokenRequest,
  parsePostTokenRequest,
} from '../../../src/auth/token-request.js';
import { isCountersignError } from '../../../src/errors.js';

const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
const badParams = (e: unknown) => isCountersignError(e, 'INVALID_PARAMETERS');

describe('token requests', () => {
  describe('#parseBasicCredentials', () => {
    it('splits on the first colon and keeps the password as sent', () => {
      assert.deepEqual(parseBasicCredentials(basic('alice:pa:ss word')), {
        username: 'alice',
        password: 'pa:ss word',
      });
      assert.deepEqual(parseBasicCredentials(basic('alice:')), { username: 'alice', password: '' });
      assert.deepEqual(parseBasicCredentials(`basic ${Buffer.from('a:b').toString('base64')}`), {
        username: 'a',
        password: 'b',
      });
    });

    it('is null without Basic, and a 401 for a broken Basic header', () => {
      assert.equal(parseBasicCredentials(undefined), null);
      assert.equal(parseBasicCredentials('Bearer abc'), null);
      for (const bad of ['Basic !!!', basic('nocolon'), basic(':nouser')]) {
        assert.throws(() => parseBasicCredentials(bad), isBearerChallengeError, bad);
      }
    });
  });

  describe('#parseGetTokenRequest', () => {
    it('reads what the notary CLI sends with credentials', () => {
      const q = new URLSearchParams(
        'account=alice&scope=repository%3Alocalhost%3A5000%2Fapp%3Apush%2Cpull&service=notary'
      );
      const r = parseGetTokenRequest(q, basic('alice:secret'));
      assert.deepEqual(r, {
        grant: { kind: 'password', credentials: { username: 'alice', password: 'secret' } },
        service: 'notary',
        scopes: [{ type: 'repository', name: 'localhost:5000/app', actions: ['push', 'pull'] }],
        rejectedScopes: [],
        offline: false,
        clientId: undefined,
      });
    });

    it('reads an anonymous request with repeated scopes and offline_token', () => {
      const q = new URLSearchParams(
        'scope=repository:a:pull&scope=repository:b:pull&service=s&offline_token=true&client_id=docker'
      );
      const r = parseGetTokenRequest(q, undefined);
      assert.deepEqual(r.grant, { kind: 'anonymous' });
      assert.deepEqual(
        r.scopes.map((s) => s.name),
        ['a', 'b']
      );
      assert.equal(r.offline, true);
      assert.equal(r.clientId, 'docker');
    });

    it('refuses an account that differs from the credentials, and repeated single parameters', () => {
      assert.throws(
        () => parseGetTokenRequest(new URLSearchParams('account=bob'), basic('alice:x')),
        badParams
      );
      assert.throws(
        () => parseGetTokenRequest(new URLSearchParams('service=a&service=b'), undefined),
        badParams
      );
    });
  });

  describe('#parsePostTokenRequest', () => {
    it('reads the refresh_token grant docker sends', () => {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: 'rt',
        service: 'registry',
        client_id: 'docker',
        scope: 'repository:a:pull repository:b:push,pull',
      });
      const r = parsePostTokenRequest(form);
      assert.deepEqual(r.grant, { kind: 'refresh_token', refreshToken: 'rt' });
      assert.equal(r.scopes.length, 2);
      assert.equal(r.clientId, 'docker');
    });

    it('reads the password grant with access_type=offline, defaulting client_id', () => {
      const r = parsePostTokenRequest(
        new URLSearchParams({
          grant_type: 'password',
          username: 'u',
          password: 'p',
          access_type: 'offline',
          service: 's',
        })
      );
      assert.deepEqual(r.grant, {
        kind: 'password',
        credentials: { username: 'u', password: 'p' },
      });
      assert.equal(r.offline, true);
      assert.equal(r.clientId, DEFAULT_CLIENT_ID);
    });

    it('refuses other or missing grants', () => {
      for (const form of [
        '',
        'grant_type=client_credentials',
        'grant_type=refresh_token',
        'grant_type=password&username=u',
      ]) {
        assert.throws(() => parsePostTokenRequest(new URLSearchParams(form)), badParams, form);
      }
    });
  });
});
