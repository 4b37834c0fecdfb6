/**
 * The review UI in a real browser (Debian's chromium via playwright-core), against Countersign as
 * operators run it (`countersign serve` with TLS, a registry, a review policy, a quorum of two):
 *
 *   1. the publisher pushes an image without the required label and signs it into staging with
 *      the notary CLI, submits it with `countersign submit` and attaches a Trivy report;
 *   2. a reviewer logs in, finds it in the queue ("needs me"), opens it, waives the failing
 *      `labels` check with a reason and approves: `1 of 2 approvals`;
 *   3. a POST without the CSRF token is refused (403, nothing changed), and a form on another
 *      site (127.0.0.2) carries no session even with the right token (SameSite=Strict);
 *   4. another publisher sees none of it, and is refused the submission's page;
 *   5. a second reviewer approves, which completes the quorum: the browser is sent to the job
 *      doing the publish, whose page follows it (its script polls under the CSP; the registry is
 *      paused meanwhile so the running state is seen) and ends on "Published" with a link to the
 *      public repository; meanwhile, in another tab, the submission page and the queue show the
 *      running job, as they do to the first reviewer (a reader of the submission, though not the
 *      job's starter), who follows the queue's mark to it; another publisher sees none of it and
 *      the job's address answers it 404; the trust browser
 *      shows the tag with its provenance, and `countersign verify` pinned to the store CA
 *      prints the same digest;
 *   6. the admin's audit page shows the chain verified; logout revokes the session;
 *   7. no page fetched anything from another host; the second reviewer logs in by keyboard alone.
 *
 * Every page the browser shows is screenshotted, numbered in visit order, to
 * test-artifacts/ui/NN-NAME.png, and axe-core runs on every Countersign page (no serious or
 * critical violations); the last test checks that no visit was left without either.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import {
  axeViolations,
  clearScreenshots,
  launchChromium,
  screenshot,
  type Browser,
  type BrowserContext,
  type Page,
} from '../helpers/browser.js';
import { Cleanup } from '../helpers/cleanup.js';
import type { ImageSpec } from '../helpers/images.js';
import { fixturePath } from '../helpers/paths.js';
import { freePort } from '../helpers/proc.js';
import { startStoreFixture, type StoreFixture, type StoreUser } from '../helpers/store-fixture.js';

const STAGING = 'staging.store.test/acme/web';
const PUBLIC = 'store.test/acme/web';
/** Beside the fixture's acme, rev1 and admin: another publisher and a second reviewer. */
const MORE_USERS = {
  beta: { role: 'publisher', namespace: 'staging.store.test/beta/', password: 'beta password' },
  rev2: { role: 'reviewer', password: 'reviewer two password' },
} as const;
type User = StoreUser | keyof typeof MORE_USERS;
/** Non-root, with a health check, but without the label the policy requires. */
const IMAGE: ImageSpec = { layers: [2048], user: 'app', healthcheck: ['CMD', '/bin/true'] };

