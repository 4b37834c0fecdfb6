/**
 * Regressions from issue 20's independent run, in process: a verification that throws never
 * leaves a submission `submitted` (it ends `verification_failed` with the reason, and the create
 * answers 201, not 500); staging targets whose `custom` nests thousands of levels (stored before
 * the upload path bounded nesting) fail verification cleanly; deeply nested store API bodies and
 * scanner reports get 400; and with `autoPublish`, a submission approved by a run that stopped
 * before its publish is published at the next start.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalString } from '../../src/canonical/encode.js';
import { sha256Hex } from '../../src/crypto/hash.js';
import { MAX_JSON_DEPTH } from '../../src/canonical/parse.js';
import { MAX_CUSTOM_DEPTH } from '../../src/store/verification.js';
import {
  expiresIn,
  sign,
  snapshotSignedFor,
  timestampSignedFor,
  type TestKey,
} from '../helpers/tuf-builder.js';
import { image, publicTimestamp, StagingRepo, startStore, type StoreApp } from './fixture.js';

const nestedArray = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

/**
 * A `targets/releases` file whose one target's custom is `depth` nested arrays, correctly signed:
 * the canonical text is built around a placeholder (the encoder itself refuses such depth).
 */
function deepCustomReleases(key: TestKey, depth: number, version: number): Buffer {
  const target = image('1.0', 'd');
  const signed = {
    _type: 'Targets',
    delegations: { keys: {}, roles: [] },
    expires: expiresIn(1095),
    targets: {
      '1.0': {
        custom: '__DEEP__',
        hashes: { sha256: Buffer.from(sha256Hex(target.bytes), 'hex').toString('base64') },
        length: target.bytes.length,
      },
    },
    version,
  };
  const canonical = canonicalString(signed).replace('"__DEEP__"', nestedArray(depth));
  const s = key.signing.sign(Buffer.from(canonical));
  const sig = { keyid: key.publicKey.id, method: s.method, sig: s.sig.toString('base64') };
  return Buffer.from(`{"signatures":[${JSON.stringify(sig)}],"signed":${canonical}}`);
}

