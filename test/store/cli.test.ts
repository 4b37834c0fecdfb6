/**
 * The store's CLI commands (`countersign submit`, `submission get|list`, `approve`, `reject`,
 * `publish`, `revoke`, `audit verify`) as separate processes against the store listening on a
 * local port, and the audit log's tamper evidence: a row changed or removed directly in the
 * SQLite file is named by `countersign audit verify --data-dir` and by the API.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { repoRoot } from '../helpers/paths.js';
import { run, type RunResult } from '../helpers/proc.js';
import {
  image,
  PASSWORD,
  publicTimestamp,
  StagingRepo,
  startStore,
  type StoreApp,
} from './fixture.js';

const GUN = 'staging.store.test/acme/cli';
const PUBLIC = 'store.test/acme/cli';

function countersign(
  args: string[],
  opts: { password?: string; input?: string } = {}
): Promise<RunResult> {
  return run(process.execPath, [join(repoRoot, 'bin/countersign.js'), ...args], {
    env: {
      PATH: process.env.PATH,
      ...(opts.password !== undefined ? { COUNTERSIGN_PASSWORD: opts.password } : {}),
    },
    ...(opts.input !== undefined ? { input: opts.input } : {}),
    timeoutMs: 60_000,
  });
}

describe('store CLI against a running store', () => {
  let s: StoreApp;
  let server: Server;
  let url: string;
  let id: string;

  before(async () => {
    s = await startStore({ autoPublish: false });
    const repo = await StagingRepo.create(s.app.storage, GUN);
    await repo.push({ releases: [image('1.0', 'c', 321), image('2.0', 'd', 123)] });
    server = createServer(s.app.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await s.close();
  });

  const as = (user: string, args: string[], extra: string[] = []) =>
    countersign([...args, '--server', url, '--user', user, ...extra], { password: PASSWORD });

  it('--help lists the store commands', async () => {
    const r = await countersign(['--help']);
    assert.equal(r.code, 0);
    for (const c of [
      'submit GUN:TAG',
      'submission get ID',
      'approve ID',
      'reject ID --note',
      'publish ID',
      'revoke PUBLIC_GUN:TAG --reason',
      'audit verify',
    ]) {
      assert.ok(r.stdout.includes(c), `--help mentions ${c}`);
    }
  });

  it('submit prints the submission, its checks and the target; exit 0 when verified', async () => {
    const r = await as('acme', ['submit', `${GUN}:1.0`]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const m = /^submission (\S+) verified$/m.exec(r.stdout);
    assert.ok(m, r.stdout);
    id = m[1]!;
    for (const name of [
      'root-chain',
      'signatures',
      'consistency',
      'target',
      'expiry',
      'rollback',
    ]) {
      assert.match(r.stdout, new RegExp(`^  passed ${name}: `, 'm'));
    }
    assert.match(r.stdout, /target sha256:[0-9a-f]{64} 321 bytes, signed in targets\/releases/);
  });

  it('submit exits 1 when verification fails, and names the failed check', async () => {
    const r = await as('acme', ['submit', `${GUN}:9.9`]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /verification_failed/);
    assert.match(r.stdout, /FAILED target: /);
  });

  it('the password from standard input; a wrong one is refused with the API’s message', async () => {
    const ok = await countersign(
      ['submission', 'get', id, '--server', url, '--user', 'rev1', '--password-stdin'],
      { input: `${PASSWORD}\n` }
    );
    assert.equal(ok.code, 0, ok.stderr);
    const bad = await countersign(['submission', 'get', id, '--server', url, '--user', 'rev1'], {
      password: 'wrong',
    });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unauthorized: Invalid credentials\. \(HTTP 401\)/);
    const none = await countersign(['submission', 'get', id, '--server', url, '--user', 'rev1']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /COUNTERSIGN_PASSWORD/);
  });

  it('submission list, for reviewers', async () => {
    const r = await as('rev1', ['submission', 'list', '--state', 'verified']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ID\s+STATE\s+GUN:TAG\s+SUBMITTER\s+CREATED$/m);
    assert.ok(r.stdout.includes(`${id}  verified`));
    const publisher = await as('acme', ['submission', 'list']);
    assert.equal(publisher.code, 1);
    assert.match(publisher.stderr, /forbidden: /);
  });

  it('reject needs a note; approve, then publish as an admin (a reviewer may not)', async () => {
    const usage = await as('rev1', ['reject', id]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--note/);
    const approved = await as('rev1', ['approve', id, '--note', 'fine']);
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(approved.stdout, /^submission \S+ approved$/m);
    assert.match(approved.stdout, /approved by rev1 at .*: fine/);
    const denied = await as('rev1', ['publish', id]);
    assert.equal(denied.code, 1);
    assert.match(
      denied.stderr,
      /forbidden: This needs the role admin; rev1 is a reviewer\. \(HTTP 403\)/
    );
    assert.equal(await publicTimestamp(s.app.storage, PUBLIC), null);
    const published = await as('admin', ['publish', id, '--json']);
    assert.equal(published.code, 0, published.stderr);
    assert.equal(JSON.parse(published.stdout).state, 'published');
  });

  it('revoke removes the tag, with the reason', async () => {
    const r = await as('admin', ['revoke', `${PUBLIC}:1.0`, '--reason', 'superseded']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^revoked store\.test\/acme\/cli:1\.0 \(sha256:[0-9a-f]{64}\); public targets version 2$/m
    );
    const again = await as('admin', ['revoke', `${PUBLIC}:1.0`, '--reason', 'twice']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /not_found: /);
  });

  it('audit verify over the API', async () => {
    const r = await as('admin', ['audit', 'verify']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^audit log intact: \d+ entries/);
  });

  it('after too many failed logins the CLI shows the 429 and when to retry', async () => {
    try {
      for (let i = 0; i < 10; i++) {
        const r = await fetch(`${url}/api/v1/whoami`, {
          headers: {
            Authorization: `Basic ${Buffer.from(`mallory:guess ${i}`).toString('base64')}`,
          },
        });
        assert.equal(r.status, 401);
      }
      const limited = await countersign(
        ['submission', 'get', id, '--server', url, '--user', 'mallory'],
        { password: 'one more guess' }
      );
      assert.equal(limited.code, 1);
      assert.match(limited.stderr, /rate_limited: .* \(HTTP 429; retry after \d+ s\)/);
    } finally {
      await s.app.storage.loginAttempts.clearAddress('127.0.0.1');
    }
  });
});

describe('audit log tampering', () => {
  let s: StoreApp;
  before(async () => {
    s = await startStore();
    const repo = await StagingRepo.create(s.app.storage, 'staging.store.test/acme/audit');
    await repo.push({ releases: [image('1.0', 'u')] });
    const created = await s.http
      .post('/api/v1/submissions')
      .set('Authorization', s.auth('acme'))
      .send({ gun: 'staging.store.test/acme/audit', tag: '1.0' })
      .expect(201);
    await s.http
      .post(`/api/v1/submissions/${created.body.id}/reviews`)
      .set('Authorization', s.auth('rev1'))
      .send({ decision: 'approve' })
      .expect(200);
  });
  after(() => s.close());

  const verifyCli = () => countersign(['audit', 'verify', '--data-dir', s.dataDir]);
  const db = () => new Database(join(s.dataDir, 'countersign.db'));

  it('an untouched log verifies, offline and through the API', async () => {
    const r = await verifyCli();
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const n = Number(/intact: (\d+) entries/.exec(r.stdout)?.[1]);
    assert.ok(n >= 10, r.stdout);
    const api = await s.http
      .get('/api/v1/audit/verify')
      .set('Authorization', s.auth('admin'))
      .expect(200);
    assert.deepEqual(api.body, { ok: true, entries: n, firstBroken: null });
    // A mistyped data dir is an error, not an empty (and so "intact") log.
    const wrong = await countersign(['audit', 'verify', '--data-dir', join(s.dir, 'no-such-dir')]);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /there is no database at/);
  });

  it('one row changed in the database file is named by the verify command and the API', async () => {
    const d = db();
    let target: { id: number; details: string };
    try {
      target = d
        .prepare("SELECT id, details FROM audit_log WHERE action = 'submission.approved'")
        .get() as { id: number; details: string };
      const details = JSON.parse(target.details) as { reviewers: string[] };
      details.reviewers = ['somebody-else'];
      d.prepare('UPDATE audit_log SET details = ? WHERE id = ?').run(
        JSON.stringify(details),
        target.id
      );
    } finally {
      d.close();
    }
    const r = await verifyCli();
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      new RegExp(
        `^audit log BROKEN at entry ${target.id}: entry ${target.id} was changed after it was written`,
        'm'
      )
    );
    const api = await s.http
      .get('/api/v1/audit/verify')
      .set('Authorization', s.auth('admin'))
      .expect(200);
    assert.equal(api.body.ok, false);
    assert.equal(api.body.firstBroken, target.id);

    // Put back, the chain holds again; a removed row breaks it at the entry that follows.
    const d2 = db();
    try {
      d2.prepare('UPDATE audit_log SET details = ? WHERE id = ?').run(target.details, target.id);
    } finally {
      d2.close();
    }
    assert.equal((await verifyCli()).code, 0);
    const d3 = db();
    try {
      d3.prepare('DELETE FROM audit_log WHERE id = 3').run();
    } finally {
      d3.close();
    }
    const removed = await verifyCli();
    assert.equal(removed.code, 1);
    assert.match(removed.stdout, /BROKEN at entry 4: entry 4 follows entry 2: entry 3 is missing/);
  });
});

describe('store CLI: reports and waivers', () => {
  let s: StoreApp;
  let server: Server;
  let url: string;
  const gun = 'staging.store.test/acme/policy';

  before(async () => {
    s = await startStore({ policy: { vulnerabilityBudget: { critical: 0, high: 5 } } });
    const repo = await StagingRepo.create(s.app.storage, gun);
    await repo.push({ releases: [image('1.0', 'r', 111), image('2.0', 's', 222)] });
    server = createServer(s.app.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await s.close();
  });

  const as = (user: string, args: string[]) =>
    countersign([...args, '--server', url, '--user', user, '--json'], { password: PASSWORD });
  const report = (name: string) => join(repoRoot, 'fixtures/registry', name);

  it('report attaches a scanner report: over budget keeps approval blocked, within budget unblocks it', async () => {
    const sub = JSON.parse((await as('acme', ['submit', `${gun}:1.0`])).stdout) as { id: string };
    const blocked = await as('rev1', ['approve', sub.id]);
    assert.notEqual(blocked.code, 0);
    assert.match(blocked.stdout + blocked.stderr, /policy_failed|policy check/);
    const over = await as('acme', ['report', sub.id, report('trivy-over-budget.json')]);
    assert.equal(over.code, 0, over.stderr);
    const vulnOver = (
      JSON.parse(over.stdout) as { policy: { checks: { name: string; passed: boolean }[] } }
    ).policy.checks.find((c) => c.name === 'vulnerabilities');
    assert.equal(vulnOver?.passed, false);
    const within = await as('acme', ['report', sub.id, report('trivy-within-budget.json')]);
    const vulnOk = (
      JSON.parse(within.stdout) as { policy: { checks: { name: string; passed: boolean }[] } }
    ).policy.checks.find((c) => c.name === 'vulnerabilities');
    assert.equal(vulnOk?.passed, true);
    const approved = await as('rev1', ['approve', sub.id]);
    assert.equal(approved.code, 0, approved.stderr);
    assert.equal((JSON.parse(approved.stdout) as { state: string }).state, 'published');
  });

  it('waive lets a reviewer waive a failing check with a reason (and refuses a missing reason)', async () => {
    const sub = JSON.parse((await as('acme', ['submit', `${gun}:2.0`])).stdout) as { id: string };
    const noReason = await as('rev1', ['waive', sub.id, '--check', 'vulnerabilities']);
    assert.equal(noReason.code, 2);
    const byOwner = await as('acme', [
      'waive',
      sub.id,
      '--check',
      'vulnerabilities',
      '--reason',
      'mine',
    ]);
    assert.notEqual(byOwner.code, 0);
    const waived = await as('rev1', [
      'waive',
      sub.id,
      '--check',
      'vulnerabilities',
      '--reason',
      'scanner outage; reviewed by hand',
    ]);
    assert.equal(waived.code, 0, waived.stderr);
    const approved = await as('rev2', ['approve', sub.id]);
    assert.equal(approved.code, 0, approved.stderr);
    assert.equal((JSON.parse(approved.stdout) as { state: string }).state, 'published');
  });
});
