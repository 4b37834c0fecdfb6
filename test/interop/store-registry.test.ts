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
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import {
  addAccounts,
  countersignCli,
  httpsCall,
  startCountersign,
  type StartedCountersign,
} from '../helpers/countersign.js';
import { ImageLayout, skopeoDigest, type ImageSpec } from '../helpers/images.js';
import { NotaryClient } from '../helpers/notary-cli.js';
import { fixturePath } from '../helpers/paths.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { signImageIntoStaging } from '../helpers/store-producer.js';

const STAGING = 'staging.store.test/acme/web';
const PUBLIC = 'store.test/acme/web';
const USERS = {
  acme: { role: 'publisher', namespace: 'staging.store.test/acme/', password: 'acme password' },
  rev1: { role: 'reviewer', password: 'reviewer one password' },
  admin: { role: 'admin', password: 'store admin password' },
} as const;
type User = keyof typeof USERS;
const IMAGE: ImageSpec = {
  layers: [4096, 2048],
  user: 'app',
  labels: { 'org.opencontainers.image.source': 'https://example.test/acme/web' },
  healthcheck: ['CMD', '/bin/true'],
};

const cli = countersignCli;

function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** An HTTPS request to the server under test, with Basic credentials when a user is named. */
const call = (
  url: string,
  caFile: string,
  o: { method?: string; user?: User; body?: Buffer } = {}
) =>
  httpsCall(url, caFile, {
    ...(o.method ? { method: o.method } : {}),
    ...(o.body ? { body: o.body } : {}),
    ...(o.user ? { basic: { user: o.user, password: USERS[o.user].password } } : {}),
  });

describe('store chain with a registry, the notary CLI and skopeo', () => {
  const cleanup = new Cleanup();
  let registry: TestRegistry;
  let layout: ImageLayout;
  let server: StartedCountersign;
  let acme: NotaryClient;
  let work: string;
  let manifest: Buffer;
  let digest: string;
  let submissionId: string;
  const trivy = readFileSync(fixturePath('registry', 'trivy-within-budget.json'));

  const store = (user: User, args: string[]) =>
    cli([...args, '--server', server.sut.url, '--ca', server.sut.caFile!, '--user', user], {
      COUNTERSIGN_PASSWORD: USERS[user].password,
    });

  before(async () => {
    const base = cleanup.tempDir('store-registry-');
    const dataDir = join(base, 'data');
    work = join(base, 'work');
    mkdirSync(work, { recursive: true });
    registry = cleanup.add(await startRegistry());
    layout = await ImageLayout.create();
    cleanup.defer(() => layout.remove());
    await addAccounts(dataDir, USERS);
    server = cleanup.add(
      await startCountersign({
        dataDir,
        config: {
          countersign: {
            store: {
              zones: [{ staging: 'staging.store.test/', public: 'store.test/' }],
              registries: {
                staging: { url: registry.url, repositoryPrefix: 'staging/' },
                public: { url: registry.url, repositoryPrefix: 'public/' },
              },
              policy: {
                maxCompressedBytes: 1048576,
                requireHealthcheck: true,
                requireNonRootUser: true,
                requiredLabels: ['org.opencontainers.image.source'],
                vulnerabilityBudget: { critical: 0, high: 5 },
              },
            },
          },
        },
      })
    );
    acme = cleanup.add(
      await NotaryClient.create({
        server: server.sut,
        auth: { username: 'acme', password: USERS.acme.password },
      })
    );
  });
  after(() => cleanup.run());

  it('the publisher pushes the image with skopeo and signs its manifest digest into staging with the notary CLI', async () => {
    ({ manifest, digest } = await signImageIntoStaging({
      notary: acme,
      layout,
      registryHost: registry.host,
      work,
      gun: STAGING,
      repoTag: 'staging/acme/web:1.0',
      tag: '1.0',
      spec: IMAGE,
    }));
    assert.equal(`sha256:${sha256Hex(manifest)}`, digest);
    assert.equal(await skopeoDigest(registry.host, 'staging/acme/web:1.0'), digest);
    assert.deepEqual(await acme.list(STAGING), [
      {
        name: '1.0',
        digestHex: sha256Hex(manifest),
        size: manifest.length,
        role: 'targets/releases',
      },
    ]);
  });

  it('countersign submit: trust data and registry verified; policy checks listed, vulnerabilities waiting for a report', async () => {
    const r = await store('acme', ['submit', `${STAGING}:1.0`, '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const sub = JSON.parse(r.stdout);
    submissionId = sub.id;
    assert.equal(sub.state, 'verified');
    assert.equal(sub.target.digest, digest);
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
    assert.match(sub.verification.checks[7].detail, /1 config\(s\) and 2 layer\(s\) present/);
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
    const refused = await store('rev1', ['approve', submissionId]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /policy_failed/);
  });

  it('a Trivy report within budget is attached over the store API', async () => {
    const r = await call(
      `${server.sut.url}/api/v1/submissions/${submissionId}/reports`,
      server.sut.caFile!,
      { method: 'POST', user: 'acme', body: trivy }
    );
    assert.equal(r.status, 200, r.body.toString());
    const sub = JSON.parse(r.body.toString());
    assert.deepEqual(sub.policy.checks.at(-1).passed, true);
    assert.equal(sub.reports[0].sha256, sha256Hex(trivy));
  });

  it('countersign approve publishes; skopeo finds the signed digest in the public repository', async () => {
    const r = await store('rev1', ['approve', submissionId, '--note', 'image reviewed']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, new RegExp(`^submission ${submissionId} published$`, 'm'));
    assert.equal(await skopeoDigest(registry.host, 'public/acme/web:1.0'), digest);
  });

  it('countersign verify of the public tag, pinned to the store CA, prints the signed digest; the target names the report', async () => {
    const ca = await call(`${server.sut.url}/api/v1/store/ca.pem`, server.sut.caFile!);
    assert.equal(ca.status, 200);
    const caPem = join(work, 'store-ca.pem');
    writeFileSync(caPem, ca.body);
    const verified = await cli([
      'verify',
      '--server',
      server.sut.url,
      '--ca',
      server.sut.caFile!,
      '--pin-ca',
      caPem,
      `${PUBLIC}:1.0`,
    ]);
    assert.equal(verified.code, 0, verified.stderr + verified.stdout);
    assert.equal(verified.stdout, `${digest} ${manifest.length}\n`);
    const targets = await call(
      `${server.sut.url}/v2/${PUBLIC}/_trust/tuf/targets.json`,
      server.sut.caFile!
    );
    const custom = JSON.parse(targets.body.toString()).signed.targets['1.0'].custom;
    assert.equal(custom.vulnerabilityReport, sha256Hex(trivy));
    assert.equal(custom.submission, submissionId);
  });

  it('the staging tag re-pushed with other content after signing: countersign submit fails on registry-manifest', async () => {
    const other = await layout.build('other', IMAGE);
    await layout.push(registry.host, 'other', 'staging/acme/web:1.0');
    const r = await store('acme', ['submit', `${STAGING}:1.0`]);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    assert.match(r.stdout, /^submission \S+ verification_failed$/m);
    assert.match(
      r.stdout,
      new RegExp(
        `FAILED registry-manifest: staging/acme/web:1\\.0 on ${registry.url} resolves to ${other.digest} .* but the signed digest is ${digest} .*re-pushed after signing`
      )
    );
    // The public repository still serves the certified image.
    assert.equal(await skopeoDigest(registry.host, 'public/acme/web:1.0'), digest);
  });
});
