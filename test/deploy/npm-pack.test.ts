/**
 * The package works outside the checkout: `npm pack` makes a tarball holding the compiled CLI and
 * nothing of the development tree, `npm install -g --prefix TMP ./countersign-*.tgz` installs it
 * (dependencies come from the npm registry, better-sqlite3 is compiled on the spot), and the
 * installed `countersign` answers `--help` (its check runs the client bundle, current after the
 * install) and serves on SQLite from a directory that is not the checkout. This is what docs/deploy.md tells operators to do.
 *
 * It needs the npm registry. When the registry is unreachable the install fails and so does this
 * test, with npm's output: it never skips.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { bundleIsCurrent } from '../../src/cli/client-bundle.js';
import { Cleanup } from '../helpers/cleanup.js';
import { repoRoot } from '../helpers/paths.js';
import { freePort, runChecked, Service } from '../helpers/proc.js';

/** Compiling better-sqlite3 on 2 busy cores took up to 6.5 minutes; the registry fetch adds some. */
const INSTALL_TIMEOUT_MS = 8 * 60_000;

interface PackedFile {
  path: string;
}

describe('npm pack + npm install -g of the tarball', () => {
  const cleanup = new Cleanup();
  let work: string;
  let prefix: string;
  let packed: string[];
  let installedBin: string;

  before(async () => {
    work = cleanup.tempDir('countersign-pack-');
    prefix = join(work, 'prefix');
    // --ignore-scripts: `npm test` compiled dist/ a moment ago, and a second tsc here would rewrite
    // files other test processes are reading. `prepare` (the build) is what `npm pack` runs
    // otherwise, and what `npm ci` runs on every fresh clone.
    const pack = await runChecked(
      'npm',
      ['pack', '--json', '--ignore-scripts', '--pack-destination', work],
      { cwd: repoRoot, timeoutMs: 120_000 }
    );
    const report = JSON.parse(pack.stdout) as [{ filename: string; files: PackedFile[] }];
    packed = report[0].files.map((f) => f.path);
    const tarball = join(work, report[0].filename);
    const started = Date.now();
    await runChecked(
      'npm',
      ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', `./${report[0].filename}`],
      {
        cwd: work,
        env: { ...process.env, npm_config_update_notifier: 'false' },
        timeoutMs: INSTALL_TIMEOUT_MS,
      }
    ).catch((e: unknown) => {
      throw new Error(
        `npm install -g ${tarball} failed; it needs the npm registry for the dependencies ` +
          `(is it reachable?)\n${(e as Error).message}`
      );
    });
    const installSeconds = (Date.now() - started) / 1000;
    console.log(`# npm install -g of the tarball took ${installSeconds.toFixed(0)} s`);
    installedBin = join(prefix, 'bin', 'countersign');
  });
  after(() => cleanup.run());

  it('ships the compiled CLI, the migrations, LICENSE and docs, and no sources or tests', () => {
    for (const p of [
      'bin/countersign.js',
      'dist/src/cli/main.js',
      'dist/countersign-client.mjs',
      'dist/countersign-client.cjs',
      'dist/client-bundle.cjs',
      'bin/package.json',
      'dist/src/storage/migrations/sqlite.js',
      'dist/src/storage/migrations/postgres.js',
      'LICENSE',
      'README.md',
      'docs/deploy.md',
      'deploy/countersign.service',
      'package.json',
    ]) {
      assert.ok(packed.includes(p), `${p} is missing from the tarball`);
    }
    const unwanted = packed.filter(
      (p) =>
        p.startsWith('src/') ||
        p.startsWith('test/') ||
        p.startsWith('dist/test/') ||
        p.startsWith('node_modules/') ||
        p.startsWith('data/') ||
        p.endsWith('.map') ||
        p.endsWith('.tsbuildinfo')
    );
    assert.deepEqual(unwanted, []);
  });

  it('installs an executable `countersign` that prints its help outside the checkout', async () => {
    assert.ok(existsSync(installedBin), `${installedBin} was not created`);
    assert.ok((statSync(installedBin).mode & 0o111) !== 0, 'countersign is not executable');
    const help = await runChecked(installedBin, ['--help'], { cwd: work });
    assert.match(help.stdout, /Usage: countersign COMMAND/);
    assert.match(help.stdout, /^ {2}serve +run the server/m);
    // The install unpacks files in any order; the client bundle must still count as current.
    const installed = join(prefix, 'lib/node_modules/countersign/dist/countersign-client.cjs');
    assert.equal(bundleIsCurrent(installed), true, `${installed} is not current`);
  });

  it('serves on SQLite with the native module the install compiled', async () => {
    const port = await freePort();
    const dataDir = join(work, 'data');
    const server = Service.start(
      installedBin,
      ['serve', '--listen', `127.0.0.1:${port}`, '--plain-http', '--data-dir', dataDir],
      { cwd: work }
    );
    cleanup.add(server);
    await server.waitForUrl(`http://127.0.0.1:${port}/_notary_server/health`, {
      timeoutMs: 30_000,
    });
    assert.ok(
      existsSync(join(dataDir, 'countersign.db')),
      `no SQLite database in ${dataDir}:\n${server.output()}`
    );
    // The command's `#!/usr/bin/env -S node …` line reached node: the server runs with the
    // smaller young generation (docs/performance.md "The young generation").
    const argv = readFileSync(`/proc/${server.pid}/cmdline`, 'utf8').split('\0');
    assert.ok(argv.includes('--max-semi-space-size=4'), argv.join(' '));
    assert.match(argv[0] ?? '', /(^|\/)node$/);
    await server.stop();
  });
});
