/**
 * The store's trust chain end to end with unchanged clients (docs/design.md steps 1–5), Countersign
 * running as operators run it (`countersign serve` with TLS, accounts from `countersign user add`):
 *
 *   1. a publisher, with the notary CLI and NOTARY_AUTH, initialises staging.store.test/acme/web,
 *      lets the server hold the snapshot key, delegates targets/releases to its own openssl-made
 *      certificate and signs tag 1.0 into it;
 *   2. `countersign submit` verifies it: every check passed;
 *   3. a reviewer approves with `countersign approve`; the store publishes;
 *   4. a fresh notary CLI pinned to the store CA (trust_pinning.ca, the PEM from
 *      GET /api/v1/store/ca.pem) lists 1.0 in store.test/acme/web with the producer's digest and
 *      size; targets.json carries one signature, the store's, and no delegations; `docker trust
 *      inspect` shows the tag signed by the repository admin only;
 *   5. refusals with real clients leave public data untouched: another publisher's submission for
 *      acme's repository, an admin's notary CLI writing or deleting the public GUN;
 *   6. `countersign revoke` makes `notary list` stop showing the tag; the audit chain verifies.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Cleanup } from '../helpers/cleanup.js';
import { countersignCli } from '../helpers/countersign.js';
import { DockerClient } from '../helpers/docker-cli.js';
import { sha256Hex, tufPath } from '../helpers/notary-http.js';
import type { NotaryClient } from '../helpers/notary-cli.js';
import { startStoreFixture, type StoreFixture } from '../helpers/store-fixture.js';
import { makeCa, type SigningCertFiles } from '../helpers/tls.js';

const STAGING = 'staging.store.test/acme/web';
const PUBLIC = 'store.test/acme/web';
const OTHER = {
  other: {
    role: 'publisher',
    namespace: 'staging.store.test/other/',
    password: 'other publisher password',
  },
} as const;

describe('store chain with the real notary and docker CLIs', () => {
  const cleanup = new Cleanup();
  let f: StoreFixture<'other'>;
  let acme: NotaryClient;
  let releases: SigningCertFiles;
  let payload: Buffer;
  let submissionId: string;
  let caPemFile: string;

  const publicFile = async (file: string) => {
    const r = await f.https(tufPath(PUBLIC, file));
    assert.equal(r.status, 200, `${file}: ${r.body.toString()}`);
    return r.body;
  };

  before(async () => {
    f = await startStoreFixture(cleanup, { name: 'store-chain', users: OTHER });
    acme = await f.notary('acme');
    payload = randomBytes(4321);
  });
  after(() => cleanup.run());

  it('the publisher signs 1.0 into targets/releases of its staging repository with the notary CLI', async () => {
    releases = await f.signIntoStaging(STAGING, '1.0', payload, { file: 'image.bin' });
    assert.deepEqual(await acme.list(STAGING), [
      { name: '1.0', digestHex: sha256Hex(payload), size: 4321, role: 'targets/releases' },
    ]);
  });

  it('countersign submit: the submission verifies with every check passed', async () => {
    const sub = await f.submit(`${STAGING}:1.0`);
    submissionId = sub.id;
    assert.equal(sub.state, 'verified');
    assert.deepEqual(
      sub.verification.checks.map((c: { name: string; passed: boolean }) => [c.name, c.passed]),
      ['root-chain', 'signatures', 'consistency', 'target', 'expiry', 'rollback'].map((n) => [
        n,
        true,
      ])
    );
    assert.equal(sub.target!.digest, `sha256:${sha256Hex(payload)}`);
    assert.equal(sub.target!.length, 4321);
    assert.equal(sub.target!.role, 'targets/releases');
    assert.deepEqual(sub.staging!.producerKeyIds, [releases.keyId]);
  });

  it('another publisher cannot submit acme’s repository (403), nothing recorded', async () => {
    const r = await f.store('other', ['submit', `${STAGING}:1.0`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /forbidden: other does not own staging\.store\.test\/acme\/web/);
    const list = await f.store('admin', ['submission', 'list', '--gun', STAGING, '--json']);
    assert.deepEqual(
      JSON.parse(list.stdout).submissions.map((s: { id: string }) => s.id),
      [submissionId]
    );
    const ts = await f.https(tufPath(PUBLIC, 'timestamp.json'));
    assert.equal(ts.status, 404, 'nothing is public before the approval');
  });

  it('a reviewer approves with countersign approve; the store publishes', async () => {
    const r = await f.store('rev1', ['approve', submissionId, '--note', 'checked by hand']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, new RegExp(`^submission ${submissionId} published$`, 'm'));
  });

  it('a fresh notary CLI pinned to the store CA lists 1.0 with the producer’s digest and size', async () => {
    caPemFile = await f.saveCaPem();
    const consumer = await f.pinnedNotary(caPemFile);
    assert.deepEqual(await consumer.list(PUBLIC), [
      { name: '1.0', digestHex: sha256Hex(payload), size: 4321, role: 'targets' },
    ]);
    assert.deepEqual(await consumer.lookup(PUBLIC, '1.0'), {
      name: '1.0',
      digestHex: sha256Hex(payload),
      size: 4321,
    });

    // Countersign's own consumer check, pinned the same way.
    const verified = await f.verifyPinned(`${PUBLIC}:1.0`, caPemFile);
    assert.equal(verified.code, 0, verified.stderr + verified.stdout);
    assert.equal(verified.stdout, `sha256:${sha256Hex(payload)} 4321\n`);

    // Pinned to another CA, the same client refuses the repository.
    const otherCa = await makeCa(cleanup.tempDir('other-ca-'), 'Not The Store CA');
    const mispinned = await f.pinnedNotary(otherCa.certFile);
    const refused = await mispinned.run(['list', PUBLIC]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stdout, /unable to match any certificates to trust_pinning config/);
  });

  it('the public targets.json carries exactly one signature, by the store’s targets key, and no delegations', async () => {
    const root = JSON.parse((await publicFile('root.json')).toString());
    const targets = JSON.parse((await publicFile('targets.json')).toString());
    assert.equal(targets.signatures.length, 1);
    assert.deepEqual(root.signed.roles.targets.keyids, [targets.signatures[0].keyid]);
    assert.deepEqual(targets.signed.delegations, { keys: {}, roles: [] });
    assert.deepEqual(Object.keys(targets.signed.targets), ['1.0']);
    assert.equal(targets.signed.targets['1.0'].custom.submission, submissionId);
    assert.deepEqual(targets.signed.targets['1.0'].custom.producerKeyIds, [releases.keyId]);
    const producerKeys = [releases.keyId, releases.canonicalKeyId];
    assert.ok(!Object.keys(root.signed.keys).some((id) => producerKeys.includes(id)));
  });

  it('docker trust inspect of the public repository: the tag signed by the repository admin only', async () => {
    const docker = cleanup.add(await DockerClient.create({ server: f.server.sut }));
    const [info] = await docker.trustInspect(PUBLIC);
    assert.ok(info);
    assert.equal(info.Name, PUBLIC);
    assert.deepEqual(info.SignedTags, [
      { SignedTag: '1.0', Digest: sha256Hex(payload), Signers: ['Repo Admin'] },
    ]);
    assert.deepEqual(info.Signers, []);
    const root = JSON.parse((await publicFile('root.json')).toString());
    assert.deepEqual(
      info.AdministrativeKeys.map((k) => [k.Name, k.Keys.map((x) => x.ID)]),
      [
        ['Root', root.signed.roles.root.keyids],
        ['Repository', root.signed.roles.targets.keyids],
      ]
    );
  });

  it('an admin’s notary CLI cannot write to or delete a public GUN; public data untouched', async () => {
    const before = await publicFile('timestamp.json');
    const admin = await f.notary('admin');
    const init = await admin.init('store.test/acme/direct', { publish: true, check: false });
    assert.notEqual(init.code, 0);
    assert.match(
      init.stdout,
      /you are not authorized to perform this operation: server returned 401/
    );
    const del = await admin.deleteRemote(PUBLIC, { check: false });
    assert.notEqual(del.code, 0);
    assert.match(del.stdout + del.stderr, /not authorized|401/);
    assert.deepEqual(await publicFile('timestamp.json'), before);
  });

  it('countersign revoke makes notary list of the public GUN stop showing the tag', async () => {
    const r = await f.store('admin', [
      'revoke',
      `${PUBLIC}:1.0`,
      '--reason',
      'withdrawn by the producer',
    ]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const consumer = await f.pinnedNotary(caPemFile);
    assert.deepEqual(await consumer.list(PUBLIC), []);
    const sub = JSON.parse(
      (await f.store('rev1', ['submission', 'get', submissionId, '--json'])).stdout
    );
    assert.equal(sub.state, 'revoked');
    assert.equal(sub.revoked.reason, 'withdrawn by the producer');
  });

  it('the audit chain verifies, over the API and offline', async () => {
    const online = await f.store('admin', ['audit', 'verify']);
    assert.equal(online.code, 0, online.stderr + online.stdout);
    assert.match(online.stdout, /^audit log intact: \d+ entries/);
    const offline = await countersignCli(['audit', 'verify', '--data-dir', f.dataDir]);
    assert.equal(offline.code, 0, offline.stderr + offline.stdout);
    assert.equal(
      /intact: (\d+) entries/.exec(offline.stdout)?.[1],
      /intact: (\d+) entries/.exec(online.stdout)?.[1]
    );
  });
});
