/** Paths of the repository, from compiled tests (dist/test/…) or sources alike. */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

export const repoRoot = findRoot();
export const fixturePath = (...parts: string[]): string => resolve(repoRoot, 'fixtures', ...parts);
