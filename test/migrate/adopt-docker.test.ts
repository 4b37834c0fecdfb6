/**
 * The docker side of moving in: a repository made by `docker push` with content trust (docker's
 * default: the server holds the snapshot key) on a notary-server whose keys cannot be exported,
 * copied with `import-notary --from-url`, is wedged for docker against Countersign until
 * `countersign adopt` runs with docker's own trust dir (`$DOCKER_CONFIG/trust`); then the same
 * docker config pushes and signs again and `docker trust inspect` shows old and new tags.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import { countersignCli, startCountersign } from '../helpers/countersign.js';
import { DEFAULT_DOCKER_PASSPHRASE, DockerClient } from '../helpers/docker-cli.js';
import { DockerEngineStandIn } from '../helpers/docker-engine.js';
import { startReferenceNotaryServer } from '../helpers/notary-server.js';
import { importNotary, KEY_PASSPHRASE } from './import-fixture.js';

const APP = 'acme/moved';
const GUN = `docker.io/${APP}`;
const digest = (label: string): string =>
  `sha256:${Buffer.from(label.padEnd(32, '.')).toString('hex').slice(0, 64)}`;

describe('adopt with a docker trust dir', () => {
  const cleanup = new Cleanup();
  let engine: DockerEngineStandIn;
  let viaCountersign: DockerClient;
  let dataDir: string;

  before(async () => {
    const notary = cleanup.add(await startReferenceNotaryServer());
    engine = cleanup.add(await DockerEngineStandIn.start());
    const viaNotary = cleanup.add(
      await DockerClient.create({ server: notary.sut, dockerHost: engine.dockerHost })
    );
    engine.addImage(`${APP}:1.0`, { digest: digest('one'), size: 100 });
    await viaNotary.push(`${APP}:1.0`);

    dataDir = join(cleanup.tempDir('countersign-'), 'data');
    const imported = await importNotary(
      [
        '--from-url',
        notary.sut.url,
        '--ca',
        notary.sut.caFile!,
        '--gun',
        GUN,
        '--data-dir',
        dataDir,
      ],
      {}
    );
    assert.equal(imported.code, 0, imported.stderr + imported.stdout);
    assert.match(imported.stdout, /served read-only/);
    const countersign = cleanup.add(
      await startCountersign({ dataDir, env: { COUNTERSIGN_KEY_PASSPHRASE: KEY_PASSPHRASE } })
    );
    viaCountersign = cleanup.add(
      await DockerClient.create({ server: countersign.sut, dockerHost: engine.dockerHost })
    );
    // The same keys and cache docker kept while it talked to notary-server.
    cpSync(join(viaNotary.configDir, 'trust'), join(viaCountersign.configDir, 'trust'), {
      recursive: true,
    });
  });
  after(() => cleanup.run());

  it('docker reads the imported repository but cannot sign into it', async () => {
    const [repo] = await viaCountersign.trustInspect(GUN);
    assert.deepEqual(
      repo!.SignedTags.map((t) => t.SignedTag),
      ['1.0']
    );
    engine.addImage(`${APP}:1.1`, { digest: digest('two'), size: 200 });
    const r = await viaCountersign.push(`${APP}:1.1`, { check: false });
    assert.notEqual(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /server does not hold current snapshot key/);
  });

  it("after adopt with docker's trust dir, docker signs again", async () => {
    const adopted = await countersignCli(
      ['adopt', GUN, '--trust-dir', join(viaCountersign.configDir, 'trust'), '--data-dir', dataDir],
      {
        COUNTERSIGN_KEY_PASSPHRASE: KEY_PASSPHRASE,
        NOTARY_ROOT_PASSPHRASE: DEFAULT_DOCKER_PASSPHRASE,
      }
    );
    assert.equal(adopted.code, 0, adopted.stderr + adopted.stdout);
    const r = await viaCountersign.push(`${APP}:1.1`, { check: false });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const [repo] = await viaCountersign.trustInspect(GUN);
    assert.deepEqual(repo!.SignedTags.map((t) => t.SignedTag).sort(), ['1.0', '1.1']);
  });
});
