import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { clientAddressResolver, userAgentOf } from '../../../src/http/client-address.js';
import { isCountersignError } from '../../../src/errors.js';
import { IpRanges } from '../../../src/util/ip-ranges.js';

const req = (peer: string, headers: Record<string, string | string[]> = {}) =>
  ({ socket: { remoteAddress: peer }, headers }) as unknown as IncomingMessage;

describe('client address', () => {
  const trusted = new IpRanges(['10.0.0.0/8', '2001:db8::/32', '127.0.0.1'], 'trustProxy');
  const resolve = clientAddressResolver(trusted);

  it('is the peer when the peer is not a trusted proxy, whatever X-Forwarded-For says', () => {
    assert.equal(resolve(req('192.0.2.1', { 'x-forwarded-for': '203.0.113.9' })), '192.0.2.1');
    assert.equal(
      clientAddressResolver(undefined)(req('::ffff:10.1.1.1', { 'x-forwarded-for': '1.2.3.4' })),
      '10.1.1.1'
    );
  });

  it('is the rightmost hop that is not a trusted proxy', () => {
    const r = req('::ffff:10.0.0.5', { 'x-forwarded-for': '198.51.100.1, 203.0.113.9, 10.9.9.9' });
    assert.equal(resolve(r), '203.0.113.9');
    assert.equal(
      resolve(req('10.0.0.5', { 'x-forwarded-for': '2001:db8::7, 2001:DB9::1' })),
      '2001:db9::1'
    );
    // Every hop trusted: the leftmost is as far as anyone can tell.
    assert.equal(resolve(req('10.0.0.5', { 'x-forwarded-for': '10.2.2.2,10.3.3.3' })), '10.2.2.2');
    // No header: the proxy itself.
    assert.equal(resolve(req('127.0.0.1')), '127.0.0.1');
  });

  it('stops at a hop that is no address, naming the last trusted proxy instead', () => {
    const r = req('10.0.0.5', { 'x-forwarded-for': '198.51.100.1, unknown, 10.0.0.9' });
    assert.equal(resolve(r), '10.0.0.9');
  });

  it('refuses ranges that are not ranges', () => {
    assert.throws(
      () => new IpRanges(['10.0.0.0/8', 'nope'], 'countersign.auth.trustProxy'),
      (e) => isCountersignError(e, 'CONFIG_INVALID') && /"nope"/.test(e.message)
    );
  });

  it('keeps user agents short and free of control characters', () => {
    assert.equal(userAgentOf(req('1.1.1.1', { 'user-agent': 'a\nb' })), 'a?b');
    assert.equal(userAgentOf(req('1.1.1.1', { 'user-agent': 'x'.repeat(999) }))?.length, 256);
    assert.equal(userAgentOf(req('1.1.1.1')), undefined);
  });
});
