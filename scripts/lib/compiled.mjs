// The long-run scripts (crash, fuzz, soak) run harnesses that live with the tests: this compiles
// the project (tsc, incremental) and imports one compiled module of dist/.
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function importCompiled(relativePath) {
  const tsc = spawnSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', root],
    { stdio: 'inherit' }
  );
  if (tsc.status !== 0) process.exit(1);
  return import(pathToFileURL(join(root, 'dist', relativePath)).href);
}
