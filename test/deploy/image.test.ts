/**
 * deploy/Containerfile is real: built and started here from a locally assembled base (see
 * image-build.ts and oci-run.ts for how, with mmdebstrap, buildah, umoci, runc and a network
 * namespace). The image's config carries the non-root user, /data, 4443, the HEALTHCHECK on
 * /healthz and the entrypoint; the container, with its root read-only and a config file mounted,
 * serves over TLS with the CA it generated in /data, runs as that user, writes its data as that
 * user, and its own HEALTHCHECK command passes inside it.
 *
 * It takes about 2.5 minutes on a quiet 2-core machine (mmdebstrap, vfs copies, apt and
 * better-sqlite3's compile in the build stage) and runs in `npm test`; `npm run test:image` runs it
 * alone (docs/deploy.md has the measurements). It needs Debian's mirror (mmdebstrap; apt in the
 * build stage) and the npm registry (npm ci in the build stage); without them it fails with the
 * tools' output, never skips.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import { IMAGE_ENTRYPOINT } from './containerfile.js';
import { ImageBuilder, type DockerImageConfig } from './image-build.js';
import { configureBundle, NetworkNamespace, RuncContainer } from './oci-run.js';

const HEALTH_PATH = '/healthz';
const IMAGE = 'localhost/countersign:image-test';
const BASE = 'localhost/countersign-test-base:bookworm';
const IMAGE_UID = 10001;

describe('the container image built from deploy/Containerfile', () => {
  const cleanup = new Cleanup();
  const timings: string[] = [];
  let config: DockerImageConfig;
  let buildOutput: string;
  let dataDir: string;
  let netns: NetworkNamespace;
  let container: RuncContainer;

  const timed = async <T>(what: string, step: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    const result = await step();
    timings.push(`${what} ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return result;
  };

  before(async () => {
    const work = cleanup.tempDir('countersign-image-');
    const builder = new ImageBuilder(work);
    const tarball = await timed('mmdebstrap', () => builder.debianRootfs());
    await timed('import base', () => builder.importBase(tarball, BASE));
    const bud = await timed('buildah bud', () => builder.buildContainerfile(BASE, IMAGE));
    buildOutput = bud.stdout + bud.stderr;
    config = await builder.imageConfig(IMAGE);
    const bundle = join(work, 'bundle');
    await timed('push + umoci unpack', () => builder.unpackBundle(IMAGE, bundle));

    dataDir = join(work, 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    chownSync(dataDir, IMAGE_UID, IMAGE_UID);
    const configFile = join(work, 'countersign.json');
    writeFileSync(configFile, JSON.stringify({ trust_service: { key_algorithm: 'ed25519' } }));
    netns = await NetworkNamespace.create();
    cleanup.defer(() => netns.remove());
    configureBundle(bundle, {
      args: ['--config', '/etc/countersign/countersign.json'],
      env: { COUNTERSIGN_KEY_PASSPHRASE: 'image test passphrase' },
      binds: [
        { source: dataDir, destination: '/data' },
        { source: configFile, destination: '/etc/countersign/countersign.json', ro: true },
      ],
      netnsPath: netns.path,
    });
    const stateDir = join(work, 'runc');
    container = RuncContainer.start(bundle, stateDir);
    cleanup.defer(() => container.stop());
    await container.service.waitForOutput(/listening on https:\/\/0\.0\.0\.0:4443/, 60_000);
    console.log(`# image test timings: ${timings.join(', ')}`);
  });
  after(() => cleanup.run());

  it('installs the C++ toolchain with apt in the build stage, as on a slim node base', () => {
    assert.match(buildOutput, /Setting up g\+\+ /);
    assert.match(buildOutput, /rebuilt dependencies successfully/);
  });

  it('records the non-root user, /data, 4443, the /healthz check and the entrypoint', () => {
    assert.equal(config.User, `${IMAGE_UID}:${IMAGE_UID}`);
    assert.deepEqual(Object.keys(config.Volumes ?? {}), ['/data']);
    assert.deepEqual(Object.keys(config.ExposedPorts ?? {}), ['4443/tcp']);
    assert.deepEqual(config.Entrypoint, IMAGE_ENTRYPOINT);
    assert.deepEqual(config.Healthcheck?.Test, [
      'CMD',
      'node',
      '/opt/countersign/deploy/healthcheck.mjs',
    ]);
  });

  it('answers over TLS, verified with the CA it generated in /data', async () => {
    const r = await netns.exec('curl', [
      '--silent',
      '--show-error',
      '--fail',
      '--cacert',
      join(dataDir, 'tls/ca.crt'),
      `https://127.0.0.1:4443${HEALTH_PATH}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
  });

  it('passes its own HEALTHCHECK command inside the container', async () => {
    const [, ...command] = config.Healthcheck!.Test!;
    const url = `https://127.0.0.1:4443${HEALTH_PATH}`;
    const ok = await container.exec(command, { COUNTERSIGN_HEALTHCHECK_URL: url });
    assert.equal(ok.code, 0, ok.stderr);
    const wrong = await container.exec(command, {
      COUNTERSIGN_HEALTHCHECK_URL: 'https://127.0.0.1:4443/no-such-path',
    });
    assert.equal(wrong.code, 1);
  });

  it('reads the mounted config file', async () => {
    // The file asks for ed25519 server keys; the default would be ecdsa.
    const r = await netns.exec('curl', [
      '--silent',
      '--fail',
      '--cacert',
      join(dataDir, 'tls/ca.crt'),
      'https://127.0.0.1:4443/v2/example.com/image-test/_trust/tuf/timestamp.key',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { keytype: string }).keytype, 'ed25519');
  });

  it('runs as the unprivileged user and writes /data as that user', async () => {
    const pid = await container.hostPid();
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const uids = /^Uid:\s+(.*)$/m.exec(status)![1]!.split(/\s+/).map(Number);
    const gids = /^Gid:\s+(.*)$/m.exec(status)![1]!.split(/\s+/).map(Number);
    assert.deepEqual(uids, [IMAGE_UID, IMAGE_UID, IMAGE_UID, IMAGE_UID]);
    assert.deepEqual(gids, [IMAGE_UID, IMAGE_UID, IMAGE_UID, IMAGE_UID]);
    for (const file of ['countersign.db', 'tls/ca.crt']) {
      assert.equal(statSync(join(dataDir, file)).uid, IMAGE_UID, `${file} owner`);
    }
    // COUNTERSIGN_KEY_PASSPHRASE reached the process: no key file was generated instead.
    assert.equal(existsSync(join(dataDir, 'keyring.key')), false);
  });

  it("starts the server with the node flags of the command's env -S line", async () => {
    const argv = readFileSync(`/proc/${await container.hostPid()}/cmdline`, 'utf8').split('\0');
    assert.match(argv[0] ?? '', /(^|\/)node$/, argv.join(' '));
    assert.ok(argv.includes('--max-semi-space-size=4'), argv.join(' '));
  });
});
