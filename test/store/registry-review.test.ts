/**
 * The store with a real registry (Debian's docker-registry 2.8) and a review policy
 * (docs/interfaces.md "Registries and review policy"), in process: images built with umoci and pushed
 * with skopeo into `staging/…`, their manifest bytes signed into staging, then
 *
 * - verification adds `registry-manifest` and `registry-blobs`; a tag re-pushed after signing
 *   and a layer corrupted on the registry's disk make the submission `verification_failed`;
 * - the policy checks (size, healthcheck, user, labels, layers, vulnerabilities) are listed,
 *   decided from the image (every platform of an index) and from the report attached last;
 * - approval answers 409 `policy_failed` and records nothing while one fails unwaived; a
 *   reviewer's waiver (audited) lifts that;
 * - publish mounts the image into `public/…` (one registry) and tags it before the public
 *   metadata is written; the report's sha256 is in the published target's `custom`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadCurrentRole } from '../../src/notary/current.js';
import { RegistryClient } from '../../src/registry/client.js';
import type { SubmissionView } from '../../src/store/submission.js';
import { parseTargets } from '../../src/tuf/metadata.js';
import { ImageLayout, skopeoDigest } from '../helpers/images.js';
import { fixturePath } from '../helpers/paths.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { publicTimestamp, startStore, type StoreApp } from './fixture.js';
import { buildAndPush, GOOD, signIntoStaging, type PushedImage } from './registry-fixture.js';
import { ParsedMetadata } from '../../src/notary/parsed.js';

const POLICY = {
  maxCompressedBytes: 64 * 1024,
  requireHealthcheck: true,
  requireNonRootUser: true,
  requiredLabels: ['org.opencontainers.image.source'],
  maxLayers: 3,
  vulnerabilityBudget: { critical: 0, high: 5 },
};
const POLICY_CHECKS = ['size', 'healthcheck', 'user', 'labels', 'layers', 'vulnerabilities'];
const report = (name: string): Buffer => readFileSync(fixturePath('registry', name));
const sha256Hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('store with a registry and a review policy', () => {
  let registry: TestRegistry;
  let layout: ImageLayout;
  let s: StoreApp;
  let client: RegistryClient;

  before(async () => {
    registry = await startRegistry();
    layout = await ImageLayout.create();
    client = new RegistryClient({ url: registry.url, timeoutMs: 5000 });
    s = await startStore({
      registries: {
        staging: { url: registry.url, repositoryPrefix: 'staging/' },
        public: { url: registry.url, repositoryPrefix: 'public/' },
      },
      policy: POLICY,
    });
  });
  after(async () => {
    client?.close();
    await s?.close();
    await registry?.stop();
    await layout?.remove();
  });

  const as = (user: string) => ({ Authorization: s.auth(user) });
  /** Pushes an image to staging/acme/NAME:1.0, signs its manifest, submits it. */
  async function submitImage(
    name: string,
    spec = GOOD
  ): Promise<{ image: PushedImage; sub: SubmissionView }> {
    const image = await buildAndPush(layout, registry.host, name, `staging/acme/${name}:1.0`, spec);
    const gun = `staging.store.test/acme/${name}`;
    await signIntoStaging(s.app.storage, gun, image.manifest);
    const res = await s.http
      .post('/api/v1/submissions')
      .set(as('acme'))
      .send({ gun, tag: '1.0' })
      .expect(201);
    return { image, sub: res.body as SubmissionView };
  }
  const attach = (id: string, bytes: Buffer, user = 'acme') =>
    s.http
      .post(`/api/v1/submissions/${id}/reports`)
      .set(as(user))
      .set('Content-Type', 'application/json')
      // As curl --data-binary sends it: the bytes, not superagent's JSON of a Buffer.
      .serialize((b: Buffer) => b as unknown as string)
      .send(bytes);
  const approve = (id: string, user = 'rev1') =>
    s.http.post(`/api/v1/submissions/${id}/reviews`).set(as(user)).send({ decision: 'approve' });
  const get = async (id: string): Promise<SubmissionView> =>
    (await s.http.get(`/api/v1/submissions/${id}`).set(as('admin')).expect(200))
      .body as SubmissionView;
  const check = (sub: SubmissionView, name: string) => {
    const c =
      sub.verification.checks.find((x) => x.name === name) ??
      sub.policy.checks.find((x) => x.name === name);
    assert.ok(c, `no check ${name} in ${JSON.stringify(sub)}`);
    return c;
  };
  const audit = async (id: string) =>
    (
      (await s.http.get('/api/v1/audit').set(as('admin')).expect(200)).body.entries as {
        action: string;
        actor: string;
        details: Record<string, unknown>;
      }[]
    ).filter((e) => e.details.submission === id);

  it('a compliant image: registry checks pass, every policy check passes but vulnerabilities, which waits for a report', async () => {
    const { image, sub } = await submitImage('web');
    assert.equal(sub.state, 'verified');
    assert.deepEqual(
      sub.verification.checks.map((c) => [c.name, c.passed]),
      [
        ['root-chain', true],
        ['signatures', true],
        ['consistency', true],
        ['target', true],
        ['expiry', true],
        ['rollback', true],
        ['registry-manifest', true],
        ['registry-blobs', true],
      ]
    );
    assert.match(check(sub, 'registry-manifest').detail, new RegExp(`resolves to ${image.digest}`));
    assert.match(check(sub, 'registry-blobs').detail, /1 config\(s\) and 1 layer\(s\) present/);
    assert.deepEqual(
      sub.policy.checks.map((c) => [c.name, c.passed]),
      POLICY_CHECKS.map((n) => [n, n !== 'vulnerabilities'])
    );
    assert.match(check(sub, 'user').detail, /runs as User "1000:1000"/);
    assert.match(check(sub, 'vulnerabilities').detail, /no vulnerability report attached/);

    // Without a report the approval is refused, and nothing is recorded.
    const refused = await approve(sub.id).expect(409);
    assert.equal(refused.body.error.code, 'policy_failed');
    assert.match(refused.body.error.message, /vulnerabilities \(no vulnerability report attached/);
    assert.deepEqual((await get(sub.id)).reviews, []);
    assert.equal((await audit(sub.id)).filter((e) => e.action === 'submission.reviewed').length, 0);
  });

  it('a Trivy report within budget is kept with the submission; approval then promotes the image and publishes', async () => {
    const sub = await get(await idOf('web'));
    const bytes = report('trivy-within-budget.json');
    const res = await attach(sub.id, bytes).expect(200);
    const attached = res.body as SubmissionView;
    assert.equal(check(attached, 'vulnerabilities').passed, true);
    assert.match(
      check(attached, 'vulnerabilities').detail,
      new RegExp(
        `^trivy report sha256:${sha256Hex(bytes)}: critical 0, high 2, .*within the budget`
      )
    );
    assert.deepEqual(
      attached.reports?.map((r) => [r.sha256, r.format, r.findings, r.size, r.by]),
      [[sha256Hex(bytes), 'trivy', 7, bytes.length, 'acme']]
    );
    // The bytes are kept, and given back as uploaded.
    const back = await s.http
      .get(`/api/v1/submissions/${sub.id}/reports/${sha256Hex(bytes)}`)
      .set(as('rev1'))
      .buffer(true)
      .parse((r, cb) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => cb(null, Buffer.concat(chunks)));
      })
      .expect(200);
    assert.deepEqual(back.body, bytes);
    const attachedEntry = (await audit(sub.id)).find(
      (e) => e.action === 'submission.report_attached'
    );
    assert.equal(attachedEntry?.details.sha256, sha256Hex(bytes));
    assert.equal(attachedEntry?.details.vulnerabilities, 'passed');

    assert.equal(await publicTimestamp(s.app.storage, 'store.test/acme/web'), null);
    const before = registry.requests().length;
    const published = await approve(sub.id).expect(200);
    assert.equal(published.body.state, 'published');

    // The public repository holds the signed digest under the tag, mounted (no bytes moved).
    const digest = sub.target!.digest;
    assert.equal(await skopeoDigest(registry.host, 'public/acme/web:1.0'), digest);
    const copy = registry.requests().slice(before);
    const mounts = copy.filter((r) => r.method === 'POST' && r.uri.includes('mount='));
    assert.equal(mounts.length, 2, JSON.stringify(copy)); // config and layer
    assert.ok(mounts.every((r) => r.status === 201 && r.uri.startsWith('/v2/public/acme/web/')));
    assert.equal(copy.filter((r) => r.method === 'PATCH' || r.uri.includes('digest=')).length, 0);

    // The public target carries the report's sha256 with the rest of the provenance.
    const row = await loadCurrentRole(
      s.app.storage.meta,
      'store.test/acme/web',
      'targets',
      new ParsedMetadata()
    );
    const target = parseTargets(row!.data).signed.targets.get('1.0')!;
    assert.equal(`sha256:${Buffer.from(target.hashes.sha256!, 'base64').toString('hex')}`, digest);
    const custom = target.custom as Record<string, unknown>;
    assert.equal(custom.vulnerabilityReport, sha256Hex(bytes));
    assert.equal(custom.submission, sub.id);
  });

  it('an image without a HEALTHCHECK fails healthcheck; a reviewer’s waiver (with a reason, audited) lets it be approved', async () => {
    const { sub } = await submitImage('nohealth', { ...GOOD, healthcheck: undefined });
    assert.equal(sub.state, 'verified');
    assert.equal(check(sub, 'healthcheck').passed, false);
    assert.equal(check(sub, 'healthcheck').detail, 'no HEALTHCHECK in the image config');
    await attach(sub.id, report('grype-within-budget.json'), 'rev2').expect(200);
    const refused = await approve(sub.id).expect(409);
    assert.equal(refused.body.error.code, 'policy_failed');
    assert.match(refused.body.error.message, /healthcheck \(no HEALTHCHECK in the image config\)/);

    const waive = (user: string, body: Record<string, unknown>) =>
      s.http.post(`/api/v1/submissions/${sub.id}/waivers`).set(as(user)).send(body);
    assert.equal(
      (await waive('acme', { check: 'healthcheck', reason: 'mine' }).expect(403)).body.error.code,
      'forbidden'
    );
    assert.equal(
      (await waive('rev1', { check: 'healthcheck' }).expect(400)).body.error.code,
      'bad_request'
    );
    assert.match(
      (await waive('rev1', { check: 'user', reason: 'x' }).expect(409)).body.error.message,
      /user passes: there is nothing to waive/
    );
    assert.match(
      (await waive('rev1', { check: 'nosuch', reason: 'x' }).expect(400)).body.error.message,
      /no policy check "nosuch"/
    );
    const reason = 'a batch job: the orchestrator probes it';
    const waived = (await waive('rev1', { check: 'healthcheck', reason }).expect(200))
      .body as SubmissionView;
    const hc = waived.policy.checks.find((c) => c.name === 'healthcheck')!;
    assert.equal(hc.passed, false);
    assert.equal(hc.waived?.by, 'rev1');
    assert.equal(hc.waived?.reason, reason);
    await waive('rev2', { check: 'healthcheck', reason: 'again' }).expect(409);
    const entry = (await audit(sub.id)).find((e) => e.action === 'submission.waived');
    assert.equal(entry?.actor, 'rev1');
    assert.deepEqual(
      [entry?.details.check, entry?.details.reason, entry?.details.detail],
      ['healthcheck', reason, 'no HEALTHCHECK in the image config']
    );
    assert.equal((await approve(sub.id, 'rev2').expect(200)).body.state, 'published');
  });

  it('an image over the size limit fails size, naming the excess', async () => {
    const { sub } = await submitImage('big', { ...GOOD, layers: [80 * 1024] });
    assert.equal(sub.state, 'verified');
    assert.match(
      check(sub, 'size').detail,
      /^\d+ compressed bytes \(config and layers of 1 platform, 2 distinct blobs\) exceed the limit of 65536 by \d+$/
    );
    assert.equal(check(sub, 'size').passed, false);
    await attach(sub.id, report('trivy-within-budget.json')).expect(200);
    assert.match(
      (await approve(sub.id).expect(409)).body.error.message,
      /^policy checks fail.*size/
    );
  });

  it('a report over budget fails vulnerabilities and blocks the approval; a later report within budget decides it again', async () => {
    const { sub } = await submitImage('vuln');
    const over = report('trivy-over-budget.json');
    const res = (await attach(sub.id, over).expect(200)).body as SubmissionView;
    const v = check(res, 'vulnerabilities');
    assert.equal(v.passed, false);
    assert.match(v.detail, /over the budget: 6 critical \(at most 0\), 6 high \(at most 5\)$/);
    const refused = await approve(sub.id).expect(409);
    assert.match(refused.body.error.message, /vulnerabilities \(trivy report sha256:/);
    assert.deepEqual((await get(sub.id)).reviews, []);

    const within = report('trivy-within-budget.json');
    const again = (await attach(sub.id, within, 'rev1').expect(200)).body as SubmissionView;
    assert.equal(check(again, 'vulnerabilities').passed, true);
    assert.deepEqual(
      again.reports?.map((r) => r.sha256),
      [sha256Hex(over), sha256Hex(within)]
    );
  });

  it('refuses reports that are not scanner JSON, from strangers, or after approval', async () => {
    const id = await idOf('vuln');
    const notJson = await attach(id, Buffer.from('not json')).expect(400);
    assert.match(notJson.body.error.message, /not JSON/);
    const neither = await attach(id, Buffer.from('{"hello":1}')).expect(400);
    assert.match(neither.body.error.message, /neither a Trivy JSON report/);
    await attach(id, Buffer.alloc(0)).expect(400);
    const stranger = await attach(id, report('trivy-within-budget.json'), 'other').expect(403);
    assert.equal(stranger.body.error.code, 'forbidden');
    const big = await attach(id, Buffer.alloc(33 * 1024 * 1024, 0x20)).expect(413);
    assert.equal(big.body.error.code, 'too_large');
    await s.http
      .get(`/api/v1/submissions/${id}/reports/${'0'.repeat(64)}`)
      .set(as('rev1'))
      .expect(404);
    await approve(id).expect(200);
    const late = await attach(id, report('trivy-within-budget.json')).expect(409);
    assert.match(late.body.error.message, /a published submission takes no more reports/);
  });

  it('a multi-architecture index: every platform checked, the index promoted with its children', async () => {
    await layout.build('multi-amd64', { ...GOOD, architecture: 'amd64' });
    await layout.build('multi-arm64', { ...GOOD, architecture: 'arm64', user: '0' });
    const d = await layout.buildIndex('multi', ['multi-amd64', 'multi-arm64']);
    await layout.push(registry.host, 'multi', 'staging/acme/multi:1.0');
    const gun = 'staging.store.test/acme/multi';
    await signIntoStaging(s.app.storage, gun, await layout.readBlob(d.digest));
    const sub = (
      await s.http.post('/api/v1/submissions').set(as('acme')).send({ gun, tag: '1.0' }).expect(201)
    ).body as SubmissionView;
    assert.equal(sub.state, 'verified');
    assert.match(
      check(sub, 'registry-blobs').detail,
      /3 manifest\(s\), 2 config\(s\) and 2 layer\(s\) present/
    );
    // The arm64 image runs as root: the check fails and names that platform only.
    assert.equal(check(sub, 'user').passed, false);
    assert.equal(check(sub, 'user').detail, 'linux/arm64: User "0" is root');
    assert.equal(check(sub, 'healthcheck').passed, true);
    assert.match(check(sub, 'size').detail, /of 2 platforms, 4 distinct blobs/);

    await attach(sub.id, report('trivy-within-budget.json')).expect(200);
    await s.http
      .post(`/api/v1/submissions/${sub.id}/waivers`)
      .set(as('rev2'))
      .send({ check: 'user', reason: 'arm64 build is a debug image, accepted for now' })
      .expect(200);
    assert.equal((await approve(sub.id).expect(200)).body.state, 'published');
    assert.equal(await skopeoDigest(registry.host, 'public/acme/multi:1.0'), d.digest);
    const index = await client.getManifest('public/acme/multi', d.digest);
    assert.equal(index.parsed.kind, 'index');
    for (const child of index.parsed.kind === 'index' ? index.parsed.manifests : [])
      assert.ok(await client.hasManifest('public/acme/multi', child.digest), child.digest);
  });

  it('a tag re-pushed with other content after signing: registry-manifest fails, verification_failed, nothing published', async () => {
    const signed = await buildAndPush(
      layout,
      registry.host,
      'moved-a',
      'staging/acme/moved:1.0',
      GOOD
    );
    const gun = 'staging.store.test/acme/moved';
    await signIntoStaging(s.app.storage, gun, signed.manifest);
    const other = await buildAndPush(
      layout,
      registry.host,
      'moved-b',
      'staging/acme/moved:1.0',
      GOOD
    );
    const sub = (
      await s.http.post('/api/v1/submissions').set(as('acme')).send({ gun, tag: '1.0' }).expect(201)
    ).body as SubmissionView;
    assert.equal(sub.state, 'verification_failed');
    const m = check(sub, 'registry-manifest');
    assert.equal(m.passed, false);
    assert.equal(
      m.detail,
      `staging/acme/moved:1.0 on ${registry.url} resolves to ${other.digest} (${other.size} bytes) but the signed digest is ${signed.digest} (${signed.size} bytes): the tag was re-pushed after signing`
    );
    // The signed image itself is still whole in the registry.
    assert.equal(check(sub, 'registry-blobs').passed, true);
    assert.equal((await approve(sub.id).expect(409)).body.error.code, 'conflict');
    assert.equal(await publicTimestamp(s.app.storage, 'store.test/acme/moved'), null);
    const failed = (await audit(sub.id)).find((e) => e.action === 'submission.verification_failed');
    assert.deepEqual(failed?.details.failed, ['registry-manifest']);
  });

  it('a layer blob corrupted on the registry’s disk: registry-blobs fails naming it, verification_failed', async () => {
    const image = await buildAndPush(layout, registry.host, 'corrupt', 'staging/acme/corrupt:1.0', {
      ...GOOD,
      layers: [4096, 4096],
    });
    const layer = (await layout.manifest('corrupt')).layers[1]!;
    const garbage = randomBytes(layer.size);
    writeFileSync(registry.blobPath(layer.digest), garbage);
    const gun = 'staging.store.test/acme/corrupt';
    await signIntoStaging(s.app.storage, gun, image.manifest);
    const sub = (
      await s.http.post('/api/v1/submissions').set(as('acme')).send({ gun, tag: '1.0' }).expect(201)
    ).body as SubmissionView;
    assert.equal(sub.state, 'verification_failed');
    assert.equal(check(sub, 'registry-manifest').passed, true);
    const blobs = check(sub, 'registry-blobs');
    assert.equal(blobs.passed, false);
    assert.equal(
      blobs.detail,
      `staging/acme/corrupt@${image.digest} on ${registry.url}: layer 1: ${layer.digest}: read ${layer.size} bytes hashing to sha256:${sha256Hex(garbage)}, expected ${layer.size} bytes hashing to ${layer.digest}`
    );
    await s.http
      .post(`/api/v1/submissions/${sub.id}/waivers`)
      .set(as('rev1'))
      .send({ check: 'healthcheck', reason: 'x' })
      .expect(409);
  });

  async function idOf(name: string): Promise<string> {
    const list = await s.http
      .get(`/api/v1/submissions?gun=staging.store.test/acme/${name}`)
      .set(as('admin'))
      .expect(200);
    const id = (list.body.submissions as SubmissionView[]).at(-1)?.id;
    assert.ok(id, `no submission for ${name}`);
    return id;
  }
});
