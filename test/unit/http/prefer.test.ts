/** `Prefer: respond-async` (RFC 7240) as the long store routes read it. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Request } from 'express';
import { prefersAsync } from '../../../src/http/job-routes.js';

const req = (prefer?: string | string[]) =>
  ({ headers: prefer === undefined ? {} : { prefer } }) as unknown as Request;

describe('Prefer: respond-async', () => {
  it('is found among other preferences, with parameters, in any case', () => {
    for (const h of [
      'respond-async',
      'Respond-Async',
      'return=minimal, respond-async',
      'respond-async; wait=10',
      ' wait=5 ,respond-async ',
    ])
      assert.equal(prefersAsync(req(h)), true, h);
    assert.equal(prefersAsync(req(['return=minimal', 'respond-async'])), true);
  });

  it('is not read into other preferences or values', () => {
    for (const h of [
      '',
      'wait=10',
      'respond-asynchronously',
      'return=respond-async',
      'x; respond-async',
    ])
      assert.equal(prefersAsync(req(h)), false, h);
    assert.equal(prefersAsync(req()), false);
  });
});
