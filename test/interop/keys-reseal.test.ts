/**
 * `countersign keys reseal` on a real server's data: from the generated key file to a
 * passphrase and on to another key file. After each, a server started with the new secret signs
 * (the notary CLI publishes: the server's snapshot and timestamp keys open); one started with a
 * wrong or the old secret stops at start with a clear error; a reseal given the wrong current
 * secret fails and changes nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import { countersignCli, startCountersign } from '../helpers/countersign.js';
import { NotaryClient } from '../helpers/notary-cli.js';

const GUN = 'example.com/reseal/app';
const HASH = 'c'.repeat(64);
const NEW = 'the new passphrase';

describe('keys reseal', () => {
  const cleanup = new Cleanup();
  let dataDir: string;
  let notary: NotaryClient;
  after(() => cleanup.run());

  before(async () => {
    dataDir = join(cleanup.tempDir(), 'data');
    const first = await startCountersign({ tls: false, dataDir });
    notary = cleanup.add(await NotaryClient.create({ server: first.sut }));
    await notary.init(GUN, { publish: true });
    await first.stop();
  });

  /** Starts a server on the data dir with `env`/`config`, publishes one target through it, stops it. */
  async function publishThrough(target: string, env: NodeJS.ProcessEnv, config?: object) {
    const server = await startCountersign({
      tls: false,
      dataDir,
      env,
      ...(config ? { config: config as Record<string, unknown> } : {}),
    });
    try {
      const client = await notary.sharingTrustDir({ server: server.sut });
      await client.addHash(GUN, target, 1, HASH, { publish: true });
      const names = (await (await client.fresh()).list(GUN)).map((t) => t.name);
      assert.ok(names.includes(target), `${target} published`);
    } finally {
      await server.stop();
    }
  }

  const serveFails = async (env: NodeJS.ProcessEnv) => {
    const r = await countersignCli(
      ['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--plain-http'],
      env
    );
    assert.notEqual(r.code, 0, 'the server must not start');
    return r.stderr + r.stdout;
  };

  it('moves the keys from the generated key file to a passphrase', async () => {
    const r = await countersignCli(['keys', 'reseal', '--data-dir', dataDir, '--to-passphrase'], {
      COUNTERSIGN_NEW_KEY_PASSPHRASE: NEW,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /resealed [1-9]\d* keys? under the new passphrase/);
    assert.match(await serveFails({}), /sealed with a passphrase/);
    assert.match(await serveFails({ COUNTERSIGN_KEY_PASSPHRASE: 'wrong' }), /wrong passphrase/);
    await publishThrough('after-passphrase', { COUNTERSIGN_KEY_PASSPHRASE: NEW });
  });

  it('refuses a reseal with the wrong current secret and changes nothing', async () => {
    const target = join(dataDir, 'other.key');
    const r = await countersignCli(
      ['keys', 'reseal', '--data-dir', dataDir, '--to-key-file', target],
      { COUNTERSIGN_KEY_PASSPHRASE: 'wrong' }
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /wrong passphrase/);
    assert.equal(existsSync(target), false);
    await publishThrough('still-passphrase', { COUNTERSIGN_KEY_PASSPHRASE: NEW });
  });

  it('moves the keys from the passphrase to a new key file', async () => {
    const keyFile = join(dataDir, 'next.key');
    const r = await countersignCli(
      ['keys', 'reseal', '--data-dir', dataDir, '--to-key-file', keyFile],
      { COUNTERSIGN_KEY_PASSPHRASE: NEW }
    );
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(keyFile));
    assert.match(
      await serveFails({ COUNTERSIGN_KEY_PASSPHRASE: NEW }),
      /sealed with a key file|does not decrypt/
    );
    await publishThrough('after-key-file', {}, { countersign: { keys: { keyFile } } });
  });
});
