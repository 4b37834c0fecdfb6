/**
 * Whether the installed `countersign check|verify|pull` may run the client bundle
 * (`dist/countersign-client.mjs`, scripts/bundle-client.mjs) instead of the compiled modules: it
 * starts faster (one file, V8's code cache; docs/client.md "Start-up time"), but it must be the
 * same code. The bundle is built from the compiled files in dist/src/ and names them, with their
 * sizes, on its second line. It is current when every one of them still has that size and none
 * was written after the bundle — a `tsc` run alone after a source change rewrites the changed
 * files and so makes the bundle stale until the next `npm run build`. (A packed tarball sets
 * every file's time to the same instant, which keeps the bundle current once installed.) Any
 * doubt — no bundle, no or a damaged build line, a file missing — means the modules run.
 */
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readFileHead } from './file-head.js';
import { wantsHelp } from './help-flag.js';

/** The commands the bundle has. Their help stays on the modules: it loads almost nothing. */
const BUNDLED_COMMANDS = new Set(['check', 'verify', 'pull']);
const BUILD_LINE = '// countersign-client-build ';
/** The first two lines of the bundle: the #! line and the build line (about 4 KB). */
const MAX_HEAD_BYTES = 256 * 1024;
const FILE_NAME = /^src\/[A-Za-z0-9_/.-]+\.js$/;

/** One compiled file the bundle was built from: its path under dist/ and its size in bytes. */
export type BuiltFrom = readonly [path: string, size: number];

/** The build line the bundle script writes after the #! line. */
export function buildLine(files: readonly BuiltFrom[]): string {
  return `${BUILD_LINE}${JSON.stringify({ files })}`;
}

/** True when `argv` runs a command the bundle has, and not just its help. */
export function bundledCommand(argv: readonly string[]): boolean {
  return BUNDLED_COMMANDS.has(argv[0] ?? '') && !wantsHelp(argv.slice(1));
}

/** Whether the bundle at `bundleFile` was built from the compiled files beside it, as they are now. */
export function bundleIsCurrent(bundleFile: string): boolean {
  const head = readFileHead(bundleFile, MAX_HEAD_BYTES, () => true);
  if (!head) return false;
  const files = builtFrom(head.bytes.toString('utf8'));
  if (!files || files.length === 0) return false;
  const root = dirname(bundleFile);
  return files.every(([path, size]) => {
    const st = statSync(join(root, path), { throwIfNoEntry: false });
    return st !== undefined && st.isFile() && st.size === size && st.mtimeMs <= head.stats.mtimeMs;
  });
}

/** The files named on the build line (the second line), or undefined if it is not one. */
export function builtFrom(head: string): BuiltFrom[] | undefined {
  const start = head.indexOf('\n') + 1;
  const end = head.indexOf('\n', start);
  if (start === 0 || end < 0 || !head.startsWith(BUILD_LINE, start)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(head.slice(start + BUILD_LINE.length, end));
  } catch {
    return undefined;
  }
  const files = (parsed as { files?: unknown } | null)?.files;
  if (!Array.isArray(files)) return undefined;
  const ok = files.every(
    (f: unknown) =>
      Array.isArray(f) &&
      f.length === 2 &&
      typeof f[0] === 'string' &&
      FILE_NAME.test(f[0]) &&
      !f[0].split('/').includes('..') &&
      Number.isSafeInteger(f[1]) &&
      (f[1] as number) >= 0
  );
  return ok ? (files as BuiltFrom[]) : undefined;
}
