/**
 * The CLI as a process: `--version`, per-command help for every command, "did you mean", and
 * lazy loading — `countersign --version`, `--help` and `check --help` must not import the server
 * stack, the client commands' help not the argument parser, and no client command the X.509
 * library (certificates are read with node:crypto and src/crypto/der.ts). (The
 * CommonJS cache at exit adds what was loaded with require.) An ES module resolve hook (registered with --import) logs every module the process
 * resolves; the same hook shows `serve --help` does load express, so the check can fail.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Cleanup } from '../helpers/cleanup.js';
import { run } from '../helpers/proc.js';
import { repoRoot } from '../helpers/paths.js';

const BIN = join(repoRoot, 'bin/countersign.js');
const VERSION = (
  JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }
).version;
const SERVER_STACK = ['express', 'pg', 'better-sqlite3', 'prom-client', 'pino'];
/** The X.509 library and its ASN.1 layer: for issuing certificates (serve), never for reading them. */
const X509_STACK = ['@peculiar/x509', '@peculiar/asn1-x509', '@peculiar/asn1-schema'];

const cleanup = new Cleanup();
after(() => cleanup.run());

function cli(args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = [], entry = BIN) {
  return run(process.execPath, [...nodeArgs, entry, ...args], {
    env: { PATH: process.env.PATH, ...env },
    timeoutMs: 60_000,
  });
}

/**
 * Runs the CLI with a hook that logs each resolved module URL; returns the packages loaded.
 * `modules`: through the compiled modules even where bin/countersign.js would run the client
 * bundle (src/cli/client-bundle.ts), which holds its packages inside.
 */
async function packagesLoaded(
  args: string[],
  modules = false
): Promise<{ code: number; packages: Set<string> }> {
  const dir = cleanup.tempDir('countersign-imports-');
  const log = join(dir, 'imports.log');
  writeFileSync(log, '');
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, result.url + '\\n');
  return result;
}
`
  );
  writeFileSync(
    join(dir, 'register.mjs'),
    // Packages loaded with require (createRequire) skip the resolve hook: the CommonJS cache at
    // exit names them.
    `import { register, createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';
register(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => appendFileSync(${JSON.stringify(log)}, Object.keys(cache).join('\\n') + '\\n'));
`
  );
  const entry = join(dir, 'modules.mjs');
  writeFileSync(
    entry,
    `import { main } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'dist/src/cli/main.js')).href)};
process.exitCode = await main(process.argv.slice(2));
`
  );
  const hook = ['--import', pathToFileURL(join(dir, 'register.mjs')).href];
  const r = await cli(args, {}, hook, modules ? entry : BIN);
  const packages = new Set<string>();
  for (const url of readFileSync(log, 'utf8').split('\n')) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (m) packages.add(m[1] as string);
  }
  return { code: r.code, packages };
}

describe('CLI habits', () => {
  it('prints the version (x.y.z) for --version, -v, version and serve -version', async () => {
    assert.match(VERSION, /^\d+\.\d+\.\d+$/);
    for (const args of [
      ['--version'],
      ['-v'],
      ['version'],
      ['serve', '-version'],
      ['serve', '--version'],
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 0, args.join(' '));
      assert.equal(r.stdout, `${VERSION}\n`, args.join(' '));
    }
  });

  it("prints each command's help for COMMAND -h and --help, exit 0", async () => {
    const expected: Record<string, RegExp> = {
      serve: /Usage: countersign serve[\s\S]*-config FILE/,
      config: /Usage: countersign config check/,
      check: /--gun/,
      verify: /Usage: countersign verify [\s\S]*IMAGE/,
      pull: /Usage: countersign pull [\s\S]*IMAGE/,
      user: /countersign user add NAME/,
      backup: /countersign backup \(--config FILE \| --data-dir DIR\) OUT/,
      restore: /countersign restore BACKUP/,
      keys: /countersign keys reseal/,
      'import-notary': /countersign import-notary --from-db/,
      adopt: /countersign adopt GUN --trust-dir DIR/,
      submit: /countersign submit GUN:TAG/,
      approve: /countersign approve ID/,
      audit: /countersign audit verify/,
      submission: /countersign submission get ID/,
      reject: /countersign reject ID --note/,
      publish: /countersign publish ID/,
      revoke: /countersign revoke PUBLIC_GUN:TAG/,
      report: /countersign report ID FILE/,
      waive: /countersign waive ID --check/,
      help: /Usage: countersign COMMAND/,
    };
    for (const [command, pattern] of Object.entries(expected)) {
      for (const flag of ['-h', '--help']) {
        const r = await cli([command, flag]);
        assert.equal(r.code, 0, `${command} ${flag}: ${r.stderr}`);
        assert.match(r.stdout, pattern, `${command} ${flag}`);
      }
    }
    const sub = await cli(['user', 'add', '--help']);
    assert.equal(sub.code, 0, sub.stderr);
    assert.match(sub.stdout, /countersign user add NAME/);
  });

  it('suggests the nearest command for a typo', async () => {
    const r = await cli(['chek', '--gun', 'x']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command "chek" \(did you mean "check"\?\)/);
    const far = await cli(['frobnicate']);
    assert.equal(far.code, 2);
    assert.doesNotMatch(far.stderr, /did you mean/);
  });

  it('loads none of the server stack for --version, --help and check --help', async () => {
    for (const args of [
      ['--version'],
      ['--help'],
      ['check', '--help'],
      ['config', 'check', '--help'],
    ]) {
      const { code, packages } = await packagesLoaded(args);
      assert.equal(code, 0, args.join(' '));
      const loaded = SERVER_STACK.filter((p) => packages.has(p));
      assert.deepEqual(loaded, [], `${args.join(' ')} loaded ${loaded.join(', ')}`);
    }
  });

  it('loads no argument parser for --version, --help and the client helps, and no X.509 library even for check', async () => {
    for (const args of [
      ['--version'],
      ['--help'],
      ['check', '--help'],
      ['verify', '-h'],
      ['help', 'pull'],
    ]) {
      const { code, packages } = await packagesLoaded(args);
      assert.equal(code, 0, args.join(' '));
      const loaded = ['commander', ...X509_STACK].filter((p) => packages.has(p));
      assert.deepEqual(loaded, [], `${args.join(' ')} loaded ${loaded.join(', ')}`);
    }
    // The hook does see the parser when a client command runs (port 1 refuses: exit 4,
    // unreachable); the X.509 library stays out of it all the same.
    const { code, packages } = await packagesLoaded(
      ['check', '--server', 'http://127.0.0.1:1', '--gun', 'example.com/x'],
      true
    );
    assert.equal(code, 4);
    assert.ok(packages.has('commander'), [...packages].join(', '));
    const x509 = X509_STACK.filter((p) => packages.has(p));
    assert.deepEqual(x509, [], `check loaded ${x509.join(', ')}`);
  });

  it('does load the server stack for serve (the hook sees it)', async () => {
    const { code, packages } = await packagesLoaded(['serve', '--help']);
    assert.equal(code, 0);
    assert.ok(packages.has('express') && packages.has('pino'), [...packages].join(', '));
    assert.ok(packages.has('@peculiar/x509'), [...packages].join(', '));
  });
});
