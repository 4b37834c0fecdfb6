#!/usr/bin/env node
// The client-only bundle (docs/client.md "Installing the client alone"): `check`, `verify` and
// `pull` in one ES module file with every dependency inside, for machines that should not build
// the server's native dependencies. Fails when the bundle would reach a server-only package.
//   node scripts/bundle-client.mjs [OUTFILE]   (default dist/countersign-client.mjs)
// Two passes (docs/client.md "Start-up time"): the client (src/cli/client-bin.ts) as one minified
// CommonJS body, then the file itself: src/cli/client-loader.ts with that body as a string, which
// it runs through V8's code cache kept beside the file (src/cli/code-cache.ts).
import { build } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = process.argv[2] ?? join(root, 'dist/countersign-client.mjs');
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
  // ES module builds, where a package has both, can be tree-shaken and need no CommonJS
  // wrappers; esbuild's default for node prefers `main`.
  mainFields: ['module', 'main'],
  minify: true,
  metafile: true,
  logLevel: 'warning',
};

const body = await build({
  ...common,
  entryPoints: [join(root, 'src/cli/client-bin.ts')],
  format: 'cjs',
  write: false,
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
await build({
  ...common,
  entryPoints: [join(root, 'src/cli/client-loader.ts')],
  format: 'esm',
  outfile,
  define: { COUNTERSIGN_CLIENT_BODY: JSON.stringify(code.text) },
  banner: { js: '#!/usr/bin/env node' },
});
// The licences of what is inside, beside the bundle (legalComments: 'linked'); none, none.
rmSync(`${outfile}.LEGAL.txt`, { force: true });
for (const f of legal) writeFileSync(f.path, f.contents);
console.log(`${outfile}: ${inputs.length} modules`);
