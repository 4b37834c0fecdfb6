/**
 * The client-only install path (issue 16): `scripts/bundle-client.mjs` builds check and verify
 * into one file; copied alone into an empty directory (no node_modules anywhere above it), that
 * file checks and verifies a repository served over HTTP, exactly as the full CLI does.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import { repoRoot } from '../helpers/paths.js';
import { run, type RunResult } from '../helpers/proc.js';
import { buildRepo, type BuiltRepo } from '../unit/client/repo-builder.js';
import { ensureSelfSignedTls } from '../../src/server/tls.js';
import { systemClock } from '../../src/util/clock.js';
import { serveSource, type StaticNotary } from './serve-source.js';

const GUN = 'registry.example/acme/bundled';
const digest = `sha256:${Buffer.alloc(32, 7).toString('hex')}`;

describe('the client-only bundle', () => {
  const cleanup = new Cleanup();
  let bundle: string;
  let server: StaticNotary;
  let repo: BuiltRepo;

  function client(...args: string[]): Promise<RunResult> {
    return clientWith({}, ...args);
  }

  function clientWith(env: NodeJS.ProcessEnv, ...args: string[]): Promise<RunResult> {
    return run(process.execPath, [bundle, ...args], {
      cwd: dirname(bundle),
      env: { PATH: process.env.PATH, ...env },
      timeoutMs: 30_000,
    });
  }

  before(async () => {
    const built = join(cleanup.tempDir('bundle-build-'), 'countersign-client.mjs');
    const b = await run(process.execPath, [join(repoRoot, 'scripts/bundle-client.mjs'), built], {
      timeoutMs: 120_000,
    });
    assert.equal(b.code, 0, b.stderr);
    const empty = cleanup.tempDir('bundle-run-');
    bundle = join(empty, 'countersign-client.mjs');
    copyFileSync(built, bundle);
    repo = await buildRepo({
      gun: GUN,
      targets: [{ name: 'latest', sha256: Buffer.alloc(32, 7), length: 70 }],
    });
    server = cleanup.add(await serveSource(repo.source, GUN));
  });
  after(() => cleanup.run());

  it('runs from a directory with nothing but itself, with no node_modules above it', () => {
    assert.deepEqual(readdirSync(dirname(bundle)), ['countersign-client.mjs']);
    for (let d = dirname(bundle); d !== dirname(d); d = dirname(d))
      assert.equal(existsSync(join(d, 'node_modules')), false, `${d}/node_modules exists`);
  });

  it('checks a repository', async () => {
    const r = await client('check', '--server', server.url, '--gun', GUN);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^ok: ${GUN} verifies and nothing expires within 24h$`, 'm'));
  });

  it('checks a repository over HTTPS with --ca (TLS is loaded only then)', async () => {
    const tls = await ensureSelfSignedTls(join(dirname(bundle), 'tls'), [], systemClock);
    const secure = cleanup.add(await serveSource(repo.source, GUN, tls));
    const r = await client('check', '--server', secure.url, '--gun', GUN, '--ca', tls.caFile);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^ok: ${GUN} verifies`, 'm'));
    const untrusted = await client('check', '--server', secure.url, '--gun', GUN);
    assert.equal(untrusted.code, 4);
    assert.match(untrusted.stderr, /unable to reach trust server/);
  });

  it("keeps V8's code cache beside itself; a damaged cache costs time, never the result", async () => {
    const cache = `${bundle}.cache`;
    const first = await client('check', '--server', server.url, '--gun', GUN);
    assert.equal(first.code, 0, first.stderr);
    const header = readFileSync(cache, 'latin1').split('\n', 4);
    assert.equal(header[0], 'countersign-code-cache 1');
    assert.equal(header[3], 'check');
    writeFileSync(cache, Buffer.alloc(4096, 0x5a));
    const again = await client('check', '--server', server.url, '--gun', GUN);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, first.stdout);
    assert.equal(readFileSync(cache, 'latin1').split('\n', 1)[0], 'countersign-code-cache 1');
    rmSync(cache);
    const off = await clientWith({ COUNTERSIGN_CODE_CACHE: '0' }, 'check', '--help');
    assert.equal(off.code, 0, off.stderr);
    assert.equal(existsSync(cache), false);
    const bad = await clientWith({ COUNTERSIGN_CODE_CACHE: 'off' }, 'check', '--help');
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, 'countersign: COUNTERSIGN_CODE_CACHE must be 0 or 1, not "off"\n');
    assert.equal(bad.stdout, '');
  });

  it('verifies a docker reference (":latest" added as docker does) and keeps a state file', async () => {
    const state = join(dirname(bundle), 'state.json');
    const r = await client(
      'verify',
      '--server',
      server.url,
      '--state',
      state,
      '--output',
      'ref',
      GUN
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${GUN}@${digest}\n`);
    assert.ok(existsSync(state));
    const bad = await client('check', '--server', server.url);
    assert.equal(bad.code, 2);
  });
});
