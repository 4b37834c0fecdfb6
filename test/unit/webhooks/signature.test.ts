/** The webhook signature: HMAC-SHA256 of the exact body bytes, `sha256=HEX` (docs/webhooks.md). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { signatureMatches, signBody } from '../../../src/webhooks/signature.js';

describe('webhook signature', () => {
  const secret = 'a receiver secret of some length';
  const body = '{"event":"submission.created","id":"audit-7"}';

  it('is sha256= and the hex HMAC-SHA256 of the body under the secret (RFC 4231 case 2 too)', () => {
    const expected = createHmac('sha256', secret).update(body).digest('hex');
    assert.equal(signBody(secret, body), `sha256=${expected}`);
    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    assert.equal(
      signBody('Jefe', 'what do ya want for nothing?'),
      'sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'
    );
  });

  it('signs bytes, so a body that parses to the same JSON with other bytes does not match', () => {
    const header = signBody(secret, body);
    assert.equal(signatureMatches(secret, Buffer.from(body), header), true);
    const reformatted = JSON.stringify(JSON.parse(body), null, 1);
    assert.equal(signatureMatches(secret, reformatted, header), false);
  });

  it('refuses another secret, a truncated header and a header of another length', () => {
    const header = signBody(secret, body);
    assert.equal(signatureMatches(`${secret}x`, body, header), false);
    assert.equal(signatureMatches(secret, body, header.slice(0, -1)), false);
    assert.equal(signatureMatches(secret, body, ''), false);
    assert.equal(signatureMatches(secret, body, header.replace('sha256=', 'sha1=')), false);
  });
});
