/**
 * Why an upload was refused reaches the log: the client gets notary's coarse INVALID_UPDATE with
 * one of its five names (docs/protocol.md §2.10), and the request log line carries the rule that
 * refused it (the TUF core's META_* code and message, kept as the error's cause).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { ManualClock } from '../../src/util/clock.js';
import { inProcessApp, post, publishRepo, tuf, type InProcessApp } from '../helpers/app.js';
import { plainKey, sign, targetsSigned } from '../helpers/tuf-builder.js';

describe('a refused upload in the request log', () => {
  let a: InProcessApp;
  const clock = new ManualClock();
  before(async () => {
    a = await inProcessApp({ config: {}, clock, logLevel: 'info' });
  });
  after(() => a.close());

  it('names the rule that refused it, while the client sees only notary’s detail', async () => {
    const t = { app: a.app, clock, http: request(a.app.handle), close: () => a.close() };
    const gun = 'example.com/refused/app';
    await publishRepo(t, gun);
    // targets version 2 signed by a key the root does not list: below its threshold.
    const res = await post(t, gun, {
      targets: sign(targetsSigned({ targets: [{ name: 'v2' }], version: 2 }), [plainKey()]),
    });

    assert.equal(res.status, 400);
    const detail = (JSON.parse(res.text) as { errors: [{ code: string; detail: unknown }] })
      .errors[0];
    assert.equal(detail.code, 'INVALID_UPDATE');
    assert.deepEqual(detail.detail, {
      Name: 'ErrBadTargets',
      Error: { Msg: 'valid signatures did not meet threshold for targets' },
    });
    assert.doesNotMatch(res.text, /META_THRESHOLD/);

    const line = a
      .logLines()
      .map((l) => JSON.parse(l) as { msg?: string; status?: number; path?: string; error?: string })
      .find((l) => l.msg === 'request' && l.status === 400 && l.path === tuf(gun));
    assert.ok(line, 'a request log line for the refused POST');
    assert.equal(
      line.error,
      'INVALID_UPDATE: valid signatures did not meet threshold for targets' +
        ' ← META_THRESHOLD: valid signatures did not meet threshold for targets'
    );
  });
});
