#!/usr/bin/env node
// The client-only bundle (docs/client.md "Installing the client alone"): `check` and `verify` in
// one ES module file with every dependency inside, for machines that should not build the
// server's native dependencies. Fails when the bundle would reach a server-only package.
//   node scripts/bundle-client.mjs [OUTFILE]   (default dist/countersign-client.mjs)
import { build } from 'esbuild';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = process.argv[2] ?? join(root, 'dist/countersign-client.mjs');
/** Packages the client must never pull in: the server stack and anything native. */
const SERVER_ONLY = ['better-sqlite3', 'pg', 'express', 'pino', 'prom-client', 'busboy'];

const result = await build({
  entryPoints: [join(root, 'src/cli/client-bin.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  metafile: true,
  legalComments: 'linked',
  // commander is CommonJS and requires node's own modules: an ES module bundle needs a require.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __bundleRequire } from 'node:module';\nconst require = __bundleRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
const inputs = Object.keys(result.metafile.inputs);
const leaked = SERVER_ONLY.filter((p) => inputs.some((i) => i.includes(`node_modules/${p}/`)));
if (leaked.length > 0) {
  console.error(`the client bundle reaches server-only packages: ${leaked.join(', ')}`);
  process.exit(1);
}
console.log(`${outfile}: ${inputs.length} modules`);
