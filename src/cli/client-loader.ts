/**
 * The outer entry of the client bundle file (scripts/bundle-client.mjs): the client itself
 * (`client-bin.ts`, bundled as CommonJS) is a string put in here at build time, run through V8's
 * code cache kept beside the file (src/cli/code-cache.ts; docs/client.md "Start-up time").
 * Only the bundle runs this module; compiled by tsc alone it has no body to run.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { cacheFileFor, runWithCodeCache } from './code-cache.js';

/** The client's CommonJS source, defined by the bundle script (esbuild `define`). */
declare const COUNTERSIGN_CLIENT_BODY: string;

/** The commands a cache is made by; anything else (help, a typo) counts as one more. */
const COMMANDS = ['check', 'verify', 'pull'];

const file = fileURLToPath(import.meta.url);
const command = process.argv[2] ?? '';
let cacheFile: string | undefined;
try {
  cacheFile = cacheFileFor(file, process.env);
} catch (err) {
  process.stderr.write(`countersign: ${(err as Error).message}\n`);
  process.exit(2);
}
const { save } = runWithCodeCache(
  COUNTERSIGN_CLIENT_BODY,
  { require: createRequire(import.meta.url), filename: file },
  cacheFile,
  COMMANDS.includes(command) ? command : 'other'
);
// At exit the bytecode holds every function this run compiled.
if (save) process.once('exit', save);
