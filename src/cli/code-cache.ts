/**
 * Runs the client bundle's code through V8's code cache (docs/client.md "Start-up time"): the
 * bundle's CommonJS body is compiled with `vm.Script` and the bytecode V8 made for it — including
 * the functions the run actually called, compiled lazily — is kept in a file beside the bundle
 * (`countersign-client.mjs.cache`). The next run deserialises it instead of parsing and compiling
 * the ~250 KB again.
 *
 * A cache is only ever an optimisation, so every doubt means "compile as if there were none":
 * a missing, unreadable, oversized, truncated or corrupt file, one made for other source or
 * another Node.js, one V8 rejects, one not owned by this user or writable by others (bytecode is
 * code: another user's file must never run in this process). A run that could not use the cache
 * replaces it (atomically, a new file created exclusively); a directory it cannot write to just
 * means no cache. COUNTERSIGN_CODE_CACHE=0 turns it off.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { readFileHead } from './file-head.js';

/** Far above what the bundle's bytecode needs (about 1 MB); a bigger file is not ours. */
export const MAX_CACHE_BYTES = 32 * 1024 * 1024;
const MAGIC = 'countersign-code-cache 1';

/** What a CommonJS body is called with. */
export interface CommonJsScope {
  readonly require: NodeJS.Require;
  readonly filename: string;
}

export interface CacheOutcome {
  /** V8 took the cached bytecode. */
  readonly accepted: boolean;
  /** Commands the cache was made by (a new command rewrites it with its own functions). */
  readonly commands: readonly string[];
  /**
   * Writes the cache anew, when this run could not use it or ran a command it was not made by;
   * called at exit, so that the functions the run compiled are in the bytecode too.
   */
  readonly save: (() => void) | undefined;
}

/**
 * Compiles and runs `source` as a CommonJS module body, with the code cache in `cacheFile`
 * (undefined: no cache). `command` names what this run does (check, verify, …): a cache made by
 * other commands lacks this one's functions, so `save` is offered to hold both.
 */
export function runWithCodeCache(
  source: string,
  scope: CommonJsScope,
  cacheFile: string | undefined,
  command: string
): CacheOutcome {
  const key = cacheKey(source);
  const kept = cacheFile === undefined ? undefined : readCache(cacheFile, key);
  const script = new Script(
    `(function (exports, require, module, __filename, __dirname) {${source}\n})`,
    { filename: scope.filename, ...(kept ? { cachedData: kept.data } : {}) }
  );
  const accepted = kept !== undefined && script.cachedDataRejected !== true;
  const commands = accepted ? kept.commands : [];
  const stale = cacheFile !== undefined && !(accepted && commands.includes(command));
  const all = [...new Set([...commands, command])].sort();
  const save = stale ? () => writeCache(cacheFile, key, all, script.createCachedData()) : undefined;
  const module = { exports: {} };
  const body = script.runInThisContext() as (...args: unknown[]) => void;
  body(module.exports, scope.require, module, scope.filename, dirname(scope.filename));
  return { accepted, commands, save };
}

/**
 * The cache beside `bundleFile`, or undefined when COUNTERSIGN_CODE_CACHE=0 or there is no uid to
 * check its owner against. Any value but 0, 1 or empty is a mistake, not a guess: it throws.
 */
export function cacheFileFor(bundleFile: string, env: NodeJS.ProcessEnv): string | undefined {
  const setting = env.COUNTERSIGN_CODE_CACHE ?? '';
  if (!['', '0', '1'].includes(setting))
    throw new Error(`COUNTERSIGN_CODE_CACHE must be 0 or 1, not ${JSON.stringify(setting)}`);
  if (setting === '0' || typeof process.getuid !== 'function') return undefined;
  return `${bundleFile}.cache`;
}

/**
 * Bytecode is valid only for this source on this Node.js. V8's own check compares the source's
 * length, not its text (given the bytecode of a same-length source it runs that other code), so
 * the header carries the hash of the text.
 */
export function cacheKey(source: string): string {
  return createHash('sha256')
    .update(`${process.version} ${process.arch}\n`)
    .update(source)
    .digest('hex');
}

/**
 * `MAGIC\nKEY\nPAYLOAD_SHA256\nCOMMANDS\n` then the bytecode. Anything that does not match
 * exactly, or a file another user owns or could write, is no cache.
 */
export function readCache(
  file: string,
  key: string
): { data: Buffer; commands: string[] } | undefined {
  const head = readFileHead(
    file,
    MAX_CACHE_BYTES,
    (st) => st.uid === process.getuid?.() && (st.mode & 0o022) === 0 && st.size <= MAX_CACHE_BYTES
  );
  if (!head || head.bytes.length !== head.stats.size) return undefined;
  return parseCache(head.bytes, key);
}

function parseCache(bytes: Buffer, key: string): { data: Buffer; commands: string[] } | undefined {
  let at = 0;
  const lines: string[] = [];
  for (let i = 0; i < 4; i++) {
    const nl = bytes.indexOf(0x0a, at);
    if (nl < 0 || nl - at > 1024) return undefined;
    lines.push(bytes.toString('latin1', at, nl));
    at = nl + 1;
  }
  const [magic, fileKey, digest, commands] = lines as [string, string, string, string];
  const data = bytes.subarray(at);
  if (magic !== MAGIC || fileKey !== key || data.length === 0) return undefined;
  if (createHash('sha256').update(data).digest('hex') !== digest) return undefined;
  return { data, commands: commands === '' ? [] : commands.split(',') };
}

/** Replaces the cache: a new file created exclusively (never through a planted link), renamed. */
export function writeCache(file: string, key: string, commands: string[], data: Buffer): void {
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  const digest = createHash('sha256').update(data).digest('hex');
  try {
    const fd = openSync(temp, 'wx', 0o644);
    try {
      writeSync(fd, `${MAGIC}\n${key}\n${digest}\n${commands.join(',')}\n`);
      writeSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch {
    // No cache this time (a read-only directory, a full disk): the next run compiles again.
    rmSync(temp, { force: true });
  }
}
