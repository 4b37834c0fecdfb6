/** Where the built-in realm points, before and after listen, behind a proxy and on a wildcard address. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { BuiltinEndpoint, FALLBACK_SERVICE } from '../../src/auth/endpoint.js';

const req = (host?: string, encrypted = false) =>
  ({
    headers: host === undefined ? {} : { host },
    socket: { encrypted },
  }) as unknown as IncomingMessage;

describe('built-in realm and service', () => {
  it('uses the real listening address once the server listens', () => {
    const ep = new BuiltinEndpoint({});
    assert.equal(ep.service(), FALLBACK_SERVICE);
    ep.setListeningUrl('https://127.0.0.1:40123');
    assert.equal(ep.realm(req('evil.example')), 'https://127.0.0.1:40123/auth/token');
    assert.equal(ep.service(), '127.0.0.1:40123');
  });

  it('prefers the public URL (path kept) and a configured service', () => {
    const ep = new BuiltinEndpoint({ publicUrl: 'https://notary.example.com/trust/' });
    ep.setListeningUrl('http://127.0.0.1:4443');
    assert.equal(ep.realm(req('127.0.0.1:4443')), 'https://notary.example.com/trust/auth/token');
    assert.equal(ep.service(), 'notary.example.com');
    const named = new BuiltinEndpoint({
      publicUrl: 'https://notary.example.com',
      service: 'store',
    });
    assert.equal(named.service(), 'store');
  });

  it('on a wildcard address, builds the realm from the request Host and scheme', () => {
    const ep = new BuiltinEndpoint({});
    ep.setListeningUrl('https://0.0.0.0:4443');
    assert.equal(
      ep.realm(req('notary.internal:4443', true)),
      'https://notary.internal:4443/auth/token'
    );
    assert.equal(ep.realm(req(undefined, true)), 'https://0.0.0.0:4443/auth/token');
    const v6 = new BuiltinEndpoint({});
    v6.setListeningUrl('http://[::]:4443');
    assert.equal(v6.realm(req('[::1]:4443')), 'http://[::1]:4443/auth/token');
    assert.equal(v6.service(), '[::]:4443');
  });
});
