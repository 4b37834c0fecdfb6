#!/usr/bin/env node
// The `countersign` command: the compiled CLI (npm ci builds it through `prepare`). check, verify
// and pull run the client bundle dist/countersign-client.mjs instead — the same code, started
// faster — while it is current with the compiled files (src/cli/client-bundle.ts; docs/client.md
// "Start-up time"); everything else, and those too when it is not, runs the compiled modules.
import { fileURLToPath } from 'node:url';
import { bundledCommand, bundleIsCurrent } from '../dist/src/cli/client-bundle.js';

const args = process.argv.slice(2);
const bundle = new URL('../dist/countersign-client.mjs', import.meta.url);

if (bundledCommand(args) && bundleIsCurrent(fileURLToPath(bundle))) {
  await import(bundle.href);
} else {
  const { main } = await import('../dist/src/cli/main.js');
  main(args).then(
    (code) => {
      if (typeof code === 'number') process.exitCode = code;
    },
    (err) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exitCode = 1;
    }
  );
}
