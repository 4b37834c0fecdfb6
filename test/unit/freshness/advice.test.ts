import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renewalAdvice } from '../../../src/freshness/scheduler.js';

describe('advice for a role the server cannot re-sign', () => {
  it('owners publish roots, targets and their own snapshots', () => {
    for (const role of ['root', 'targets', 'snapshot'])
      assert.equal(renewalAdvice(role, 'example.com/app'), 'its owner must publish a new version');
  });

  it('a timestamp is renewed by rotating its key to the server or importing the server keys, never by a publish', () => {
    const advice = renewalAdvice('timestamp', 'example.com/app');
    assert.doesNotMatch(advice, /publish/);
    assert.match(advice, /notary key rotate example\.com\/app timestamp -r/);
    assert.match(advice, /countersign import-notary --signer-db/);
    assert.match(advice, /docs\/migrate\.md/);
  });
});
