/**
 * `countersign ca rotate` with real clients (docs/store.md "Rotating the store CA"), run while the
 * server serves:
 *
 *   1. repository ONE is published under the first CA; its PEM is saved as a consumer would pin it;
 *   2. `ca rotate`: ca.pem now holds the new CA first and the old one after it;
 *   3. repository TWO, published after the rotation, has a root certificate from the new CA that
 *      carries the cross certificate: a notary CLI still pinned to the OLD CA only lists it, as
 *      does one pinned to the new CA only, and `countersign verify` pinned to the old CA agrees;
 *   4. repository ONE keeps verifying for the old pin and the new bundle, but not for a pin of
 *      the new CA alone (why ca.pem keeps the old CA during the overlap);
 *   5. ONE can still be published to (the store's own pre-commit check pins the bundle), and the
 *      audit chain records the rotation and verifies.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
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
import { NotaryClient } from '../helpers/notary-cli.js';
import { parseCertificateBundle } from '../../src/crypto/x509.js';

const USERS = {
  acme: {
    role: 'publisher',
    namespace: 'staging.store.test/acme/',
    password: 'acme rotate password',
  },
  rev1: { role: 'reviewer', password: 'reviewer rotate password' },
  admin: { role: 'admin', password: 'admin rotate password' },
} as const;
type User = keyof typeof USERS;

describe('countersign ca rotate: pinned consumers keep working through the overlap', () => {
  const cleanup = new Cleanup();
  let server: StartedCountersign;
  let acme: NotaryClient;
  let dataDir: string;
  let work: string;
  let oldCaFile: string;
  let bundleFile: string;
  let newCaFile: string;

  const store = (user: User, args: string[]) =>
    countersignCli(
      [...args, '--server', server.sut.url, '--ca', server.sut.caFile!, '--user', user],
      { COUNTERSIGN_PASSWORD: USERS[user].password }
    );
  const caPem = async () => {
    const r = await httpsCall(`${server.sut.url}/api/v1/store/ca.pem`, server.sut.caFile!);
    assert.equal(r.status, 200);
    return r.body.toString();
  };
  /** Signs TAG into staging.store.test/acme/NAME, submits and approves it: published as store.test/acme/NAME. */
  async function publish(name: string, tag: string, init: boolean): Promise<void> {
    const staging = `staging.store.test/acme/${name}`;
    const file = join(work, `${name}-${tag}.bin`);
    writeFileSync(file, randomBytes(1000));
    if (init) await acme.init(staging, { publish: true });
    await acme.add(staging, tag, file, { publish: true });
    const sub = await store('acme', ['submit', `${staging}:${tag}`, '--json']);
    assert.equal(sub.code, 0, sub.stderr + sub.stdout);
    const approved = await store('rev1', ['approve', JSON.parse(sub.stdout).id]);
    assert.equal(approved.code, 0, approved.stderr + approved.stdout);
    assert.match(approved.stdout, /published$/m);
  }
  /** `notary list` of a public GUN by a fresh client pinned to the CA file: the tags, or the error. */
  async function pinnedList(gun: string, caFile: string): Promise<string[] | string> {
    const client = await NotaryClient.create({
      server: server.sut,
      trustPinning: { ca: { 'store.test/': caFile } },
    });
    try {
      return (await client.list(gun)).map((t) => t.name).sort();
    } catch (e) {
      return (e as Error).message;
    } finally {
      await client.dispose();
    }
  }

  before(async () => {
    const base = cleanup.tempDir('store-ca-rotate-');
    dataDir = join(base, 'data');
    work = join(base, 'work');
    mkdirSync(work, { recursive: true });
    await addAccounts(dataDir, USERS);
    server = cleanup.add(
      await startCountersign({
        dataDir,
        config: {
          countersign: {
            store: { zones: [{ staging: 'staging.store.test/', public: 'store.test/' }] },
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

  it('repository ONE is published under the first CA, and a consumer pins that CA', async () => {
    await publish('one', '1.0', true);
    oldCaFile = join(work, 'old-ca.pem');
    writeFileSync(oldCaFile, await caPem());
    assert.equal(parseCertificateBundle(await caPem())?.length, 1);
    assert.deepEqual(await pinnedList('store.test/acme/one', oldCaFile), ['1.0']);
  });

  it('ca rotate, while the server runs: ca.pem holds the new CA, then the old one', async () => {
    const r = await countersignCli(['ca', 'rotate', '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(
      r.stdout,
      /^store CA rotated: \S+ is current until \S+; the old CA \S+ certifies it/
    );
    const bundle = await caPem();
    const certs = parseCertificateBundle(bundle)!;
    assert.equal(certs.length, 2);
    const old = parseCertificateBundle(readFileSync(oldCaFile, 'utf8'))![0]!;
    assert.ok(certs[1]!.der.equals(old.der), 'the old CA is second');
    assert.ok(!certs[0]!.der.equals(old.der), 'a new CA is first');
    bundleFile = join(work, 'bundle.pem');
    writeFileSync(bundleFile, bundle);
    newCaFile = join(work, 'new-ca.pem');
    writeFileSync(newCaFile, bundle.slice(0, bundle.indexOf('-----END CERTIFICATE-----') + 26));
  });

  it('repository TWO, published after the rotation, verifies for a notary CLI pinned to the old CA only, and to the new one only', async () => {
    await publish('two', '1.0', true);
    // Its root certificate is a new-CA leaf followed by the cross certificate.
    const root = await httpsCall(
      `${server.sut.url}/v2/store.test/acme/two/_trust/tuf/root.json`,
      server.sut.caFile!
    );
    const signed = (
      JSON.parse(root.body.toString()) as {
        signed: {
          keys: Record<string, { keyval: { public: string } }>;
          roles: { root: { keyids: string[] } };
        };
      }
    ).signed;
    const chain = parseCertificateBundle(
      Buffer.from(signed.keys[signed.roles.root.keyids[0]!]!.keyval.public, 'base64').toString()
    )!;
    assert.deepEqual(
      chain.map((c) => c.isCA),
      [false, true]
    );
    assert.deepEqual(await pinnedList('store.test/acme/two', oldCaFile), ['1.0']);
    assert.deepEqual(await pinnedList('store.test/acme/two', newCaFile), ['1.0']);
    const v = await countersignCli([
      'verify',
      '--server',
      server.sut.url,
      '--ca',
      server.sut.caFile!,
      '--pin-ca',
      oldCaFile,
      'store.test/acme/two:1.0',
    ]);
    assert.equal(v.code, 0, v.stderr);
  });

  it('repository ONE keeps verifying for the old pin and the bundle; the new CA alone does not cover it', async () => {
    assert.deepEqual(await pinnedList('store.test/acme/one', oldCaFile), ['1.0']);
    assert.deepEqual(await pinnedList('store.test/acme/one', bundleFile), ['1.0']);
    assert.match(
      String(await pinnedList('store.test/acme/one', newCaFile)),
      /unable to match any certificates to trust_pinning config/
    );
  });

  it('ONE can still be published to after the rotation, and the audit chain records the rotation', async () => {
    await publish('one', '1.1', false);
    assert.deepEqual(await pinnedList('store.test/acme/one', oldCaFile), ['1.0', '1.1']);
    const audit = await store('admin', ['audit', 'verify']);
    assert.equal(audit.code, 0, audit.stderr + audit.stdout);
    const entries = await httpsCall(
      `${server.sut.url}/api/v1/audit?limit=10000`,
      server.sut.caFile!,
      { basic: { user: 'admin', password: USERS.admin.password } }
    );
    const actions = (
      JSON.parse(entries.body.toString()) as { entries: { action: string; actor: string }[] }
    ).entries.filter((e) => e.action === 'ca.rotated');
    assert.equal(actions.length, 1);
    assert.equal(actions[0]!.actor, 'operator');
  });

  it('refuses ca rotate on data that has no store CA', async () => {
    const empty = join(work, 'empty-data');
    const r = await countersignCli(['ca', 'rotate', '--data-dir', empty]);
    assert.notEqual(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stderr, /no store CA to rotate/);
  });
});
