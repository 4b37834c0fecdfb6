/**
 * `countersign pull` (issue 16) with the real docker CLI 28 against the Docker Engine API
 * stand-in the docker interop tests use: a signed tag is verified, then pulled by its digest and
 * tagged, exactly those two engine calls; an unsigned tag, or a digest no tag resolves to, makes
 * no engine call at all.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import { DockerEngineStandIn } from '../helpers/docker-engine.js';
import { repoRoot } from '../helpers/paths.js';
import { run, type RunResult } from '../helpers/proc.js';
import { buildRepo } from '../unit/client/repo-builder.js';
import { serveSource, type StaticNotary } from './serve-source.js';

const NAME = '127.0.0.1:5000/acme/pulled';
const HASH = Buffer.alloc(32, 9);
const DIGEST = `sha256:${HASH.toString('hex')}`;

describe('countersign pull', () => {
  const cleanup = new Cleanup();
  let engine: DockerEngineStandIn;
  let server: StaticNotary;
  let home: string;

  function pull(...args: string[]): Promise<RunResult> {
    return run(
      process.execPath,
      [join(repoRoot, 'bin/countersign.js'), 'pull', '--server', server.url, ...args],
      {
        env: {
          PATH: process.env.PATH,
          HOME: home,
          DOCKER_CONFIG: home,
          DOCKER_HOST: engine.dockerHost,
        },
        timeoutMs: 60_000,
      }
    );
  }

  before(async () => {
    engine = cleanup.add(await DockerEngineStandIn.start());
    engine.addImage(`${NAME}:build-1`, { digest: DIGEST, size: 525 });
    const repo = await buildRepo({
      gun: NAME,
      targets: [{ name: '1.0', sha256: HASH, length: 525 }],
    });
    server = cleanup.add(await serveSource(repo.source, NAME));
    home = cleanup.tempDir('pull-docker-config-');
  });
  after(() => cleanup.run());

  it('verifies, pulls by digest and tags', async () => {
    const r = await pull(`${NAME}:1.0`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${NAME}@${DIGEST}\n`);
    assert.deepEqual(engine.pulls(), [{ repo: NAME, tag: DIGEST }]);
    assert.deepEqual(
      engine.tags().map((t) => [t.source, t.repo, t.tag]),
      [[`${NAME}@${DIGEST}`, NAME, '1.0']]
    );
    assert.deepEqual(engine.image(`${NAME}:1.0`)?.digest, DIGEST);
  });

  it('pulls nothing for an unsigned tag or an unsigned digest', async () => {
    const before = engine.calls.length;
    const r = await pull(`${NAME}:2.0`);
    assert.equal(r.code, 6);
    assert.match(r.stderr, /no valid trust data for 2\.0/);
    const d = await pull(`${NAME}@sha256:${'1'.repeat(64)}`);
    assert.equal(d.code, 6);
    assert.equal(engine.calls.length, before, 'no engine call');
  });
});
