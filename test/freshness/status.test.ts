/**
 * Expiry status on the store API and in /metrics: per-repository status (GUN verbatim in the
 * path), the cross-repository expiring list, the seconds-until-expiry gauges, and who may ask.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openAccess } from '../../src/auth/access.js';
import { parseTimestamp } from '../../src/tuf/metadata.js';
import { publishRepo, tuf } from '../helpers/app.js';
import { basic, freshApp, sample, type FreshApp } from './fixture.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';

const DAY = 86_400_000;

interface RoleJson {
  role: string;
  version: number;
  expires: string;
  secondsLeft: number;
  keyHolder: string;
  state: string;
  resignAt?: string;
  certificatesExpire?: string;
}

describe('status routes and gauges (auth off)', () => {
  let t: FreshApp;
  const gun = 'example.com/status/app';
  const other = 'example.com/status/other';
  before(async () => {
    t = await freshApp();
    await publishRepo(t, gun);
    await publishRepo(t, other);
  });
  after(() => t.close());

  it('GET /api/v1/repositories/{gun}/status lists every role with version, expiry, seconds left, key holder and state', async () => {
    const now = t.clock.now().getTime();
    const res = await t.http.get(`/api/v1/repositories/${gun}/status`).expect(200);
    assert.equal(res.body.gun, gun);
    const roles = res.body.roles as RoleJson[];
    assert.deepEqual(
      roles.map((r) => r.role),
      ['timestamp', 'snapshot', 'root', 'targets']
    );
    const byRole = Object.fromEntries(roles.map((r) => [r.role, r]));
    const ts = parseTimestamp((await t.app.storage.meta.getLatest(gun, 'timestamp'))!.data);
    assert.equal(byRole.timestamp!.version, ts.signed.version);
    assert.equal(byRole.timestamp!.expires, ts.signedJSON.expires);
    assert.equal(
      byRole.timestamp!.secondsLeft,
      Math.floor((ts.signed.expires.getTime() - now) / 1000)
    );
    assert.equal(
      byRole.timestamp!.resignAt,
      new Date(ts.signed.expires.getTime() - 7 * DAY).toISOString()
    );
    assert.deepEqual(
      roles.map((r) => [r.role, r.keyHolder, r.state]),
      [
        ['timestamp', 'server', 'valid'],
        ['snapshot', 'server', 'valid'],
        ['root', 'client', 'valid'],
        ['targets', 'client', 'valid'],
      ]
    );
    // The test root certificate is valid for 3650 days from when it was made.
    assert.ok(byRole.root!.certificatesExpire, 'the root certificate expiry is shown');
    assert.ok(
      Math.abs(Date.parse(byRole.root!.certificatesExpire) - (Date.now() + 3650 * DAY)) < 2 * DAY,
      byRole.root!.certificatesExpire
    );
  });

  it('answers 404 in the store API shape for a repository without trust data', async () => {
    const res = await t.http.get('/api/v1/repositories/example.com/status/none/status').expect(404);
    assert.equal(res.body.error.code, 'not_found');
  });

  it('shows an expired timestamp as expired (status never re-signs)', async () => {
    const ts = parseTimestamp((await t.app.storage.meta.getLatest(other, 'timestamp'))!.data);
    const saved = t.clock.now();
    t.clock.set(ts.signed.expires.getTime() + 5000);
    try {
      const res = await t.http.get(`/api/v1/repositories/${other}/status`).expect(200);
      const tsRole = (res.body.roles as RoleJson[]).find((r) => r.role === 'timestamp')!;
      assert.equal(tsRole.state, 'expired');
      assert.equal(tsRole.secondsLeft, -5);
      assert.equal(tsRole.version, ts.signed.version);
      assert.equal(
        (await t.app.storage.meta.getLatest(other, 'timestamp'))!.version,
        ts.signed.version
      );
    } finally {
      t.clock.set(saved);
    }
  });

  it('GET /api/v1/expiring?within= lists the roles of every repository expiring within that duration, soonest first', async () => {
    let res = await t.http.get('/api/v1/expiring?within=15d').expect(200);
    assert.equal(res.body.within, '15d');
    let roles = res.body.roles as (RoleJson & { gun: string })[];
    assert.deepEqual(roles.map((r) => [r.gun, r.role]).sort(), [
      [gun, 'timestamp'],
      [other, 'timestamp'],
    ]);
    assert.ok(roles[0]!.secondsLeft <= roles[1]!.secondsLeft);

    res = await t.http.get('/api/v1/expiring?within=13d').expect(200);
    assert.deepEqual(res.body.roles, []);

    res = await t.http.get('/api/v1/expiring?within=1100d&keyHolder=client').expect(200);
    roles = res.body.roles;
    assert.deepEqual([...new Set(roles.map((r) => r.role))].sort(), ['targets']);
    assert.ok(roles.every((r) => r.keyHolder === 'client'));

    res = await t.http.get('/api/v1/expiring?within=soon').expect(400);
    assert.equal(res.body.error.code, 'bad_request');
    res = await t.http.get('/api/v1/expiring?within=1d&keyHolder=nobody').expect(400);
    assert.equal(res.body.error.code, 'bad_request');
  });

  it('names no repository in /metrics: a drop-in notary-server names none either', async () => {
    await t.app.freshness.scheduler.tick();
    const text = (await t.http.get('/metrics').expect(200)).text;
    assert.ok(!text.includes('gun="'), 'a GUN is named in /metrics');
    assert.equal(sample(text, 'countersign_metadata_unlisted_roles', { state: 'expired' }), 0);
    assert.equal(sample(text, 'countersign_scheduler_leader'), 1);
  });
});

describe('expiry gauges of public repositories', () => {
  let t: FreshApp;
  const gun = 'store.test/status/app';
  const other = 'store.test/status/other';
  before(async () => {
    // A store's public zone with anonymous pull: the repositories /metrics may name. openAccess
    // for the Notary API only, so the test can write them directly.
    t = await freshApp(
      {
        countersign: {
          store: { zones: [{ staging: 'staging.store.test/', public: 'store.test/' }] },
        },
      },
      { access: openAccess }
    );
    await publishRepo(t, gun);
    await publishRepo(t, other);
  });
  after(() => t.close());

  it('exports seconds until expiry per repository and role, and drops a deleted repository', async () => {
    await t.app.freshness.scheduler.tick();
    const now = t.clock.now().getTime();
    let text = (await t.http.get('/metrics').expect(200)).text;
    const ts = parseTimestamp((await t.app.storage.meta.getLatest(gun, 'timestamp'))!.data);
    assert.equal(
      sample(text, 'countersign_metadata_seconds_until_expiry', { gun, role: 'timestamp' }),
      Math.floor((ts.signed.expires.getTime() - now) / 1000)
    );
    for (const role of ['root', 'targets', 'snapshot']) {
      const v = sample(text, 'countersign_metadata_seconds_until_expiry', { gun, role });
      assert.ok(v !== undefined && v > 300 * 86_400, `${role}: ${v}`);
    }
    assert.equal(sample(text, 'countersign_scheduler_leader'), 1);

    // The value follows the clock between scans.
    t.clock.advance(60_000);
    text = (await t.http.get('/metrics').expect(200)).text;
    assert.equal(
      sample(text, 'countersign_metadata_seconds_until_expiry', { gun, role: 'timestamp' }),
      Math.floor((ts.signed.expires.getTime() - now) / 1000) - 60
    );

    await t.http.delete(tuf(other)).expect(200);
    await t.app.freshness.scheduler.tick();
    text = (await t.http.get('/metrics').expect(200)).text;
    assert.equal(
      sample(text, 'countersign_metadata_seconds_until_expiry', { gun: other, role: 'timestamp' }),
      undefined
    );
    assert.notEqual(
      sample(text, 'countersign_metadata_seconds_until_expiry', { gun, role: 'timestamp' }),
      undefined
    );
  });
});

describe('status routes with accounts (built-in auth on)', () => {
  let t: FreshApp;
  const gun = 'acme.example/web';
  before(async () => {
    // openAccess for the Notary API only, so the test can publish; the store API keeps auth on.
    t = await freshApp({ countersign: { auth: { builtin: true } } }, { access: openAccess });
    await publishRepo(t, gun);
    await t.addAccount('admin1', 'admin', 'pw-admin-password');
    await t.addAccount('rev1', 'reviewer', 'pw-reviewer-password');
    await t.addAccount('acme', 'publisher', 'pw-acme-password', ['acme.example/']);
    await t.addAccount('other', 'publisher', 'pw-other-password', ['other.example/']);
  });
  after(() => t.close());

  const status = `/api/v1/repositories/${gun}/status`;

  it('asks for credentials', async () => {
    const res = await t.http.get(status).expect(401);
    assert.equal(res.body.error.code, 'unauthorized');
    await t.http.get('/api/v1/expiring?within=30d').expect(401);
  });

  it('lets admins and reviewers see everything', async () => {
    for (const [u, p] of [
      ['admin1', 'pw-admin-password'],
      ['rev1', 'pw-reviewer-password'],
    ] as const) {
      const res = await t.http.get(status).set('Authorization', basic(u, p)).expect(200);
      assert.equal(res.body.gun, gun);
      await t.http.get('/api/v1/expiring?within=30d').set('Authorization', basic(u, p)).expect(200);
    }
  });

  it('lets a publisher see its own repositories only, and not the list of all', async () => {
    await t.http.get(status).set('Authorization', basic('acme', 'pw-acme-password')).expect(200);
    const res = await t.http
      .get(status)
      .set('Authorization', basic('other', 'pw-other-password'))
      .expect(403);
    assert.equal(res.body.error.code, 'forbidden');
    await t.http
      .get('/api/v1/expiring?within=30d')
      .set('Authorization', basic('acme', 'pw-acme-password'))
      .expect(403);
  });
});

describe('anonymous /metrics names no repository an anonymous client cannot read', () => {
  const staging = 'staging.store.test/acme/app';
  const published = 'store.test/acme/app';
  const zones = [{ staging: 'staging.store.test/', public: 'store.test/' }];

  async function scrape(anonymousPull: boolean): Promise<string> {
    // openAccess for the Notary API only, so the test can write both repositories directly.
    const t = await freshApp(
      { countersign: { store: { zones, anonymousPull } } },
      { access: openAccess }
    );
    try {
      await publishRepo(t, staging);
      await publishRepo(t, published);
      await t.app.freshness.scheduler.tick();
      return (await t.http.get('/metrics').expect(200)).text;
    } finally {
      await t.close();
    }
  }

  it('per-GUN series for public repositories only; the rest counted without names', async () => {
    const text = await scrape(true);
    assert.ok(!text.includes('staging.store.test'), 'a staging GUN is named in /metrics');
    for (const role of ['root', 'targets', 'snapshot', 'timestamp'])
      assert.ok(
        (sample(text, 'countersign_metadata_seconds_until_expiry', { gun: published, role }) ??
          -1) > 0,
        role
      );
    assert.equal(sample(text, 'countersign_metadata_unlisted_roles', { state: 'expired' }), 0);
    assert.equal(sample(text, 'countersign_metadata_unlisted_roles', { state: 'expiring' }), 0);
  });

  it('without anonymous pull even public repositories go unnamed', async () => {
    const text = await scrape(false);
    assert.ok(!text.includes('gun="'), 'a GUN is named in /metrics');
  });

  it('countersign_build_info carries the package and Node versions', async () => {
    const text = await scrape(true);
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    assert.equal(
      sample(text, 'countersign_build_info', { version: pkg.version, node: process.version }),
      1
    );
  });
});
