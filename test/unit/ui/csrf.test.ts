import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { csrfMatches, newCsrfToken } from '../../../src/ui/csrf.js';

describe('ui CSRF tokens', () => {
  it('are 32 random bytes in base64url, different each time', () => {
    const a = newCsrfToken();
    const b = newCsrfToken();
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, b);
  });

  it('match only the exact token', () => {
    const t = newCsrfToken();
    assert.equal(csrfMatches(t, t), true);
    assert.equal(csrfMatches(t, `${t} `), false);
    assert.equal(csrfMatches(t, t.slice(0, -1)), false);
    assert.equal(csrfMatches(t, `${t.slice(0, -1)}${t.endsWith('A') ? 'B' : 'A'}`), false);
    assert.equal(csrfMatches(t, ''), false);
    assert.equal(csrfMatches(t, undefined), false);
    assert.equal(csrfMatches(t, [t]), false);
    // No session token: nothing matches, not even an empty field.
    assert.equal(csrfMatches('', ''), false);
  });

  it('compare in constant time: the work does not depend on where the first difference is', () => {
    // Both sides are hashed to 32 bytes before timingSafeEqual, so a one-character and a
    // 10,000-character guess cost the same comparison; measured here as equal outcomes and no
    // length-dependent throw (timingSafeEqual throws on unequal lengths).
    const t = newCsrfToken();
    for (const guess of ['x', 'x'.repeat(10_000), t.slice(0, 42), `${t}x`])
      assert.equal(csrfMatches(t, guess), false);
  });
});
