/**
 * Registries that go away, and two registries rather than one (docs/interfaces.md "Registries and review
 * policy"). The store reaches each docker-registry through a proxy the test can switch off:
 *
 * - staging unreachable at submit: the submission stays `submitted` with the registry checks
 *   recorded as inconclusive and a detail naming the outage; approval is refused; once the
 *   registry answers, `POST …/verify` decides it;
 * - public unreachable at publish: the approval stands, `publishError` says why, no public
 *   metadata is written and the public registry holds nothing; an admin's publish later copies
 *   the image (streamed: staging and public are different registries) and publishes;
 * - a copy re-run over a partly copied image uploads only what is missing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RegistryClient } from '../../src/registry/client.js';
import type { SubmissionView } from '../../src/store/submission.js';
import { ImageLayout, skopeoDigest } from '../helpers/images.js';
import { fixturePath } from '../helpers/paths.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import type { StoreHooks } from '../../src/store/hooks.js';
import { publicTimestamp, pushAndSubmit, startStore, type StoreApp } from './fixture.js';
import {
  buildAndPush,
  GOOD,
  signIntoStaging,
  startProxy,
  type PushedImage,
  type SwitchableProxy,
} from './registry-fixture.js';

describe('store with registries that go down', () => {
  let stagingRegistry: TestRegistry;
  let publicRegistry: TestRegistry;
  let stagingProxy: SwitchableProxy;
  let publicProxy: SwitchableProxy;
  let layout: ImageLayout;
  let s: StoreApp;
  let publicClient: RegistryClient;
  const trivy = readFileSync(fixturePath('registry', 'trivy-within-budget.json'));

  before(async () => {
    [stagingRegistry, publicRegistry, layout] = await Promise.all([
      startRegistry(),
      startRegistry(),
      ImageLayout.create(),
    ]);
    stagingProxy = await startProxy(stagingRegistry.host);
    publicProxy = await startProxy(publicRegistry.host);
    publicClient = new RegistryClient({ url: publicRegistry.url, timeoutMs: 5000 });
    s = await startStore({
      registries: {
        staging: { url: stagingProxy.url, repositoryPrefix: 'staging/' },
        public: { url: publicProxy.url, repositoryPrefix: 'public/' },
      },
      policy: { requireHealthcheck: true, vulnerabilityBudget: { critical: 0, high: 5 } },
    });
  });
  after(async () => {
    publicClient?.close();
    await s?.close();
    await stagingProxy?.stop();
    await publicProxy?.stop();
    await stagingRegistry?.stop();
    await publicRegistry?.stop();
    await layout?.remove();
  });

  const as = (user: string) => ({ Authorization: s.auth(user) });
  const get = async (id: string): Promise<SubmissionView> =>
    (await s.http.get(`/api/v1/submissions/${id}`).set(as('acme')).expect(200))
      .body as SubmissionView;
  const verifyAgain = async (id: string): Promise<SubmissionView> =>
    (await s.http.post(`/api/v1/submissions/${id}/verify`).set(as('acme')).expect(200))
      .body as SubmissionView;
  const attach = (id: string) =>
    s.http
      .post(`/api/v1/submissions/${id}/reports`)
      .set(as('acme'))
      .set('Content-Type', 'application/json')
      .serialize((b: Buffer) => b as unknown as string)
      .send(trivy)
      .expect(200);
  async function stage(name: string): Promise<{ image: PushedImage; gun: string }> {
    const image = await buildAndPush(
      layout,
      stagingRegistry.host,
      name,
      `staging/acme/${name}:1.0`,
      GOOD
    );
    const gun = `staging.store.test/acme/${name}`;
    await signIntoStaging(s.app.storage, gun, image.manifest);
    return { image, gun };
  }
  const submit = async (gun: string): Promise<SubmissionView> =>
    (await s.http.post('/api/v1/submissions').set(as('acme')).send({ gun, tag: '1.0' }).expect(201))
      .body as SubmissionView;
  const auditOf = async (id: string) =>
    (
      (await s.http.get('/api/v1/audit').set(as('admin')).expect(200)).body.entries as {
        action: string;
        details: Record<string, unknown>;
      }[]
    ).filter((e) => e.details.submission === id);

  let subId: string;
  let image: PushedImage;

  it('staging registry down at submit: the submission stays submitted, the checks say why, nothing is decided', async () => {
    const staged = await stage('web');
    image = staged.image;
    stagingProxy.down();
    const sub = await submit(staged.gun);
    subId = sub.id;
    assert.equal(sub.state, 'submitted');
    const registryChecks = sub.verification.checks.filter((c) => c.name.startsWith('registry-'));
    assert.deepEqual(
      registryChecks.map((c) => [c.name, c.passed, c.inconclusive]),
      [
        ['registry-manifest', false, true],
        ['registry-blobs', false, true],
      ]
    );
    for (const c of registryChecks) {
      assert.ok(
        c.detail.startsWith(`the staging registry ${stagingProxy.url} could not be reached (`),
        c.detail
      );
      assert.ok(
        c.detail.endsWith(
          `verify again (POST /api/v1/submissions/${sub.id}/verify) once the registry answers`
        ),
        c.detail
      );
    }
    // The TUF checks did run and pass: only the registry is missing.
    assert.ok(
      sub.verification.checks.filter((c) => !c.name.startsWith('registry-')).every((c) => c.passed)
    );
    const hc = sub.policy.checks.find((c) => c.name === 'healthcheck');
    assert.match(hc?.detail ?? '', /^not inspected: the staging registry .* could not be reached/);
    assert.equal(hc?.inconclusive, true);
    assert.deepEqual(
      (await auditOf(sub.id)).map((e) => e.action),
      ['submission.created', 'submission.verification_incomplete']
    );

    // No verdict, so no review: approval is a conflict and records nothing.
    const refused = await s.http
      .post(`/api/v1/submissions/${sub.id}/reviews`)
      .set(as('rev1'))
      .send({ decision: 'approve' })
      .expect(409);
    assert.equal(refused.body.error.code, 'conflict');
    assert.deepEqual((await get(sub.id)).reviews, []);
    // A report can already be attached.
    await attach(sub.id);

    // Still down: verifying again changes nothing.
    assert.equal((await verifyAgain(sub.id)).state, 'submitted');
  });

  it('once the staging registry answers, POST …/verify verifies it (report and all)', async () => {
    stagingProxy.up();
    const sub = await verifyAgain(subId);
    assert.equal(sub.state, 'verified');
    assert.ok(sub.verification.checks.every((c) => c.passed && c.inconclusive === undefined));
    assert.deepEqual(
      sub.policy.checks.map((c) => [c.name, c.passed]),
      [
        ['healthcheck', true],
        ['vulnerabilities', true],
      ]
    );
    assert.equal(sub.reports?.length, 1);
  });

  it('public registry down at publish: the approval stands with the reason, nothing public anywhere', async () => {
    publicProxy.down();
    const res = await s.http
      .post(`/api/v1/submissions/${subId}/reviews`)
      .set(as('rev1'))
      .send({ decision: 'approve' })
      .expect(200);
    const sub = res.body as SubmissionView;
    assert.equal(sub.state, 'approved');
    assert.match(
      sub.publishError?.message ?? '',
      new RegExp(
        `^not published: copying ${image.digest} from ${stagingProxy.url}/staging/acme/web to ${publicProxy.url}/public/acme/web:1\\.0 failed \\(`
      )
    );
    assert.equal(await publicTimestamp(s.app.storage, 'store.test/acme/web'), null);
    assert.equal(await publicClient.hasManifest('public/acme/web', image.digest), false);
    assert.ok((await auditOf(subId)).some((e) => e.action === 'submission.publish_refused'));

    // An admin retrying while it is still down gets the outage itself.
    const retried = await s.http
      .post(`/api/v1/submissions/${subId}/publish`)
      .set(as('admin'))
      .expect(503);
    assert.equal(retried.body.error.code, 'unavailable');
    assert.equal(await publicTimestamp(s.app.storage, 'store.test/acme/web'), null);
  });

  it('when it is back, an admin’s publish streams the image across registries, tags it, then publishes', async () => {
    publicProxy.up();
    const before = publicRegistry.requests().length;
    const res = await s.http
      .post(`/api/v1/submissions/${subId}/publish`)
      .set(as('admin'))
      .expect(200);
    assert.equal(res.body.state, 'published');
    assert.equal(await skopeoDigest(publicRegistry.host, 'public/acme/web:1.0'), image.digest);
    const uploads = publicRegistry
      .requests()
      .slice(before)
      .filter((r) => r.method === 'PUT' && r.uri.includes('digest='));
    assert.equal(uploads.length, 2, 'config and layer streamed from staging');
    assert.notEqual(await publicTimestamp(s.app.storage, 'store.test/acme/web'), null);
  });

  it('a re-run over a partly copied image uploads only what is missing', async () => {
    const { image: again, gun } = await stage('again');
    // A copy that stopped after the config: the config blob is already in the public repository.
    const config = (await layout.manifest('again')).config;
    const stagingClient = new RegistryClient({ url: stagingRegistry.url, timeoutMs: 5000 });
    try {
      await publicClient.uploadBlob('public/acme/again', config, () =>
        stagingClient.blobStream('staging/acme/again', config.digest)
      );
    } finally {
      stagingClient.close();
    }
    const sub = await submit(gun);
    await attach(sub.id);
    const before = publicRegistry.requests().length;
    const res = await s.http
      .post(`/api/v1/submissions/${sub.id}/reviews`)
      .set(as('rev2'))
      .send({ decision: 'approve' })
      .expect(200);
    assert.equal(res.body.state, 'published');
    const seen = publicRegistry.requests().slice(before);
    const uploads = seen.filter((r) => r.method === 'PUT' && r.uri.includes('digest='));
    assert.equal(uploads.length, 1, JSON.stringify(seen));
    const layer = (await layout.manifest('again')).layers[0]!;
    assert.ok(uploads[0]!.uri.includes(layer.digest.slice('sha256:'.length)), uploads[0]!.uri);
    assert.equal(await skopeoDigest(publicRegistry.host, 'public/acme/again:1.0'), again.digest);
  });
});

describe('inconclusive checks decide the state', () => {
  // Hooks standing in for a registry that answered the integrity checks but not the inspection.
  const hooks: StoreHooks = {
    verificationChecks: [
      async (ctx) => [
        {
          name: 'registry-manifest',
          passed: !ctx.submission.gun.endsWith('/moved'),
          detail: 'as the name says',
        },
      ],
    ],
    policyChecks: [
      async () => [
        { name: 'healthcheck', passed: false, detail: 'not inspected', inconclusive: true },
      ],
    ],
  };
  let s: StoreApp;
  before(async () => {
    s = await startStore({}, { appOptions: { storeHooks: hooks } });
  });
  after(() => s?.close());

  const submit = (name: string) => pushAndSubmit(s, name, 'x');

  it('a policy check that could not run keeps an otherwise verified submission submitted', async () => {
    const sub = await submit('fine');
    assert.equal(sub.state, 'submitted');
    const waive = await s.http
      .post(`/api/v1/submissions/${sub.id}/waivers`)
      .set('Authorization', s.auth('rev1'))
      .send({ check: 'healthcheck', reason: 'cannot waive what was not evaluated' })
      .expect(409);
    assert.equal(waive.body.error.code, 'conflict');
  });

  it('a check that ran and failed is a verdict, whatever could not run', async () => {
    assert.equal((await submit('moved')).state, 'verification_failed');
  });
});
