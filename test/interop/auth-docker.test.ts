/**
 * The real docker CLI 28 with content trust against Countersign's built-in token service over
 * TLS. Docker sends the stored login of the image's registry host (`$DOCKER_CONFIG/config.json`
 * `auths["staging.store.test"]`), not of the trust server, so the image names a registry host
 * that is not the server's loopback address, and DOCKER_CONTENT_TRUST_SERVER points at Countersign.
 *
 * A second Countersign process without auth on the same data directory stands in for the store's
 * publish step, which is what writes public repositories.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSqlite } from '../../src/storage/sqlite.js';
import { Cleanup } from '../helpers/cleanup.js';
import { startCountersign, type StartedCountersign } from '../helpers/countersign.js';
import { DockerClient } from '../helpers/docker-cli.js';
import { repoRoot } from '../helpers/paths.js';
import { run } from '../helpers/proc.js';

const ZONES = [{ staging: 'staging.store.test/', public: 'store.test/' }];
const IMAGE = 'staging.store.test/acme/app';
const PUBLIC_IMAGE = 'store.test/acme/app';
const PASSWORD = 'acme docker password';

describe('docker CLI with built-in token auth', () => {
  const cleanup = new Cleanup();
  let server: StartedCountersign;
  let plain: StartedCountersign;
  let dataDir: string;
  let publisher: DockerClient;

  before(async () => {
    dataDir = join(cleanup.tempDir('auth-docker-'), 'data');
    const add = await run(
      process.execPath,
      [
        join(repoRoot, 'bin/countersign.js'),
        'user',
        'add',
        'acme',
        '--role',
        'publisher',
        '--namespace',
        'staging.store.test/acme/',
        '--password-stdin',
        '--data-dir',
        dataDir,
      ],
      { input: PASSWORD, env: { PATH: process.env.PATH } }
    );
    assert.equal(add.code, 0, add.stderr);
    // Started first: it generates the data dir's TLS CA, which the store server then reuses.
    plain = cleanup.add(await startCountersign({ dataDir }));
    server = cleanup.add(
      await startCountersign({
        dataDir,
        config: { countersign: { store: { zones: ZONES } } },
        extraArgs: ['--log-level', 'info'],
      })
    );
    publisher = cleanup.add(
      await DockerClient.create({
        server: server.sut,
        logins: [
          { image: IMAGE, username: 'acme', password: PASSWORD },
          { image: PUBLIC_IMAGE, username: 'acme', password: PASSWORD },
        ],
      })
    );
  });
  after(() => cleanup.run());

  it('docker trust signer add creates the repository through the token flow', async () => {
    const from = server.service.output().length;
    const pub = await publisher.trustKeyGenerate('alice');
    const r = await publisher.trustSignerAdd('alice', IMAGE, [pub]);
    assert.match(r.stdout, /Successfully added signer: alice to staging\.store\.test\/acme\/app/);
    // Docker asked our realm for its own scope with the stored login of the image's registry.
    const tokenLines = server.service
      .output()
      .slice(from)
      .split('\n')
      .filter((l) => l.includes('"msg":"token request"'))
      .map((l) => JSON.parse(l) as { account?: string; scopes?: string[]; status: number });
    assert.ok(
      tokenLines.some(
        (l) =>
          l.account === 'acme' &&
          l.status === 200 &&
          l.scopes?.some((s) =>
            /^repository:staging\.store\.test\/acme\/app:(pull,push|push,pull)$/.test(s)
          )
      ),
      JSON.stringify(tokenLines)
    );
  });

  it('docker trust inspect reads it back with the login', async () => {
    const [info] = await publisher.trustInspect(IMAGE);
    assert.equal(info?.Name, IMAGE);
    assert.deepEqual(
      info?.Signers.map((s) => s.Name),
      ['alice']
    );
    assert.deepEqual(
      info?.AdministrativeKeys.map((k) => k.Name),
      ['Root', 'Repository']
    );
  });

  it('without a login, docker cannot read the staging repository', async () => {
    const stranger = cleanup.add(await DockerClient.create({ server: server.sut }));
    const r = await stranger.run(['trust', 'inspect', IMAGE]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no signatures or cannot access staging\.store\.test\/acme\/app/);
  });

  async function storedNothing(gun: string): Promise<void> {
    const s = openSqlite(join(dataDir, 'countersign.db'));
    try {
      assert.equal(await s.meta.getLatest(gun, 'root'), null);
      assert.deepEqual(await s.keys.listFor(gun, 'timestamp'), []);
    } finally {
      await s.close();
    }
  }

  it('the publisher is refused in another namespace and in the public zone; nothing is stored', async () => {
    const pub = await publisher.trustKeyGenerate('bob');
    for (const gun of ['staging.store.test/other/app', 'store.test/acme/direct']) {
      const r = await publisher.trustSignerAdd('bob', gun, [pub], { check: false });
      assert.notEqual(r.code, 0);
      assert.match(
        r.stderr,
        /you are not authorized to perform this operation: server returned 401/
      );
      await storedNothing(gun);
    }
  });

  it('anyone reads a public repository anonymously with docker trust inspect', async () => {
    const storeStep = cleanup.add(await DockerClient.create({ server: plain.sut }));
    const key = await storeStep.trustKeyGenerate('store');
    await storeStep.trustSignerAdd('store', PUBLIC_IMAGE, [key]);
    const anonymous = cleanup.add(await DockerClient.create({ server: server.sut }));
    const [info] = await anonymous.trustInspect(PUBLIC_IMAGE);
    assert.deepEqual(
      info?.Signers.map((x) => x.Name),
      ['store']
    );
  });
});
