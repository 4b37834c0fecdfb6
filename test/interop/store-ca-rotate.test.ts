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
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import { countersignCli } from '../helpers/countersign.js';
import { tufPath } from '../helpers/notary-http.js';
import { startStoreFixture, type StoreFixture } from '../helpers/store-fixture.js';
import { parseCertificateBundle } from '../../src/crypto/x509.js';

describe('countersign ca rotate: pinned consumers keep working through the overlap', () => {
  const cleanup = new Cleanup();
  let f: StoreFixture;
  let oldCaFile: string;
  let bundleFile: string;
  let newCaFile: string;

  /** Signs TAG into staging.store.test/acme/NAME, submits and approves it: published as store.test/acme/NAME. */
  async function publish(name: string, tag: string, init: boolean): Promise<void> {
    const staging = `staging.store.test/acme/${name}`;
    const file = join(f.work, `${name}-${tag}.bin`);
    writeFileSync(file, randomBytes(1000));
    const acme = await f.notary('acme');
    if (init) await acme.init(staging, { publish: true });
    await acme.add(staging, tag, file, { publish: true });
    await f.submitAndApprove(`${staging}:${tag}`);
  }
  /** `notary list` of a public GUN by a fresh client pinned to the CA file: the tags, or the error. */
  async function pinnedList(gun: string, caFile: string): Promise<string[] | string> {
    const client = await f.pinnedNotary(caFile);
    try {
      return (await client.list(gun)).map((t) => t.name).sort();
    } catch (e) {
      return (e as Error).message;
    } finally {
      await client.dispose();
    }
  }

  before(async () => {
    f = await startStoreFixture(cleanup, { name: 'store-ca-rotate' });
  });
  after(() => cleanup.run());

  it('repository ONE is published under the first CA, and a consumer pins that CA', async () => {
    await publish('one', '1.0', true);
    oldCaFile = await f.saveCaPem('old-ca.pem');
    assert.equal(parseCertificateBundle(await f.caPem())?.length, 1);
    assert.deepEqual(await pinnedList('store.test/acme/one', oldCaFile), ['1.0']);
  });

  it('ca rotate, while the server runs: ca.pem holds the new CA, then the old one', async () => {
    const r = await countersignCli(['ca', 'rotate', '--data-dir', f.dataDir]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(
      r.stdout,
      /^store CA rotated: \S+ is current until \S+; the old CA \S+ certifies it/
    );
    const bundle = await f.caPem();
    const certs = parseCertificateBundle(bundle)!;
    assert.equal(certs.length, 2);
    const old = parseCertificateBundle(readFileSync(oldCaFile, 'utf8'))![0]!;
    assert.ok(certs[1]!.der.equals(old.der), 'the old CA is second');
    assert.ok(!certs[0]!.der.equals(old.der), 'a new CA is first');
    bundleFile = join(f.work, 'bundle.pem');
    writeFileSync(bundleFile, bundle);
    newCaFile = join(f.work, 'new-ca.pem');
    writeFileSync(newCaFile, bundle.slice(0, bundle.indexOf('-----END CERTIFICATE-----') + 26));
  });

  it('repository TWO, published after the rotation, verifies for a notary CLI pinned to the old CA only, and to the new one only', async () => {
    await publish('two', '1.0', true);
    // Its root certificate is a new-CA leaf followed by the cross certificate.
    const root = await f.https(tufPath('store.test/acme/two', 'root.json'));
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
    const v = await f.verifyPinned('store.test/acme/two:1.0', oldCaFile);
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
    const audit = await f.store('admin', ['audit', 'verify']);
    assert.equal(audit.code, 0, audit.stderr + audit.stdout);
    const entries = await f.https('/api/v1/audit?limit=10000', { user: 'admin' });
    const actions = (
      JSON.parse(entries.body.toString()) as { entries: { action: string; actor: string }[] }
    ).entries.filter((e) => e.action === 'ca.rotated');
    assert.equal(actions.length, 1);
    assert.equal(actions[0]!.actor, 'operator');
  });

  it('refuses ca rotate on data that has no store CA', async () => {
    const empty = join(f.work, 'empty-data');
    const r = await countersignCli(['ca', 'rotate', '--data-dir', empty]);
    assert.notEqual(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stderr, /no store CA to rotate/);
  });
});
