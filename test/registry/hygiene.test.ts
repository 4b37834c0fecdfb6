import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isCountersignError } from '../../src/errors.js';
import { policyChecks } from '../../src/policy/evaluate.js';
import { compressedSize, hygieneChecks, isRootUser } from '../../src/policy/hygiene.js';
import {
  blockingChecks,
  parsePolicy,
  waive,
  type PolicyCheck,
  type ReviewPolicy,
} from '../../src/policy/types.js';
import { parseScannerReport } from '../../src/policy/vulnerabilities.js';
import { RegistryClient } from '../../src/registry/client.js';
import { inspectImage, type ImagePlatform, type ImageSummary } from '../../src/registry/image.js';
import { ImageLayout } from '../helpers/images.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const LABEL = 'org.opencontainers.image.source';
const policy: ReviewPolicy = {
  maxCompressedBytes: 1024 * 1024,
  requireHealthcheck: true,
  requireNonRootUser: true,
  requiredLabels: [LABEL],
  maxLayers: 3,
};
const good = {
  user: '1000',
  labels: { [LABEL]: 'https://git.example/acme/web' },
  healthcheck: ['CMD', '/bin/true'],
};

const byName = (checks: PolicyCheck[]): Record<string, PolicyCheck> =>
  Object.fromEntries(checks.map((c) => [c.name, c]));

describe('hygiene checks on images in docker-registry 2.8', () => {
  let registry: TestRegistry;
  let layout: ImageLayout;
  let client: RegistryClient;

  before(async () => {
    registry = await startRegistry();
    layout = await ImageLayout.create();
    client = new RegistryClient({ url: registry.url });
    await layout.build('good', { ...good, layers: [100_000, 50_000] });
    await layout.build('nohealth', { user: good.user, labels: good.labels, layers: [10_000] });
    await layout.build('big', { ...good, layers: [1_200_000] });
    await layout.build('rooty', {
      labels: good.labels,
      healthcheck: good.healthcheck,
      user: '0:1000',
      layers: [1000, 1000, 1000, 1000],
    });
    await layout.build('amd64', { ...good, layers: [300_000], architecture: 'amd64' });
    await layout.build('arm64', { ...good, layers: [300_000], architecture: 'arm64' });
    await layout.build('arm64-nohealth', {
      user: good.user,
      labels: good.labels,
      layers: [300_000],
      architecture: 'arm64',
    });
    await layout.buildIndex('multi', ['amd64', 'arm64']);
    await layout.buildIndex('multi-bad', ['amd64', 'arm64-nohealth']);
    for (const ref of ['good', 'nohealth', 'big', 'rooty'])
      await layout.push(registry.host, ref, `staging/${ref}:1.0`);
    await layout.push(registry.host, 'multi', 'staging/multi:1.0', { format: 'v2s2' });
    await layout.push(registry.host, 'multi-bad', 'staging/multi-bad:1.0');
  });

  after(async () => {
    client?.close();
    await registry?.stop();
    await layout?.remove();
  });

  async function inspect(repo: string): Promise<ImageSummary> {
    const { digest } = await client.resolveTag(repo, '1.0');
    return inspectImage(client, repo, digest);
  }

  it('passes every check on an image that meets the policy', async () => {
    const image = await inspect('staging/good');
    const checks = hygieneChecks(policy, image);
    assert.deepEqual(
      checks.map((c) => c.name),
      ['size', 'healthcheck', 'user', 'labels', 'layers']
    );
    assert.deepEqual(
      checks.filter((c) => !c.passed),
      []
    );
    const m = await layout.manifest('good');
    const bytes = m.config.size + m.layers.reduce((n, l) => n + l.size, 0);
    const c = byName(checks);
    assert.equal(
      c.size!.detail,
      `${bytes} compressed bytes (config and layers of 1 platform, 3 distinct blobs), within the limit of 1048576`
    );
    assert.equal(c.healthcheck!.detail, 'HEALTHCHECK CMD /bin/true');
    assert.equal(c.user!.detail, 'runs as User "1000"');
    assert.equal(c.layers!.detail, '2 layers, within the limit of 3');
  });

  it('fails healthcheck on an image without a HEALTHCHECK', async () => {
    const c = byName(hygieneChecks(policy, await inspect('staging/nohealth')));
    assert.equal(c.healthcheck!.passed, false);
    assert.equal(c.healthcheck!.detail, 'no HEALTHCHECK in the image config');
    assert.equal(c.size!.passed && c.user!.passed && c.labels!.passed && c.layers!.passed, true);
  });

  it('fails size on an image over the limit, by how much', async () => {
    const image = await inspect('staging/big');
    const c = byName(hygieneChecks(policy, image));
    const { bytes } = compressedSize(image);
    assert.ok(bytes > 1024 * 1024);
    assert.equal(c.size!.passed, false);
    assert.match(
      c.size!.detail,
      new RegExp(
        `^${bytes} compressed bytes .* exceed the limit of 1048576 by ${bytes - 1024 * 1024}$`
      )
    );
    assert.equal(c.healthcheck!.passed, true);
  });

  it('fails user on UID 0 with another group, and layers over the count', async () => {
    const c = byName(hygieneChecks(policy, await inspect('staging/rooty')));
    assert.equal(c.user!.passed, false);
    assert.equal(c.user!.detail, 'User "0:1000" is root');
    assert.equal(c.layers!.passed, false);
    assert.equal(c.layers!.detail, '4 layers, over the limit of 3');
  });

  it('checks every platform of a multi-architecture index and sums their blobs', async () => {
    const image = await inspect('staging/multi');
    assert.deepEqual(
      image.platforms.map((p) => p.platform),
      ['linux/amd64', 'linux/arm64']
    );
    const checks = hygieneChecks(policy, image);
    assert.deepEqual(
      checks.filter((c) => !c.passed),
      []
    );
    // 2 configs + 2 layers of 300 000 random bytes: over 600 000 bytes, under the 1 MiB limit.
    const { bytes, blobs } = compressedSize(image);
    assert.equal(blobs, 4);
    assert.ok(bytes > 600_000 && bytes < 1024 * 1024);
    const tight = byName(hygieneChecks({ ...policy, maxCompressedBytes: 500_000 }, image));
    assert.equal(tight.size!.passed, false, 'one platform alone would fit: both are counted');
  });

  it('fails an index when one platform lacks the HEALTHCHECK, naming that platform', async () => {
    const c = byName(hygieneChecks(policy, await inspect('staging/multi-bad')));
    assert.equal(c.healthcheck!.passed, false);
    assert.equal(c.healthcheck!.detail, 'linux/arm64: no HEALTHCHECK in the image config');
  });

  it('adds the vulnerabilities check when the policy has a budget', async () => {
    const image = await inspect('staging/good');
    const withBudget = { ...policy, vulnerabilityBudget: { critical: 0 } };
    const missing = policyChecks(withBudget, image);
    assert.equal(missing.at(-1)!.name, 'vulnerabilities');
    assert.equal(missing.at(-1)!.passed, false);
    const report = parseScannerReport(Buffer.from('{"SchemaVersion":2,"Results":[]}'));
    assert.equal(policyChecks(withBudget, image, report).at(-1)!.passed, true);
    assert.equal(policyChecks({ ...policy, vulnerabilityBudget: {} }, image).length, 5);
  });
});

