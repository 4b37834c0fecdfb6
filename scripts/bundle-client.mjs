#!/usr/bin/env node
// The client-only bundle (docs/client.md "Installing the client alone"): `check`, `verify` and
// `pull` in one ES module file with every dependency inside, for machines that should not build
// the server's native dependencies. Fails when the bundle would reach a server-only package.
//   node scripts/bundle-client.mjs [OUTFILE]   (default dist/countersign-client.mjs; run tsc first)
// Built from the compiled files in dist/src/ (docs/client.md "Start-up time"): the client
// (client-bin.js) as one minified CommonJS body, then the file itself: client-loader.js with that
// body as a string, which it runs through V8's code cache kept beside the file
// (src/cli/code-cache.ts). Beside OUTFILE, for bin/countersign.js: the same loader and body as a
// CommonJS file (countersign-client.cjs: no ES module loader to start), and client-bundle.cjs,
// which tells whether that file is current (src/cli/client-bundle.ts). The second line of both
// bundle files names the compiled files they were built from, with their sizes and SHA-256.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = process.argv[2] ?? join(root, 'dist/countersign-client.mjs');
if (!outfile.endsWith('.mjs')) {
  console.error('bundle-client: OUTFILE must end with .mjs (the CommonJS twin gets .cjs)');
  process.exit(2);
}
const compiled = join(root, 'dist/src/cli');
if (!existsSync(join(compiled, 'client-bin.js'))) {
  console.error(
    'bundle-client: dist/src/cli/client-bin.js is missing: run tsc -p tsconfig.json first'
  );
  process.exit(1);
}
const { buildLine } = await import(pathToFileURL(join(compiled, 'client-bundle.js')).href);
/**
 * Packages the client must never pull in: the server stack, anything native, and the X.509
 * issuing library (the client reads certificates with src/crypto/der.ts).
 */
const SERVER_ONLY = [
  'better-sqlite3',
  'pg',
  'express',
  'pino',
  'prom-client',
  'busboy',
  '@peculiar',
];

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  absWorkingDir: root,
  // ES module builds, where a package has both, can be tree-shaken and need no CommonJS
  // wrappers; esbuild's default for node prefers `main`.
  mainFields: ['module', 'main'],
  minify: true,
  metafile: true,
  write: false,
  logLevel: 'warning',
};

const body = await build({
  ...common,
  entryPoints: [join(compiled, 'client-bin.js')],
  format: 'cjs',
  outfile,
  legalComments: 'linked',
});
const inputs = Object.keys(body.metafile.inputs);
const leaked = SERVER_ONLY.filter((p) => inputs.some((i) => i.includes(`node_modules/${p}/`)));
if (leaked.length > 0) {
  console.error(`the client bundle reaches server-only packages: ${leaked.join(', ')}`);
  process.exit(1);
}
const code = body.outputFiles.find((f) => f.path === outfile);
const legal = body.outputFiles.filter((f) => f !== code);
const define = { COUNTERSIGN_CLIENT_BODY: JSON.stringify(code.text) };
const loader = join(compiled, 'client-loader.js');
const esm = await build({ ...common, entryPoints: [loader], format: 'esm', define });
const cjs = await build({
  ...common,
  entryPoints: [loader],
  format: 'cjs',
  define: { ...define, 'import.meta.url': 'importMetaUrl' },
  banner: { js: "var importMetaUrl=require('node:url').pathToFileURL(__filename).href;" },
});
const check = await build({
  ...common,
  entryPoints: [join(compiled, 'client-bundle.js')],
  format: 'cjs',
  minify: false,
});

// What they were built from: every compiled file of ours in any pass (the freshness check's
// own included), its size and SHA-256.
const ours = [body, esm, cjs, check]
  .flatMap((b) => Object.keys(b.metafile.inputs))
  .filter((i) => i.startsWith('dist/'));
const builtFrom = [...new Set(ours)].sort().map((i) => {
  const bytes = readFileSync(join(root, i));
  return [i.slice('dist/'.length), bytes.length, createHash('sha256').update(bytes).digest('hex')];
});
const head = `#!/usr/bin/env node\n${buildLine(builtFrom)}\n`;
const twin = outfile.replace(/\.mjs$/, '.cjs');
/** Whole or not at all: a build cut short must not leave a current-looking, truncated bundle. */
const writeWhole = (file, text) => {
  writeFileSync(`${file}.${process.pid}.tmp`, text);
  renameSync(`${file}.${process.pid}.tmp`, file);
};
writeWhole(join(dirname(outfile), 'client-bundle.cjs'), check.outputFiles[0].text);
writeWhole(outfile, head + esm.outputFiles[0].text);
writeWhole(twin, head + cjs.outputFiles[0].text);
// The licences of what is inside, beside the bundle (legalComments: 'linked'); none, none.
rmSync(`${outfile}.LEGAL.txt`, { force: true });
for (const f of legal) writeFileSync(f.path, f.contents);
console.log(`${outfile} (and ${twin}): ${inputs.length} modules`);
