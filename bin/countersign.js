#!/usr/bin/env node
// The `countersign` command, CommonJS (bin/package.json) so that it starts without Node's ES
// module loader. check, verify and pull run the client bundle dist/countersign-client.cjs — the
// same code as the compiled modules, started faster (one file, V8's code cache) — while it is
// current with them (src/cli/client-bundle.ts, written beside it as client-bundle.cjs;
// docs/client.md "Start-up time"). Everything else, and those too when it is not current or not
// built (tsc alone), runs the compiled CLI in dist/src/ (npm ci builds both through `prepare`).
'use strict';
const { join } = require('node:path');

const args = process.argv.slice(2);

if (!ranBundle(args)) {
  import('../dist/src/cli/main.js')
    .then(({ main }) => main(args))
    .then(
      (code) => {
        if (typeof code === 'number') process.exitCode = code;
      },
      (err) => {
        console.error(err instanceof Error ? err.message : String(err));
        process.exitCode = 1;
      }
    );
}

/** Runs the client bundle if `argv` is one of its commands and it is current. */
function ranBundle(argv) {
  let freshness;
  try {
    freshness = require('../dist/client-bundle.cjs');
  } catch {
    return false; // not built: the compiled modules it is
  }
  const bundle = join(__dirname, '../dist/countersign-client.cjs');
  if (!freshness.bundledCommand(argv) || !freshness.bundleIsCurrent(bundle)) return false;
  require(bundle);
  return true;
}