describe('hygiene checks (pure)', () => {
  const platform = (config: Record<string, unknown>, layers = 1): ImagePlatform => ({
    manifestDigest: `sha256:${'a'.repeat(64)}`,
    platform: 'linux/amd64',
    configDescriptor: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: `sha256:${'c'.repeat(64)}`,
      size: 100,
    },
    config: { config },
    layers: Array.from({ length: layers }, (_, i) => ({
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: `sha256:${String(i).repeat(64).slice(0, 64)}`,
      size: 1000,
    })),
  });
  const image = (...platforms: ImagePlatform[]): ImageSummary => ({
    digest: `sha256:${'f'.repeat(64)}`,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    platforms,
    attachments: [],
  });

  it('produces no entry for a setting that is off (left out, 0, false or [])', () => {
    const img = image(platform({}));
    assert.deepEqual(hygieneChecks({}, img), []);
    assert.deepEqual(
      hygieneChecks(
        {
          maxCompressedBytes: 0,
          requireHealthcheck: false,
          requireNonRootUser: false,
          requiredLabels: [],
          maxLayers: 0,
        },
        img
      ),
      []
    );
  });

  it('treats a disabled or empty Healthcheck as none', () => {
    for (const Healthcheck of [{ Test: ['NONE'] }, { Test: [] }, {}, null]) {
      const [c] = hygieneChecks({ requireHealthcheck: true }, image(platform({ Healthcheck })));
      assert.equal(c!.passed, false, JSON.stringify(Healthcheck));
    }
    const [ok] = hygieneChecks(
      { requireHealthcheck: true },
      image(platform({ Healthcheck: { Test: ['CMD-SHELL', 'curl -f localhost'] } }))
    );
    assert.equal(ok!.passed, true);
  });

  it('knows root in its spellings', () => {
    for (const u of ['root', '0', '0:0', 'root:root', '0:1000', 'root:wheel', ' 00 '])
      assert.equal(isRootUser(u), true, u);
    for (const u of ['1000', 'app', '1000:0', 'app:root', 'rooter'])
      assert.equal(isRootUser(u), false, u);
    const [unset] = hygieneChecks({ requireNonRootUser: true }, image(platform({})));
    assert.equal(unset!.detail, 'no User set, so it runs as root');
  });

  it('lists the missing labels', () => {
    const [c] = hygieneChecks(
      { requiredLabels: ['a', 'b', 'c'] },
      image(platform({ Labels: { b: 'x' } }))
    );
    assert.equal(c!.passed, false);
    assert.equal(c!.detail, 'missing label(s) a, c');
  });

  it('counts a blob shared by two platforms once', () => {
    const img = image(platform({}, 2), { ...platform({}, 2), platform: 'linux/arm64' });
    assert.deepEqual(compressedSize(img), { bytes: 2100, blobs: 3 });
  });

  it('keeps a waived failure visible but not blocking', () => {
    const [c] = hygieneChecks({ requireHealthcheck: true }, image(platform({})));
    const waived = waive(c!, {
      by: 'rev1',
      reason: 'batch job, no long-running service',
      at: '2026-11-20T10:00:00Z',
    });
    assert.equal(waived.passed, false);
    assert.deepEqual(blockingChecks([c!]), [c]);
    assert.deepEqual(blockingChecks([waived]), []);
  });

  it('validates policy settings', () => {
    assert.deepEqual(parsePolicy({ maxCompressedBytes: 5, requiredLabels: ['x'], approvals: 2 }), {
      maxCompressedBytes: 5,
      requiredLabels: ['x'],
    });
    for (const bad of [
      { maxLayers: -1 },
      { requireHealthcheck: 'yes' },
      { requiredLabels: [''] },
      { vulnerabilityBudget: { severe: 1 } },
    ]) {
      assert.throws(
        () => parsePolicy(bad),
        (err) => isCountersignError(err, 'CONFIG_INVALID'),
        JSON.stringify(bad)
      );
    }
  });
});