describe('store: no stranded submission, no 500 on deep input', () => {
  let s: StoreApp;
  let failVerification = false;
  before(async () => {
    s = await startStore(
      {},
      {
        appOptions: {
          storeHooks: {
            verificationChecks: [
              () => {
                if (failVerification) throw new RangeError('Maximum call stack size exceeded');
                return Promise.resolve([]);
              },
            ],
          },
        },
      }
    );
  });
  after(() => s.close());

  const submit = (gun: string) =>
    s.http
      .post('/api/v1/submissions')
      .set('Authorization', s.auth('acme'))
      .send({ gun, tag: '1.0' });

  it('a verification that throws ends verification_failed with the reason, audited', async () => {
    const gun = 'staging.store.test/acme/throws';
    const repo = await StagingRepo.create(s.app.storage, gun);
    await repo.push({ releases: [image('1.0', 'a')] });
    failVerification = true;
    const res = await submit(gun);
    failVerification = false;
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.state, 'verification_failed');
    const check = res.body.verification.checks.find(
      (c: { name: string }) => c.name === 'verification'
    );
    assert.equal(check?.passed, false);
    assert.match(check.detail, /could not complete/);
    const stored = await s.app.storage.submissions.get(res.body.id);
    assert.equal(stored?.state, 'verification_failed');
    const audit = await s.http.get('/api/v1/audit').set('Authorization', s.auth('admin'));
    const actions = audit.body.entries
      .filter((e: { subject?: string; details?: { submission?: string } }) =>
        JSON.stringify(e).includes(res.body.id)
      )
      .map((e: { action: string }) => e.action);
    assert.deepEqual(actions, ['submission.created', 'submission.verification_failed']);
    // The same submission verifies once the cause is gone.
    const again = await s.http
      .post(`/api/v1/submissions/${res.body.id}/verify`)
      .set('Authorization', s.auth('acme'));
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.state, 'verified');
  });

  it('staging metadata whose custom nests 4,500 levels fails verification, with no 500', async () => {
    const gun = 'staging.store.test/acme/deep';
    const repo = await StagingRepo.create(s.app.storage, gun);
    await repo.push({ releases: [image('1.0', 'd')] });
    // Replace the stored targets/releases with the deep one, as an older server would have stored it.
    await writeReleases(s, repo, deepCustomReleases(repo.releasesKey, 4_500, 2));
    const res = await submit(gun);
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.state, 'verification_failed');
    assert.match(JSON.stringify(res.body.verification.checks), /deeper than 1000/);
  });

  it('a custom too deep for the public target fails its own check; one that fits verifies', async () => {
    const gun = 'staging.store.test/acme/custom';
    const repo = await StagingRepo.create(s.app.storage, gun);
    await repo.push({ releases: [image('1.0', 'd')] });
    await writeReleases(s, repo, deepCustomReleases(repo.releasesKey, MAX_CUSTOM_DEPTH + 1, 2));
    const res = await submit(gun);
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.state, 'verification_failed');
    const custom = res.body.verification.checks.find((c: { name: string }) => c.name === 'custom');
    assert.equal(custom?.passed, false);
    await writeReleases(s, repo, deepCustomReleases(repo.releasesKey, MAX_CUSTOM_DEPTH, 3));
    const fits = await submit(gun);
    assert.equal(fits.body.state, 'verified', JSON.stringify(fits.body.verification));
  });

  it('refuses deeply nested request bodies and scanner reports with 400, fast', async () => {
    const started = performance.now();
    const body = await s.http
      .post('/api/v1/submissions')
      .set('Authorization', s.auth('acme'))
      .set('Content-Type', 'application/json')
      .send(nestedArray(30_000));
    assert.equal(body.status, 400, body.text);
    assert.equal(body.body.error.code, 'bad_request');
    assert.match(body.body.error.message, new RegExp(`deeper than ${MAX_JSON_DEPTH}`));
    const bodyMs = performance.now() - started;
    const gun = 'staging.store.test/acme/report';
    const repo = await StagingRepo.create(s.app.storage, gun);
    await repo.push({ releases: [image('1.0', 'p')] });
    const id = (await submit(gun)).body.id as string;
    const reportStarted = performance.now();
    const report = await s.http
      .post(`/api/v1/submissions/${id}/reports`)
      .set('Authorization', s.auth('admin'))
      .set('Content-Type', 'application/json')
      .send(`{"SchemaVersion":2,"Results":${nestedArray(1_000_000)}}`);
    assert.equal(report.status, 400, report.text);
    assert.match(report.body.error.message, /not JSON/);
    // Refused at the first level over the bound: milliseconds; the margin absorbs a busy machine.
    const reportMs = performance.now() - reportStarted;
    assert.ok(bodyMs < 2_000 && reportMs < 2_000, `${bodyMs} ms, ${reportMs} ms`);
  });
});

async function writeReleases(s: StoreApp, repo: StagingRepo, releases: Buffer): Promise<void> {
  // A new snapshot and timestamp over the replaced file, signed by the repository's keys.
  const meta = s.app.storage.meta;
  const files = new Map<string, Buffer>();
  for (const role of ['root', 'targets'])
    files.set(role, (await meta.getLatest(repo.gun, role))!.data);
  files.set('targets/releases', releases);
  const snapshot = sign(snapshotSignedFor(files, ++repo.versions.snapshot), [repo.snapshotKey]);
  const timestamp = sign(timestampSignedFor(snapshot, ++repo.versions.timestamp), [
    repo.timestampKey,
  ]);
  repo.versions.releases++;
  const version = (b: Buffer) =>
    (JSON.parse(b.toString('latin1')) as { signed: { version: number } }).signed.version;
  await s.app.storage.transaction(
    (tx) =>
      tx.meta.updateMany(
        repo.gun,
        [
          {
            role: 'targets/releases',
            version: version(releases),
            data: releases,
            sha256: sha256Hex(releases),
          },
          {
            role: 'snapshot',
            version: repo.versions.snapshot,
            data: snapshot,
            sha256: sha256Hex(snapshot),
          },
          {
            role: 'timestamp',
            version: repo.versions.timestamp,
            data: timestamp,
            sha256: sha256Hex(timestamp),
          },
        ],
        new Date()
      ),
    { lockGun: repo.gun }
  );
}

