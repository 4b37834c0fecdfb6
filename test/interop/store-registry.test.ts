/**
 * The store's chain with a real registry and the real notary CLI (docs/interfaces.md "Registries and
 * review policy"), Countersign running as operators run it (`countersign serve` with TLS):
 *
 *   1. an image built with umoci is pushed with skopeo to `staging/acme/web:1.0` on
 *      docker-registry 2.8; the publisher signs its manifest bytes — the real manifest digest
 *      and length — into targets/releases of staging.store.test/acme/web with the notary CLI;
 *   2. `countersign submit` verifies the trust data and the registry (registry-manifest,
 *      registry-blobs) and lists the policy checks, `vulnerabilities` failing without a report;
 *   3. a Trivy report within budget is attached over the store API;
 *   4. `countersign approve` publishes, having promoted the image to `public/acme/web:1.0`;
 *   5. `skopeo inspect` of the public repository returns the signed digest, and `countersign
 *      verify` pinned to the store CA prints it; the public target carries the report's sha256;
 *   6. the staging tag re-pushed with other content after signing: `countersign submit` fails.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Cleanup } from '../helpers/cleanup.js';
import { skopeoDigest, type ImageSpec } from '../helpers/images.js';
import { sha256Hex, tufPath } from '../helpers/notary-http.js';
import { fixturePath } from '../helpers/paths.js';
import { startStoreFixture, type StoreFixture } from '../helpers/store-fixture.js';

const STAGING = 'staging.store.test/acme/web';
const PUBLIC = 'store.test/acme/web';
const IMAGE: ImageSpec = {
  layers: [4096, 2048],
  user: 'app',
  labels: { 'org.opencontainers.image.source': 'https://example.test/acme/web' },
  healthcheck: ['CMD', '/bin/true'],
};

describe('store chain with a registry, the notary CLI and skopeo', () => {
  const cleanup = new Cleanup();
  let f: StoreFixture;
  let manifest: Buffer;
  let digest: string;
  let submissionId: string;
  const trivy = readFileSync(fixturePath('registry', 'trivy-within-budget.json'));

  before(async () => {
    f = await startStoreFixture(cleanup, {
      name: 'store-registry',
      registry: 'staging-and-public',
      store: {
        policy: {
          maxCompressedBytes: 1048576,
          requireHealthcheck: true,
          requireNonRootUser: true,
          requiredLabels: ['org.opencontainers.image.source'],
          vulnerabilityBudget: { critical: 0, high: 5 },
        },
      },
    });
  });
  after(() => cleanup.run());

  it('the publisher pushes the image with skopeo and signs its manifest digest into staging with the notary CLI', async () => {
    ({ manifest, digest } = await f.signImageIntoStaging({
      gun: STAGING,
      repoTag: 'staging/acme/web:1.0',
      tag: '1.0',
      spec: IMAGE,
    }));
    assert.equal(`sha256:${sha256Hex(manifest)}`, digest);
    assert.equal(await skopeoDigest(f.registry.host, 'staging/acme/web:1.0'), digest);
    assert.deepEqual(await (await f.notary('acme')).list(STAGING), [
      {
        name: '1.0',
        digestHex: sha256Hex(manifest),
        size: manifest.length,
        role: 'targets/releases',
      },
    ]);
  });

  it('countersign submit: trust data and registry verified; policy checks listed, vulnerabilities waiting for a report', async () => {
    const sub = await f.submit(`${STAGING}:1.0`);
    submissionId = sub.id;
    assert.equal(sub.state, 'verified');
    assert.equal(sub.target!.digest, digest);
    assert.deepEqual(
      sub.verification.checks.map((c: { name: string; passed: boolean }) => [c.name, c.passed]),
      [
        'root-chain',
        'signatures',
        'consistency',
        'target',
        'expiry',
        'rollback',
        'registry-manifest',
        'registry-blobs',
      ].map((n) => [n, true])
    );
    assert.match(sub.verification.checks[7]!.detail, /1 config\(s\) and 2 layer\(s\) present/);
    assert.deepEqual(
      sub.policy.checks.map((c: { name: string; passed: boolean }) => [c.name, c.passed]),
      [
        ['size', true],
        ['healthcheck', true],
        ['user', true],
        ['labels', true],
        ['vulnerabilities', false],
      ]
    );
    const refused = await f.store('rev1', ['approve', submissionId]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /policy_failed/);
  });

  it('a Trivy report within budget is attached over the store API', async () => {
    const r = await f.https(`/api/v1/submissions/${submissionId}/reports`, {
      method: 'POST',
      user: 'acme',
      body: trivy,
    });
    assert.equal(r.status, 200, r.body.toString());
    const sub = JSON.parse(r.body.toString());
    assert.deepEqual(sub.policy.checks.at(-1).passed, true);
    assert.equal(sub.reports[0].sha256, sha256Hex(trivy));
  });

  it('countersign approve publishes; skopeo finds the signed digest in the public repository', async () => {
    const r = await f.store('rev1', ['approve', submissionId, '--note', 'image reviewed']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, new RegExp(`^submission ${submissionId} published$`, 'm'));
    assert.equal(await skopeoDigest(f.registry.host, 'public/acme/web:1.0'), digest);
  });

  it('countersign verify of the public tag, pinned to the store CA, prints the signed digest; the target names the report', async () => {
    const caPem = await f.saveCaPem();
    const verified = await f.verifyPinned(`${PUBLIC}:1.0`, caPem);
    assert.equal(verified.code, 0, verified.stderr + verified.stdout);
    assert.equal(verified.stdout, `${digest} ${manifest.length}\n`);
    const targets = await f.https(tufPath(PUBLIC, 'targets.json'));
    const custom = JSON.parse(targets.body.toString()).signed.targets['1.0'].custom;
    assert.equal(custom.vulnerabilityReport, sha256Hex(trivy));
    assert.equal(custom.submission, submissionId);
  });

  it('the staging tag re-pushed with other content after signing: countersign submit fails on registry-manifest', async () => {
    const other = await f.layout.build('other', IMAGE);
    await f.layout.push(f.registry.host, 'other', 'staging/acme/web:1.0');
    const r = await f.store('acme', ['submit', `${STAGING}:1.0`]);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    assert.match(r.stdout, /^submission \S+ verification_failed$/m);
    assert.match(
      r.stdout,
      new RegExp(
        `FAILED registry-manifest: staging/acme/web:1\\.0 on ${f.registry.url} resolves to ${other.digest} .* but the signed digest is ${digest} .*re-pushed after signing`
      )
    );
    // The public repository still serves the certified image.
    assert.equal(await skopeoDigest(f.registry.host, 'public/acme/web:1.0'), digest);
  });
});
