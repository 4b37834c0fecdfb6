#!/usr/bin/env -S node --max-semi-space-size=4
// The server's young generation: V8 lets it grow to 2 × 16 MB under a stream of requests; with
// 4 MB semi-spaces the server's RSS is 20–25 MB smaller at the same request rate
// (docs/performance.md "The young generation"). A V8 flag can only be given at start, hence here;
// `env -S` splits the line (coreutils 8.30 and later). `node bin/countersign.js` runs without it.
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
