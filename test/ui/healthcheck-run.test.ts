/**
 * healthcheck-run in the review UI, in Debian's chromium (playwright-core) with axe-core on every
 * page, against the store in process served on 127.0.0.1 with the real runc, umoci, skopeo and
 * docker-registry (a busybox image whose HEALTHCHECK always fails):
 *
 * - a reviewer follows the run from the submission page to its job page (`/ui/jobs/ID`), which
 *   shows `Running the image in the sandbox: platform 1/1 linux/amd64: …` and ends on the verdict;
 * - the submission page then shows the run: both probes with exit code 1 and their output, the
 *   unpacked and compressed sizes, the user found in /etc/passwd;
 * - the reviewer waives it with a reason through the page's form and approves.
 * Screenshots go to test-artifacts/ui-healthcheck-run/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SubmissionView } from '../../src/store/submission.js';
import { axeViolations, launchChromium, type Browser, type Page } from '../helpers/browser.js';
import { ImageLayout } from '../helpers/images.js';
import { repoRoot } from '../helpers/paths.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { buildBusyboxImage } from '../sandbox/busybox-images.js';
import { PASSWORD, startStore, type StoreApp } from '../store/fixture.js';
import { signIntoStaging } from '../store/registry-fixture.js';

const GUN = 'staging.store.test/acme/hcui';
const SHOTS = join(repoRoot, 'test-artifacts', 'ui-healthcheck-run');

describe('healthcheck-run in the review UI (chromium, axe)', { timeout: 300_000 }, () => {
  let registry: TestRegistry;
  let layout: ImageLayout;
  let base: string;
  let s: StoreApp;
  let server: http.Server;
  let url: string;
  let browser: Browser;
  let page: Page;
  let id: string;

  before(async () => {
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
    base = mkdtempSync(join(tmpdir(), 'countersign-hcui-'));
    // The container's mapped root must traverse every parent of its rootfs (docs/store.md).
    chmodSync(base, 0o711);
    registry = await startRegistry();
    layout = await ImageLayout.create();
    s = await startStore({
      autoPublish: false,
      registries: { staging: { url: registry.url, repositoryPrefix: 'staging/' } },
      policy: {
        runHealthcheck: {
          timeout: '60s',
          // Two probes 4 s apart: the job page is seen running.
          probe: { interval: '4s', timeout: '10s', retries: 2 },
          workDir: join(base, 'sandbox'),
        },
      },
    });
    server = http.createServer(s.app.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });
  after(
    async () => {
      await browser?.close();
      await new Promise((r) => server?.close(r));
      server?.closeAllConnections();
      await s?.close();
      await registry?.stop();
      await layout?.remove();
      rmSync(base, { recursive: true, force: true });
    },
    { timeout: 60_000 }
  );

  async function accessible(name: string): Promise<void> {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
    assert.deepEqual(await axeViolations(page), [], `axe on the ${name} page`);
  }

  it('a reviewer follows the run from the submission page to its job page, which ends on the verdict', async () => {
    const d = await buildBusyboxImage(layout, 'hcui', {
      entrypoint: ['/bin/sleep', '1000'],
      user: 'app',
      healthcheck: { Test: ['CMD-SHELL', 'echo down; exit 1'] },
    });
    await layout.push(registry.host, 'hcui', 'staging/acme/hcui:1.0');
    await signIntoStaging(s.app.storage, GUN, await layout.readBlob(d.digest));
    const res = await s.http
      .post('/api/v1/submissions')
      .set('Authorization', s.auth('acme'))
      .send({ gun: GUN, tag: '1.0' })
      .expect(201);
    id = (res.body as SubmissionView).id;
    const jobId = (res.body as SubmissionView).policy.checks.find(
      (c) => c.name === 'healthcheck-run'
    )!.job!;

    page = await (await browser.newContext()).newPage();
    await page.goto(`${url}/ui/`);
    await page.getByLabel('Account').fill('rev1');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${url}/ui/`);
    await page.goto(`${url}/ui/submissions/${id}`);
    await page.getByRole('link', { name: jobId }).click();
    await page.waitForURL(`${url}/ui/jobs/${jobId}`);
    // The page's script keeps the status region current while the run goes on.
    await page
      .getByRole('status')
      .filter({ hasText: /Running the image in the sandbox: platform 1\/1 linux\/amd64: / })
      .waitFor({ timeout: 30_000 });
    await accessible('job-running');
    // It reloads itself once the job has ended.
    await page.getByRole('heading', { name: 'Health check run: finished' }).waitFor({
      timeout: 60_000,
    });
    assert.match(
      (await page.getByRole('status').textContent()) ?? '',
      /Health check run finished: healthcheck-run failed: linux\/amd64: failed: unhealthy: 2 probe\(s\) in a row failed/
    );
    await accessible('job-finished');
  });

  it('the submission page shows every probe, the sizes and the user; a waiver with a reason, then approval', async () => {
    await page.goto(`${url}/ui/submissions/${id}`);
    const probes = page.getByRole('table', { name: /Probes of linux\/amd64/ });
    const rows = await probes.locator('tbody tr').allTextContents();
    assert.equal(rows.length, 2);
    for (const row of rows) assert.match(row.replace(/\s+/g, ' '), / 1 \d+ ms down $/);
    const body = (await page.locator('main').textContent())!.replace(/\s+/g, ' ');
    assert.match(body, /\d+ bytes unpacked, \d+ bytes compressed/);
    assert.match(body, /app \(uid 1000\), in \/etc\/passwd/);
    await accessible('submission-failed');

    await page
      .getByLabel('Reason to waive healthcheck-run')
      .fill('the probe needs a database the sandbox cannot offer');
    await page.getByRole('button', { name: 'Waive healthcheck-run' }).click();
    await page.waitForURL(`${url}/ui/submissions/${id}`);
    assert.match(
      (await page.locator('main').textContent())!.replace(/\s+/g, ' '),
      /Waived by rev1 at .*: the probe needs a database the sandbox cannot offer/
    );
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(`${url}/ui/submissions/${id}`);
    await accessible('submission-approved');
    const sub = (
      await s.http.get(`/api/v1/submissions/${id}`).set('Authorization', s.auth('rev1')).expect(200)
    ).body as SubmissionView;
    assert.equal(sub.state, 'approved');
  });
});