describe('review UI in chromium', { timeout: 300_000 }, () => {
  const cleanup = new Cleanup();
  let f: StoreFixture<keyof typeof MORE_USERS>;
  let browser: Browser;
  let url: string;
  let digest: string;
  let manifest: Buffer;
  let id: string;
  const contexts = new Map<User, { context: BrowserContext; page: Page }>();

  const api = async (
    path: string,
    user: User = 'admin',
    o: { method?: string; body?: Buffer } = {}
  ) => {
    const r = await f.https(path, { ...o, user });
    return { status: r.status, json: JSON.parse(r.body.toString()) as Record<string, unknown> };
  };
  const submission = async () =>
    (await api(`/api/v1/submissions/${id}`)).json as {
      state: string;
      reviews: unknown[];
      policy: { checks: { name: string; waived?: unknown }[] };
    };

  /** Every page shown (a main-frame navigation), with its screenshot and whether axe ran on it. */
  const visits: { page: Page; url: string; shot?: string; axe?: true }[] = [];
  const currentVisit = (page: Page) => {
    const v = visits.findLast((x) => x.page === page);
    assert.ok(v && v.url === page.url(), `a recorded visit for ${page.url()}`);
    return v;
  };
  /** Screenshots the page as shown now, named NN-NAME in visit order. */
  async function shot(page: Page, name: string): Promise<void> {
    const v = currentVisit(page);
    v.shot = await screenshot(page, `${String(visits.indexOf(v) + 1).padStart(2, '0')}-${name}`);
  }
  /** Screenshot, then axe-core: no serious or critical violation. */
  async function accessible(page: Page, name: string): Promise<void> {
    await shot(page, name);
    assert.deepEqual(await axeViolations(page), [], `axe on the ${name} page`);
    currentVisit(page).axe = true;
  }
  function track(page: Page): Page {
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame() && frame.url() !== 'about:blank')
        visits.push({ page, url: frame.url() });
    });
    return page;
  }

  /** Every URL the UI's pages made the browser fetch (the page on 127.0.0.2 is the test's own). */
  const fetched: string[] = [];

  /** A fresh browser profile, logged in through the form (with `keyboard`, by keys alone). */
  async function login(user: User, o: { keyboard?: boolean } = {}): Promise<Page> {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    context.on('request', (r) => fetched.push(r.url()));
    const page = track(await context.newPage());
    contexts.set(user, { context, page });
    await page.goto(`${url}/ui/`);
    assert.equal(new URL(page.url()).pathname, '/ui/login');
    await accessible(page, `login-${user}`);
    if (o.keyboard) {
      await page.keyboard.press('Tab');
      assert.equal(await page.locator(':focus').textContent(), 'Skip to content');
      await page.keyboard.press('Tab');
      assert.equal(await page.locator(':focus').getAttribute('id'), 'username');
      await page.keyboard.type(user);
      await page.keyboard.press('Tab');
      await page.keyboard.type(f.users[user].password);
      await page.keyboard.press('Enter');
    } else {
      await page.getByLabel('Account').fill(user);
      await page.getByLabel('Password').fill(f.users[user].password);
      await page.getByRole('button', { name: 'Log in' }).click();
    }
    await page.waitForURL(`${url}/ui/`);
    await accessible(page, `queue-${user}`);
    return page;
  }

  before(async () => {
    clearScreenshots();
    f = await startStoreFixture(cleanup, {
      name: 'review-ui',
      users: MORE_USERS,
      registry: 'staging-and-public',
      store: {
        approvals: 2,
        policy: {
          requireHealthcheck: true,
          requireNonRootUser: true,
          requiredLabels: ['org.opencontainers.image.source'],
          vulnerabilityBudget: { critical: 0, high: 5 },
        },
      },
    });
    url = f.url;
    ({ digest, manifest } = await f.signImageIntoStaging({
      gun: STAGING,
      repoTag: 'staging/acme/web:1.0',
      tag: '1.0',
      spec: IMAGE,
    }));
    id = (await f.submit(`${STAGING}:1.0`)).id;
    const report = await api(`/api/v1/submissions/${id}/reports`, 'acme', {
      method: 'POST',
      body: readFileSync(fixturePath('registry', 'trivy-within-budget.json')),
    });
    assert.equal(report.status, 200);
    browser = await launchChromium();
    cleanup.defer(() => browser.close());
  });
  after(() => cleanup.run());

  it('a reviewer logs in and finds the submission in the queue, under "needs me"', async () => {
    const page = await login('rev1');
    const cookies = await contexts.get('rev1')!.context.cookies();
    const session = cookies.find((c) => c.name === '__Host-countersign-ui');
    assert.ok(session, `session cookie among ${cookies.map((c) => c.name).join(', ')}`);
    assert.deepEqual(
      [session.httpOnly, session.secure, session.sameSite, session.path],
      [true, true, 'Strict', '/']
    );
    const res = await page.goto(`${url}/ui/?mine=1`);
    assert.match(res!.headers()['content-security-policy'] ?? '', /script-src 'none'/);
    await assert.doesNotReject(page.getByText('needs me: 1').waitFor());
    const link = page.getByRole('link', { name: `${STAGING}:1.0` });
    assert.equal(await link.count(), 1);
    await accessible(page, 'queue');
    await link.click();
    await page.waitForURL(`${url}/ui/submissions/${id}`);
    const text = await page.locator('main').innerText();
    assert.ok(text.includes(digest), 'the digest is shown');
    assert.ok(text.includes('0 of 2 approvals'));
    assert.match(text, /labels\s+failed\s+missing label\(s\) org\.opencontainers\.image\.source/);
    assert.match(text, /vulnerabilities\s+passed/);
    // The image as the staging registry holds it under the signed digest.
    assert.match(text, /Platform linux\/amd64/);
    assert.match(text, /User\s+app\n/);
    assert.match(text, /Health check\s+CMD \/bin\/true/);
    assert.match(text, /Labels\s+\(none\)/);
    assert.match(text, /Layers of linux\/amd64, bottom first\n/);
    await accessible(page, 'submission-first-look');
  });

  it('CSRF: a POST without the form token is refused with 403 and changes nothing', async () => {
    const { context } = contexts.get('rev1')!;
    const r = await context.request.post(`${url}/ui/submissions/${id}/review`, {
      form: { decision: 'approve', note: 'forged' },
      maxRedirects: 0,
    });
    assert.equal(r.status(), 403);
    assert.match(await r.text(), /CSRF token missing or wrong/);
    const wrong = await context.request.post(`${url}/ui/submissions/${id}/waive`, {
      form: { check: 'labels', reason: 'forged', csrf: 'A'.repeat(43) },
      maxRedirects: 0,
    });
    assert.equal(wrong.status(), 403);
    const sub = await submission();
    assert.equal(sub.reviews.length, 0);
    assert.equal(sub.policy.checks.find((c) => c.name === 'labels')?.waived, undefined);
  });

  it('SameSite: a form on another site (127.0.0.2) carries no session, even with the right token', async () => {
    const { page } = contexts.get('rev1')!;
    await page.goto(`${url}/ui/submissions/${id}`);
    await accessible(page, 'submission-rev1');
    const csrf = await page.locator('input[name="csrf"]').first().getAttribute('value');
    assert.match(csrf ?? '', /^[A-Za-z0-9_-]{43}$/);
    const port = await freePort();
    const evil: Server = createServer((_req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end(`<!doctype html><title>evil</title><form method="post" action="${url}/ui/submissions/${id}/review">
<input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="decision" value="approve">
<button type="submit">Win a prize</button></form>`);
    });
    await new Promise<void>((resolve) => evil.listen(port, '127.0.0.2', resolve));
    try {
      await page.goto(`http://127.0.0.2:${port}/`);
      await shot(page, 'cross-site-form'); // the test's own page: no axe
      const [response] = await Promise.all([
        page.waitForNavigation(),
        page.getByRole('button', { name: 'Win a prize' }).click(),
      ]);
      assert.equal(response?.status(), 403);
      assert.match(await page.locator('main').innerText(), /No session/);
      await accessible(page, 'cross-site-refused');
    } finally {
      await new Promise<void>((resolve) => evil.close(() => resolve()));
    }
    assert.equal((await submission()).reviews.length, 0);
  });

  it('the reviewer waives the failing labels check with a reason and approves: 1 of 2 approvals', async () => {
    const { page } = contexts.get('rev1')!;
    await page.goto(`${url}/ui/submissions/${id}`);
    await accessible(page, 'submission-before');
    await page
      .getByLabel('Reason to waive labels')
      .fill('label added by the next build; <b>tracked</b> in ACME-12');
    await page.getByRole('button', { name: 'Waive labels' }).click();
    await page.waitForURL(`${url}/ui/submissions/${id}`);
    await accessible(page, 'submission-waived');
    let text = await page.locator('main').innerText();
    assert.match(text, /labels\s+waived/);
    // The reason is shown as text, never as markup.
    assert.ok(text.includes('<b>tracked</b> in ACME-12'));
    await page.getByLabel('Note (required to reject)').fill('image reviewed');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(`${url}/ui/submissions/${id}`);
    text = await page.locator('main').innerText();
    assert.ok(text.includes('1 of 2 approvals'));
    assert.match(text, /rev1 approved: image reviewed/);
    await accessible(page, 'submission-one-approval');
    const sub = await submission();
    assert.equal(sub.state, 'verified');
    assert.equal(sub.reviews.length, 1);
  });

  it('another publisher sees none of it and is refused its page; the owner sees it', async () => {
    const page = await login('beta');
    const text = await page.locator('main').innerText();
    assert.equal(text.includes(STAGING), false);
    assert.match(text, /No submissions match/);
    const res = await page.goto(`${url}/ui/submissions/${id}`);
    assert.equal(res?.status(), 403);
    await accessible(page, 'submission-refused-publisher');
    assert.equal((await page.locator('main').innerText()).includes(digest), false);
    const own = await login('acme');
    assert.equal(await own.getByRole('link', { name: `${STAGING}:1.0` }).count(), 1);
  });

  it('a second reviewer approves: the job page follows the publish to its end, with a link to the public repository', async () => {
    const page = await login('rev2', { keyboard: true });
    await page.goto(`${url}/ui/submissions/${id}`);
    await accessible(page, 'submission-rev2');
    // Frozen, the registry holds the publish's copy: the job is seen running, then let go.
    f.registry.pause();
    let jobId: string;
    try {
      const [response] = await Promise.all([
        page.waitForResponse((r) => /\/ui\/jobs\/job_[0-9a-f]{32}$/.test(r.url())),
        page.getByRole('button', { name: 'Approve' }).click(),
      ]);
      await page.waitForURL(/\/ui\/jobs\/job_[0-9a-f]{32}$/);
      jobId = new URL(page.url()).pathname.split('/').at(-1)!;
      // This page alone may run Countersign's own script and fetch its progress.
      assert.match(
        response.headers()['content-security-policy'] ?? '',
        /script-src 'self'; connect-src 'self'/
      );
      assert.equal(await page.title(), 'Approval and publish: running · Countersign');
      assert.match(await page.getByRole('status').innerText(), /^Running/);
      // The script asks for the progress while the job runs (no reload by hand).
      await page.waitForRequest((r) => r.url().endsWith(`/ui/jobs/${jobId}/progress`));
      await accessible(page, 'job-running');
      const job = await api(`/api/v1/jobs/${jobId}`, 'rev2');
      assert.equal(job.json.state, 'running');
      assert.equal(job.json.kind, 'review');
      // The approval is in; the publish waits for the registry.
      assert.equal((await submission()).state, 'approved');
      // What the script does with an answer carrying blobs (a one-layer copy between two
      // repositories of one registry reports too fast to catch): the words go into the status
      // region, the counts into the bar. Only this answer is the test's; the real ones follow.
      const progressUrl = `${url}/ui/jobs/${jobId}/progress`;
      const text = 'Running, copying the image into the public registry: blobs 2/5, 3.1 kB.';
      await page.route(progressUrl, (route) =>
        route.fulfill({ json: { state: 'running', text, blobs: { done: 2, total: 5 } } })
      );
      await page.getByRole('status').getByText(text).waitFor();
      const bar = page.getByRole('progressbar', { name: 'Blobs done' });
      assert.deepEqual(
        [await bar.getAttribute('value'), await bar.getAttribute('max')],
        ['2', '5']
      );
      await page.unroute(progressUrl);
      await runningJobSeenElsewhere(jobId);
    } finally {
      f.registry.resume();
    }
    // The page follows the job by itself and ends on the result.
    await page
      .getByRole('heading', { level: 1, name: 'Approval and publish: published' })
      .waitFor({ timeout: 60_000 });
    assert.equal(new URL(page.url()).pathname, `/ui/jobs/${jobId}`);
    await accessible(page, 'job-published');
    const result = await page.getByRole('status').innerText();
    assert.match(
      result,
      new RegExp(`Published ${PUBLIC}:1\\.0 into ${PUBLIC} \\(targets version \\d+\\)`)
    );
    assert.equal((await api(`/api/v1/jobs/${jobId}`, 'rev2')).json.state, 'succeeded');
    assert.equal((await submission()).state, 'published');
    await page.getByRole('link', { name: PUBLIC, exact: true }).click();
    await page.waitForURL(/\/ui\/trust\/repository\?gun=/);
    await accessible(page, 'trust-repository');
  });

  /**
   * While the publish runs: in another tab (the job page closed, or opened later) the submission
   * page says so at its top and in its Jobs section, and the queue marks the submission; so does
   * every other reader of the submission — rev1, who did not start the job, sees the same and
   * follows the mark to the running job — while another publisher sees neither, and the job's
   * address answers it 404.
   */
  async function runningJobSeenElsewhere(jobId: string): Promise<void> {
    const tab = track(await contexts.get('rev2')!.context.newPage());
    await runningJobShown(tab, jobId, 'rev2');
    await tab.close();
    const rev1 = contexts.get('rev1')!.page;
    await runningJobShown(rev1, jobId, 'rev1');
    await rev1.getByRole('link', { name: 'publishing…' }).click();
    await rev1.waitForURL(`${url}/ui/jobs/${jobId}`);
    assert.equal(await rev1.title(), 'Approval and publish: running · Countersign');
    await accessible(rev1, 'job-running-rev1');
    await rev1.goto(`${url}/ui/`);
    await accessible(rev1, 'queue-rev1-after-job');
    const beta = contexts.get('beta')!.page;
    await beta.goto(`${url}/ui/`);
    assert.equal(await beta.getByRole('link', { name: 'publishing…' }).count(), 0);
    await accessible(beta, 'queue-beta-job-not-theirs');
    const refused = await beta.goto(`${url}/ui/jobs/${jobId}`);
    assert.equal(refused?.status(), 404);
    assert.equal((await beta.locator('main').innerText()).includes('Approval and publish'), false);
    await accessible(beta, 'job-refused-publisher');
  }

  /**
   * The running publish as `viewer` sees it: at the top of the submission page and in its Jobs
   * section (started by rev2), then marked in the queue, which the page is left on.
   */
  async function runningJobShown(page: Page, jobId: string, viewer: string): Promise<void> {
    await page.goto(`${url}/ui/submissions/${id}`);
    assert.match(
      await page.locator('#jobs-running').innerText(),
      /^Running now: Approval and publish, started by rev2 \d{4}-/
    );
    assert.ok(await page.getByRole('heading', { level: 2, name: 'Jobs' }).isVisible());
    const jobs = page.getByRole('table', { name: /jobs you may see, newest first; 1 running/ });
    const row = jobs.getByRole('row', { name: /Approval and publish/ });
    assert.match(await row.innerText(), /^Approval and publish\s+Running\b[\s\S]*\srev2\s/);
    const link = row.getByRole('link', { name: 'Approval and publish' });
    assert.equal(await link.getAttribute('href'), `/ui/jobs/${jobId}`);
    await accessible(page, `submission-job-running-${viewer}`);
    await page.goto(`${url}/ui/`);
    const marker = page
      .getByRole('row', { name: new RegExp(`${STAGING}:1\\.0`) })
      .getByRole('link', { name: 'publishing…' });
    assert.equal(await marker.getAttribute('href'), `/ui/jobs/${jobId}`);
    await accessible(page, `queue-job-running-${viewer}`);
  }

  it('the trust browser shows the tag and its provenance; countersign verify agrees', async () => {
    const { page } = contexts.get('rev2')!;
    const row = page.getByRole('row', { name: /1\.0/ }).first();
    assert.ok((await row.innerText()).includes(digest));
    assert.ok((await row.innerText()).includes('targets'));
    await row.getByText('provenance').click();
    const provenance = await row.locator('pre').innerText();
    assert.equal((JSON.parse(provenance) as { submission: string }).submission, id);
    await page.getByRole('button', { name: 'Compare' }).click();
    assert.match(
      await page.getByRole('list', { name: 'Differences' }).innerText(),
      /\+ 1\.0 sha256:/
    );
    assert.ok(await page.getByRole('list', { name: 'Role expiries' }).isVisible());
    await accessible(page, 'trust-repository-diff');
    await page.goto(`${url}/ui/trust`);
    await accessible(page, 'trust');

    const verified = await f.verifyPinned(`${PUBLIC}:1.0`, await f.saveCaPem());
    assert.equal(verified.code, 0, verified.stderr + verified.stdout);
    assert.equal(verified.stdout, `${digest} ${manifest.length}\n`);
  });

  it('the audit page shows the chain verified to admins only', async () => {
    const page = await login('admin');
    await page.getByRole('link', { name: 'Audit' }).click();
    assert.match(await page.getByRole('status').innerText(), /Chain verified: \d+ entries/);
    assert.ok((await page.locator('main').innerText()).includes('submission.published'));
    await accessible(page, 'audit');
    const rev1 = contexts.get('rev1')!.page;
    const res = await rev1.goto(`${url}/ui/audit`);
    assert.equal(res?.status(), 403);
    await accessible(rev1, 'audit-refused-reviewer');
  });

  it('logout revokes the session: the old cookie no longer opens a page', async () => {
    const { context, page } = contexts.get('rev1')!;
    await page.goto(`${url}/ui/`);
    await accessible(page, 'queue-before-logout');
    const old = (await context.cookies()).find((c) => c.name === '__Host-countersign-ui')!;
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${url}/ui/login`);
    await accessible(page, 'login');
    const replay = await browser.newContext({ ignoreHTTPSErrors: true });
    await replay.addCookies([old]);
    const again = track(await replay.newPage());
    await again.goto(`${url}/ui/`);
    assert.equal(new URL(again.url()).pathname, '/ui/login');
    await accessible(again, 'login-after-replayed-cookie');
    await replay.close();
  });

  it('fetched nothing from any other host: pages, the stylesheet and forms all stay on Countersign', () => {
    const origins = new Set(fetched.map((u) => new URL(u).origin));
    origins.delete(new URL(url).origin);
    // Only the test's own cross-site page on 127.0.0.2 remains.
    assert.deepEqual(
      [...origins].map((o) => new URL(o).hostname),
      ['127.0.0.2']
    );
    assert.ok(fetched.some((u) => u.endsWith('/ui/assets/ui.css')));
    assert.ok(fetched.some((u) => u.endsWith('/ui/assets/job.js')));
  });

  it('wrote a screenshot of every page the browser showed, and ran axe on every Countersign page', () => {
    assert.ok(visits.length >= 25, `${visits.length} pages visited`);
    for (const v of visits) {
      assert.ok(v.shot && existsSync(v.shot), `a screenshot of ${v.url}`);
      if (new URL(v.url).origin === new URL(url).origin) assert.ok(v.axe, `axe on ${v.url}`);
    }
    // Each visit has its own file: nothing was overwritten.
    assert.equal(new Set(visits.map((v) => v.shot)).size, visits.length);
  });
});