describe('store: autoPublish recovers an approval whose publish never ran', () => {
  const dir = mkdtempSync(join(tmpdir(), 'countersign-recovery-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('publishes at the next start what was approved and left unpublished', async () => {
    const gun = 'staging.store.test/acme/recover';
    const publicGun = 'store.test/acme/recover';
    // First run: the approval commits and the process stops before publishing. With autoPublish
    // off the database is left exactly as a crash between the two transactions leaves it.
    const first = await startStore({ autoPublish: false }, { dir });
    const repo = await StagingRepo.create(first.app.storage, gun);
    await repo.push({ releases: [image('1.0', 'r')] });
    const created = await first.http
      .post('/api/v1/submissions')
      .set('Authorization', first.auth('acme'))
      .send({ gun, tag: '1.0' })
      .expect(201);
    const id = created.body.id as string;
    const review = await first.http
      .post(`/api/v1/submissions/${id}/reviews`)
      .set('Authorization', first.auth('rev1'))
      .send({ decision: 'approve', note: 'ok' })
      .expect(200);
    assert.equal(review.body.state, 'approved');
    assert.equal(await publicTimestamp(first.app.storage, publicGun), null);
    await first.close();

    const second = await startStore({ autoPublish: true }, { dir });
    try {
      await second.app.store!.recovery;
      const sub = await second.http
        .get(`/api/v1/submissions/${id}`)
        .set('Authorization', second.auth('admin'))
        .expect(200);
      assert.equal(sub.body.state, 'published');
      assert.notEqual(await publicTimestamp(second.app.storage, publicGun), null);
      const targets = await second.http.get(`/v2/${publicGun}/_trust/tuf/targets.json`).expect(200);
      assert.match(targets.text, /"1\.0":/);
      const audit = await second.http
        .get('/api/v1/audit/verify')
        .set('Authorization', second.auth('admin'))
        .expect(200);
      assert.equal(audit.body.ok, true, JSON.stringify(audit.body));
    } finally {
      await second.close();
    }
  });
});

describe('token scopes and GUN names that are tricks', () => {
  let s: StoreApp;
  before(async () => {
    s = await startStore();
  });
  after(() => s.close());

  const accessFor = async (scope: string) => {
    const res = await s.http
      .get('/auth/token')
      .query({ scope })
      .set('Authorization', s.auth('acme'));
    assert.equal(res.status, 200, res.text);
    const payload = JSON.parse(
      Buffer.from((res.body.token as string).split('.')[1]!, 'base64url').toString('utf8')
    ) as { access: { name: string; actions: string[] }[] };
    return payload.access;
  };

  it('grants nothing for scopes naming "..", "%2e%2e", "//" or a bidirectional control', async () => {
    assert.deepEqual(await accessFor('repository:staging.store.test/acme/web:push,pull'), [
      { type: 'repository', name: 'staging.store.test/acme/web', actions: ['push', 'pull'] },
    ]);
    for (const name of [
      'staging.store.test/acme/../other/web',
      'staging.store.test/acme/%2e%2e/other/web',
      'staging.store.test/acme//web',
      'staging.store.test/acme/\u202ebew',
    ])
      assert.deepEqual(await accessFor(`repository:${name}:push,pull`), [], name);
  });

  it('refuses writes to a GUN with U+202E (400 INVALID_GUN), as with control characters', async () => {
    const gun = encodeURIComponent('staging.store.test/acme/\u202ebew').replace(/%2F/g, '/');
    const res = await s.http
      .post(`/v2/${gun}/_trust/tuf/`)
      .set('Authorization', s.auth('admin'))
      .set('Content-Type', 'multipart/form-data; boundary=b')
      .send('--b--\r\n');
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.errors[0].code, 'INVALID_GUN');
  });
});
