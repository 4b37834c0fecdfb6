#!/usr/bin/env node
// The certificate reader's ASN.1 layer (@peculiar/asn1-schema, @peculiar/asn1-x509 and what they
// use) as one minified CommonJS file, so that the installed `countersign check` reads one file
// instead of about 85 (docs/client.md "Start-up time"). src/crypto/asn1-lib.ts loads it when it
// exists and was built from the installed versions (listed in its `bundledVersions`), else the
// packages themselves: the file is an optimisation, never required.
//   node scripts/vendor-asn1.mjs [OUTFILE]   (default dist/src/crypto/asn1-vendor.cjs)
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = process.argv[2] ?? join(root, 'dist/src/crypto/asn1-vendor.cjs');

const result = await build({
  stdin: {
    contents:
      "export { AsnConvert } from '@peculiar/asn1-schema';\n" +
      "export { Certificate } from '@peculiar/asn1-x509';\n",
    resolveDir: root,
    loader: 'js',
  },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  mainFields: ['module', 'main'],
  minify: true,
  legalComments: 'eof',
  metafile: true,
  write: false,
  logLevel: 'warning',
});
/** Every package inside, by the version installed now. */
const versions = {};
for (const input of Object.keys(result.metafile.inputs)) {
  const m = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (m && versions[m[1]] === undefined) {
    const pkg = JSON.parse(readFileSync(join(root, 'node_modules', m[1], 'package.json'), 'utf8'));
    versions[m[1]] = pkg.version;
  }
}
for (const name of ['@peculiar/asn1-schema', '@peculiar/asn1-x509']) {
  if (versions[name] === undefined) {
    console.error(`vendor-asn1: ${name} is not in the bundle`);
    process.exit(1);
  }
}
const code = result.outputFiles[0].text;
writeFileSync(outfile, `${code}module.exports.bundledVersions = ${JSON.stringify(versions)};\n`);
console.log(`${outfile}: ${Object.keys(versions).length} packages`);
