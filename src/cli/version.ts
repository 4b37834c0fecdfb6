/** `countersign --version`: the package version (x.y.z alone, for scripts), from package.json. */
import { readFileSync } from 'node:fs';

export function packageVersion(): string {
  // dist/src/cli/version.js → the package root is three levels up (src/cli/ when run from source).
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === 'countersign' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // try the next place
    }
  }
  return 'unknown';
}

export function printVersion(out: NodeJS.WritableStream = process.stdout): number {
  out.write(`${packageVersion()}\n`);
  return 0;
}
