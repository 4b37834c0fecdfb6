/**
 * Whether the installed `countersign check|verify|pull` may run the client bundle
 * (`dist/countersign-client.mjs`, scripts/bundle-client.mjs) instead of the compiled modules: it
 * starts faster (one file, V8's code cache; docs/client.md "Start-up time"), but it must be the
 * same code. The bundle is built from the compiled files in dist/src/ and names them, with their
 * sizes and SHA-256, on its second line. It is current while every one of them still has that
 * size and either was not written after the bundle or, if it was (a `tsc` run after a change, or
 * an install that unpacked it after the bundle), still has that content. Only those later files
 * are read, so in a checkout built by `npm run build` the check costs a stat per file. Any doubt —
 * no bundle, no or a damaged build line, a file missing — means the modules run.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readFileHead } from './file-head.js';
import { wantsHelp } from './help-flag.js';

/** The commands the bundle has. Their help stays on the modules: it loads almost nothing. */
const BUNDLED_COMMANDS = new Set(['check', 'verify', 'pull']);
const BUILD_LINE = '// countersign-client-build ';
/** The first two lines of the bundle: the #! line and the build line (about 8 KB). */
const MAX_HEAD_BYTES = 64 * 1024;
const FILE_NAME = /^src\/[A-Za-z0-9_/.-]+\.js$/;

/** One compiled file the bundle was built from: its path under dist/, size and SHA-256 (hex). */
export type BuiltFrom = readonly [path: string, size: number, sha256: string];

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
  return files.every(([path, size, sha256]) => {
    const file = join(root, path);
    const st = statSync(file, { throwIfNoEntry: false });
    if (st === undefined || !st.isFile() || st.size !== size) return false;
    return st.mtimeMs <= head.stats.mtimeMs || sha256Of(file) === sha256;
  });
}

function sha256Of(file: string): string | undefined {
  try {
    // node:crypto only here, when a file is newer: `countersign check --help` never loads it.
    const { createHash } = process.getBuiltinModule('node:crypto');
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
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
      f.length === 3 &&
      typeof f[0] === 'string' &&
      FILE_NAME.test(f[0]) &&
      !f[0].split('/').includes('..') &&
      Number.isSafeInteger(f[1]) &&
      (f[1] as number) >= 0 &&
      typeof f[2] === 'string' &&
      /^[0-9a-f]{64}$/.test(f[2])
  );
  return ok ? (files as BuiltFrom[]) : undefined;
}
