/**
 * The installed `countersign check|verify` runs the client bundle (its CommonJS twin,
 * dist/countersign-client.cjs) while it is current with the compiled files
 * (src/cli/client-bundle.ts), and the compiled modules when it is stale or absent — with the
 * same output either way. A copy of the package (bin/, dist/src/, a fresh bundle; its
 * node_modules linked) is run as a process against a served repository; only the bundle writes
 * V8's code cache beside itself, which tells which of the two ran.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { builtFrom } from '../../src/cli/client-bundle.js';
import { Cleanup } from '../helpers/cleanup.js';
import { repoRoot } from '../helpers/paths.js';
import { run, type RunResult } from '../helpers/proc.js';
import { buildRepo } from '../unit/client/repo-builder.js';
import { serveSource, type StaticNotary } from './serve-source.js';

const GUN = 'registry.example/acme/installed';
const digest = `sha256:${Buffer.alloc(32, 9).toString('hex')}`;

describe('the installed command and the client bundle', () => {
  const cleanup = new Cleanup();
  let pkg: string;
  let bundle: string;
  let server: StaticNotary;

  const cli = (...args: string[]): Promise<RunResult> =>
    run(process.execPath, [join(pkg, 'bin/countersign.js'), ...args], {
      env: { PATH: process.env.PATH },
      timeoutMs: 60_000,
    });
  const cache = () => `${bundle}.cache`;

  /** check and verify through the installed command: their results, and whether the bundle ran. */
  async function both(): Promise<{ outputs: RunResult[]; bundled: boolean }> {
    rmSync(cache(), { force: true });
    const outputs = [
      await cli('check', '--server', server.url, '--gun', GUN, '--min-valid', '1h'),
      await cli('verify', '--server', server.url, `${GUN}:latest`),
      await cli('check', '--server', server.url, '--gun', 'registry.example/acme/absent'),
    ];
    return { outputs, bundled: existsSync(cache()) };
  }

  before(async () => {
    pkg = cleanup.tempDir('installed-bundle-');
    copyFileSync(join(repoRoot, 'package.json'), join(pkg, 'package.json'));
    mkdirSync(join(pkg, 'bin'));
    for (const f of ['countersign.js', 'package.json'])
      copyFileSync(join(repoRoot, 'bin', f), join(pkg, 'bin', f));
    cpSync(join(repoRoot, 'dist/src'), join(pkg, 'dist/src'), { recursive: true });
    symlinkSync(join(repoRoot, 'node_modules'), join(pkg, 'node_modules'));
    bundle = join(pkg, 'dist/countersign-client.cjs');
    const b = await run(
      process.execPath,
      [join(repoRoot, 'scripts/bundle-client.mjs'), join(pkg, 'dist/countersign-client.mjs')],
      {
        timeoutMs: 120_000,
      }
    );
    assert.equal(b.code, 0, b.stderr);
    const repo = await buildRepo({
      gun: GUN,
      targets: [{ name: 'latest', sha256: Buffer.alloc(32, 9), length: 70 }],
    });
    server = cleanup.add(await serveSource(repo.source, GUN));
  });
  after(() => cleanup.run());

  it("keeps check's help on the modules, which load no bundle", async () => {
    const r = await cli('check', '--help');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /--gun/);
    assert.equal(existsSync(cache()), false);
  });

  it('runs the bundle while it is current, the modules when stale or absent, alike', async () => {
    const current = await both();
    assert.equal(current.bundled, true, 'the current bundle did not run');
    const [checked, verified, absent] = current.outputs as [RunResult, RunResult, RunResult];
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stdout, new RegExp(`^ok: ${GUN} verifies`, 'm'));
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal(verified.stdout, `${digest} 70\n`);
    assert.equal(absent.code, 4);

    // A compiled file changed after the bundle (tsc alone), even at the same size: the modules run.
    const [first] = builtFrom(readFileSync(bundle, 'utf8').slice(0, 64 * 1024)) ?? [];
    assert.ok(first, 'the bundle names no compiled file');
    const named = join(pkg, 'dist', first[0]);
    const text = readFileSync(named, 'utf8');
    assert.ok(text.endsWith('.js.map'), `${named} does not end with its source map comment`);
    writeFileSync(named, `${text.slice(0, -1)}q`); // the comment names another map
    const later = new Date(statSync(bundle).mtimeMs + 5_000);
    utimesSync(named, later, later);
    const stale = await both();
    assert.equal(stale.bundled, false, 'a stale bundle ran');

    rmSync(bundle);
    const absentBundle = await both();
    assert.equal(absentBundle.bundled, false);

    // Not built at all (tsc alone): no freshness check beside it either.
    rmSync(join(pkg, 'dist/client-bundle.cjs'));
    const unbuilt = await both();
    assert.equal(unbuilt.bundled, false);

    for (const other of [stale, absentBundle, unbuilt])
      other.outputs.forEach((r, i) => {
        const same = current.outputs[i] as RunResult;
        assert.equal(r.code, same.code, `command ${i}: ${r.stderr}`);
        assert.equal(r.stdout, same.stdout, `command ${i}`);
        assert.equal(r.stderr, same.stderr, `command ${i}`);
      });
  });
});
