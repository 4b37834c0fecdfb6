/**
 * The hooks through which the registry checks and the review policy join the chain (src/store/
 * hooks.ts, injected as AppOptions.storeHooks): an extra verification check that fails makes the
 * submission `verification_failed`; a failing, unwaived policy check makes an approval answer
 * 409 `policy_failed` and record nothing; beforePublish adds provenance to the public target, and
 * when it throws nothing is published.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadCurrentRole } from '../../src/notary/current.js';
import { parseTargets } from '../../src/tuf/metadata.js';
import type { StoreHooks } from '../../src/store/hooks.js';
import { publicTimestamp, pushAndSubmit, startStore, type StoreApp } from './fixture.js';
import { ParsedMetadata } from '../../src/notary/parsed.js';

describe('store hooks', () => {
  let s: StoreApp;
  const seen: string[] = [];
  const hooks: StoreHooks = {
    verificationChecks: [
      async (ctx) => {
        seen.push(
          `verify ${ctx.submission.gun}:${ctx.submission.tag} ${ctx.target?.digest ?? 'none'} ok=${ctx.result.ok}`
        );
        const broken = ctx.submission.gun.endsWith('/broken');
        return [
          {
            name: 'registry-manifest',
            passed: !broken,
            detail: broken ? 'the tag resolves elsewhere' : 'matches',
          },
        ];
      },
    ],
    policyChecks: [
      async (ctx) => [
        {
          name: 'user',
          passed: !ctx.submission.gun.endsWith('/root'),
          detail: 'config.User is root',
        },
      ],
    ],
    beforePublish: [
      async (ctx) => {
        if (ctx.submission.gun.endsWith('/nocopy')) throw new Error('registry copy failed');
        return { vulnerabilityReport: 'ab'.repeat(32) };
      },
    ],
  };

  before(async () => {
    s = await startStore({}, { appOptions: { storeHooks: hooks } });
  });
  after(() => s.close());

  const submit = (name: string) => pushAndSubmit(s, name, name.slice(0, 1));

  it('an extra verification check is reported after the TUF checks and decides the state', async () => {
    const ok = await submit('fine');
    assert.equal(ok.state, 'verified');
    assert.deepEqual(ok.verification.checks.at(-1), {
      name: 'registry-manifest',
      passed: true,
      detail: 'matches',
    });
    assert.equal(ok.verification.checks.length, 7);
    assert.match(
      seen.at(-1) ?? '',
      /^verify staging\.store\.test\/acme\/fine:1\.0 sha256:[0-9a-f]{64} ok=true$/
    );
    const broken = await submit('broken');
    assert.equal(broken.state, 'verification_failed');
  });

  it('a failing policy check is listed, does not change the state, and blocks approval with 409 policy_failed', async () => {
    const sub = await submit('root');
    assert.equal(sub.state, 'verified');
    assert.deepEqual(sub.policy.checks, [
      { name: 'user', passed: false, detail: 'config.User is root' },
    ]);
    const res = await s.http
      .post(`/api/v1/submissions/${sub.id}/reviews`)
      .set('Authorization', s.auth('rev1'))
      .send({ decision: 'approve' })
      .expect(409);
    assert.equal(res.body.error.code, 'policy_failed');
    const after = await s.http
      .get(`/api/v1/submissions/${sub.id}`)
      .set('Authorization', s.auth('rev1'))
      .expect(200);
    assert.deepEqual(after.body.reviews, []);
    // A rejection is still possible.
    await s.http
      .post(`/api/v1/submissions/${sub.id}/reviews`)
      .set('Authorization', s.auth('rev1'))
      .send({ decision: 'reject', note: 'root' })
      .expect(200);
  });

  it('beforePublish adds provenance to the target’s custom; when it throws, nothing is published and the approval stands', async () => {
    const sub = await submit('fine2');
    const res = await s.http
      .post(`/api/v1/submissions/${sub.id}/reviews`)
      .set('Authorization', s.auth('rev1'))
      .send({ decision: 'approve' })
      .expect(200);
    assert.equal(res.body.state, 'published');
    const row = await loadCurrentRole(
      s.app.storage.meta,
      'store.test/acme/fine2',
      'targets',
      new ParsedMetadata()
    );
    const custom = parseTargets(row!.data).signed.targets.get('1.0')?.custom as Record<
      string,
      unknown
    >;
    assert.equal(custom.vulnerabilityReport, 'ab'.repeat(32));
    assert.equal(custom.submission, sub.id);

    const failing = await submit('nocopy');
    // The approval stands; the publish did not happen, and the submission says so.
    const reviewed = await s.http
      .post(`/api/v1/submissions/${failing.id}/reviews`)
      .set('Authorization', s.auth('rev1'))
      .send({ decision: 'approve' })
      .expect(200);
    assert.equal(reviewed.body.state, 'approved');
    assert.match(reviewed.body.publishError.message, /the publish failed on the server/);
    assert.equal(await publicTimestamp(s.app.storage, 'store.test/acme/nocopy'), null);
    // An admin retrying gets the error itself.
    const retried = await s.http
      .post(`/api/v1/submissions/${failing.id}/publish`)
      .set('Authorization', s.auth('admin'));
    assert.equal(retried.status, 500);
    assert.equal(retried.body.error.code, 'internal');
    assert.equal(await publicTimestamp(s.app.storage, 'store.test/acme/nocopy'), null);
  });
});
