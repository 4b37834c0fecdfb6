/**
 * This program's version, from the package.json it ships with (three levels above the compiled
 * file: dist/src/util/ → the package root). Read once; "unknown" if the file cannot be read, so
 * a metrics label never stops a server from starting.
 */
import { readFileSync } from 'node:fs';

let version: string | undefined;

export function packageVersion(): string {
  if (version !== undefined) return version;
  try {
    const pkg = JSON.parse(
      readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')
    ) as { version?: unknown };
    version = typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    version = 'unknown';
  }
  return version;
}
