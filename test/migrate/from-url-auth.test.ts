/**
 * `import-notary --from-url` from a server that wants a token (the Docker token flow every
 * hosted Notary uses), with the credentials in NOTARY_AUTH as the notary CLI takes them. The
 * source here is a Countersign with built-in accounts, populated with the notary CLI.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { openStorage } from '../../src/storage/index.js';
import { Cleanup } from '../helpers/cleanup.js';
import { addAccounts, startCountersign, type StartedCountersign } from '../helpers/countersign.js';
import { NotaryClient } from '../helpers/notary-cli.js';
import { importNotary, KEY_PASSPHRASE } from './import-fixture.js';

const GUN = 'example.com/hosted/app';
const auth = (user: string, password: string) =>
  Buffer.from(`${user}:${password}`).toString('base64');

async function latest(dataDir: string, role: string): Promise<Buffer | undefined> {
  const storage = await openStorage(loadConfig({ dataDir }).storage);
  try {
    return (await storage.meta.getLatest(GUN, role))?.data;
  } finally {
    await storage.close();
  }
}

describe('import-notary --from-url with NOTARY_AUTH against a token-protected server', () => {
  const cleanup = new Cleanup();
  let source: StartedCountersign;
  let sourceDir: string;
  let dataDir: string;

  before(async () => {
    sourceDir = join(cleanup.tempDir('hosted-'), 'data');
    await addAccounts(sourceDir, { owner: { role: 'admin', password: 'owner-secret' } });
    source = cleanup.add(
      await startCountersign({
        dataDir: sourceDir,
        config: { countersign: { auth: { builtin: true } } },
        env: { COUNTERSIGN_KEY_PASSPHRASE: 'hosted key ring' },
      })
    );
    const owner = cleanup.add(
      await NotaryClient.create({
        server: source.sut,
        auth: { username: 'owner', password: 'owner-secret' },
      })
    );
    await owner.init(GUN, { publish: true });
    const file = join(cleanup.tempDir('target-'), 'v1.txt');
    writeFileSync(file, 'hosted v1');
    await owner.add(GUN, 'v1', file, { publish: true });
    dataDir = join(cleanup.tempDir('countersign-'), 'data');
  });
  after(() => cleanup.run());

  const fromUrl = (env: NodeJS.ProcessEnv) =>
    importNotary(
      [
        '--from-url',
        source.sut.url,
        '--ca',
        source.sut.caFile!,
        '--gun',
        GUN,
        '--data-dir',
        dataDir,
      ],
      { COUNTERSIGN_KEY_PASSPHRASE: KEY_PASSPHRASE, ...env }
    );

  it('refuses without credentials and with wrong ones, writing nothing', async () => {
    const anonymous = await fromUrl({});
    assert.equal(anonymous.code, 1);
    assert.match(anonymous.stderr, /not authorized to read .*\(401; set NOTARY_AUTH/);
    const wrong = await fromUrl({ NOTARY_AUTH: auth('owner', 'wrong') });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /the token service refused the credentials \(HTTP 401\)/);
    assert.equal(await latest(dataDir, 'timestamp'), undefined);
  });

  it('fetches a token with NOTARY_AUTH and copies the repository byte for byte', async () => {
    const r = await fromUrl({ NOTARY_AUTH: auth('owner', 'owner-secret') });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    for (const role of ['root', 'targets', 'snapshot', 'timestamp']) {
      const theirs = await latest(sourceDir, role);
      assert.ok(theirs, role);
      assert.deepEqual(await latest(dataDir, role), theirs, role);
    }
  });
});
