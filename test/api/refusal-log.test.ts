/**
 * Why an upload was refused reaches the log: the client gets notary's coarse INVALID_UPDATE with
 * one of its five names (docs/protocol.md §2.10), and the request log line carries the rule that
 * refused it (the TUF core's META_* code and message, kept as the error's cause).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { ManualClock } from '../../src/util/clock.js';
import { inProcessApp, multipart, tuf, type InProcessApp } from '../helpers/app.js';
import { plainKey, rootSigned, sign, targetsSigned, x509Key } from '../helpers/tuf-builder.js';
import { PublicKey } from '../../src/crypto/keys.js';

describe('a refused upload in the request log', () => {
  let a: InProcessApp;
  before(async () => {
    a = await inProcessApp({ config: {}, clock: new ManualClock(), logLevel: 'info' });
  });
  after(() => a.close());

  it('names the rule that refused it, while the client sees only notary’s detail', async () => {
    const http = request(a.app.handle);
    const gun = 'example.com/refused/app';
    const key = async (role: string) =>
      PublicKey.fromJSON(JSON.parse((await http.get(tuf(gun, `${role}.key`))).text), role);
    const snapshotKey = await key('snapshot');
    const timestampKey = await key('timestamp');
    const rootKey = await x509Key(gun);
    const targetsKey = plainKey('ecdsa');
    const root = sign(
      rootSigned({
        root: [rootKey],
        targets: [targetsKey],
        snapshot: [{ keyid: snapshotKey.id, key: snapshotKey }],
        timestamp: [{ keyid: timestampKey.id, key: timestampKey }],
      }),
      [rootKey]
    );
    // targets signed by a key the root does not list: below its threshold.
    const targets = sign(targetsSigned({ targets: [{ name: 'v1' }] }), [plainKey('ecdsa')]);
    const { body, contentType } = multipart({ root, targets });
    const res = await http.post(tuf(gun)).set('Content-Type', contentType).send(body);

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
