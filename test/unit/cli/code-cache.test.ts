/**
 * The client bundle's V8 code cache (src/cli/code-cache.ts): made by a run, taken by the next,
 * extended by a new command, and every doubtful file — corrupt, truncated, oversized, for other
 * source, writable by others, another user's — treated as no cache, with the code still run. Writing never follows a planted link and never throws.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import {
  chmodSync,
  chownSync,
  existsSync,
  readFileSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  MAX_CACHE_BYTES,
  cacheFileFor,
  cacheKey,
  readCache,
  runWithCodeCache,
  writeCache,
} from '../../../src/cli/code-cache.js';
import { Cleanup } from '../../helpers/cleanup.js';

const cleanup = new Cleanup();
after(() => cleanup.run());

const ran = globalThis as unknown as { codeCacheRuns?: string[] };

/** A body big enough for V8 to cache, that records that it ran (and through which require). */
function source(tag: string): string {
  const fns = Array.from({ length: 50 }, (_, i) => `function f${i}(x){return x*${i}+${i};}`);
  return `${fns.join('\n')}
const path = require('node:path');
(globalThis.codeCacheRuns ??= []).push(${JSON.stringify(tag)} + ':' + f7(1) + ':' + path.basename(__filename));
module.exports.ok = true;`;
}

function run(src: string, cacheFile: string | undefined, command = 'check') {
  ran.codeCacheRuns = [];
  const filename = cacheFile ? join(dirname(cacheFile), 'bundle.mjs') : '/nowhere/bundle.mjs';
  const outcome = runWithCodeCache(
    src,
    { require: createRequire(import.meta.url), filename },
    cacheFile,
    command
  );
  assert.deepEqual(ran.codeCacheRuns, [`${src === A ? 'a' : 'b'}:14:bundle.mjs`]);
  return outcome;
}

const A = source('a');
const B = source('b');

function freshCache(): string {
  const file = join(cleanup.tempDir('code-cache-'), 'bundle.mjs.cache');
  const first = run(A, file);
  assert.equal(first.accepted, false);
  assert.ok(first.save, 'a first run offers to save');
  first.save();
  return file;
}

describe('code cache', () => {
  it('is made by a first run and taken by the next; a new command extends it', () => {
    const file = freshCache();
    assert.equal(statSync(file).mode & 0o777, 0o644);
    assert.match(readFileSync(file, 'latin1'), /^countersign-code-cache 1\n[0-9a-f]{64}\n/);
    const second = run(A, file);
    assert.equal(second.accepted, true);
    assert.deepEqual(second.commands, ['check']);
    assert.equal(second.save, undefined, 'nothing to rewrite for the same command');
    const verify = run(A, file, 'verify');
    assert.equal(verify.accepted, true);
    assert.ok(verify.save);
    verify.save();
    assert.deepEqual(run(A, file, 'verify').commands, ['check', 'verify']);
  });

  it('is not used for other source, and is rewritten for it', () => {
    // A and B have the same length, which is all V8 itself compares: given A's bytecode for B it
    // would run A. The sha256 key in the header is what refuses it.
    assert.equal(A.length, B.length);
    const file = freshCache();
    const other = run(B, file);
    assert.equal(other.accepted, false);
    other.save?.();
    assert.equal(run(B, file).accepted, true);
    assert.equal(run(A, file).accepted, false);
  });

  it('treats a corrupt, truncated, empty or oversized file as no cache', () => {
    const corrupt = freshCache();
    const bytes = readFileSync(corrupt);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] as number) ^ 0xff;
    writeFileSync(corrupt, bytes);
    assert.equal(run(A, corrupt).accepted, false);

    const truncated = freshCache();
    truncateSync(truncated, 300);
    assert.equal(run(A, truncated).accepted, false);

    const empty = freshCache();
    writeFileSync(empty, '');
    assert.equal(run(A, empty).accepted, false);

    const big = freshCache();
    truncateSync(big, MAX_CACHE_BYTES + 1);
    assert.equal(readCache(big, cacheKey(A)), undefined);
  });

  it('never uses a file others can write, nor (as root) another user’s', () => {
    const shared = freshCache();
    chmodSync(shared, 0o666);
    assert.equal(run(A, shared).accepted, false);
    if (process.getuid?.() === 0) {
      const foreign = freshCache();
      chownSync(foreign, 65534, 65534);
      assert.equal(run(A, foreign).accepted, false);
    }
  });

  it('writes nothing and throws nothing where it cannot write, and follows no planted link', () => {
    const missing = join(cleanup.tempDir('code-cache-'), 'no-such-dir', 'bundle.mjs.cache');
    writeCache(missing, cacheKey(A), ['check'], Buffer.from('x'));
    assert.equal(existsSync(missing), false);

    const dir = cleanup.tempDir('code-cache-');
    const file = join(dir, 'bundle.mjs.cache');
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'keep me');
    symlinkSync(victim, join(dir, `.${basename(file)}.${process.pid}.tmp`));
    writeCache(file, cacheKey(A), ['check'], Buffer.from('bytecode'));
    assert.equal(readFileSync(victim, 'utf8'), 'keep me');
    assert.equal(existsSync(file), false);
  });

  it('runs without a cache when COUNTERSIGN_CODE_CACHE=0, and refuses other values', () => {
    assert.equal(cacheFileFor('/x/bundle.mjs', { COUNTERSIGN_CODE_CACHE: '0' }), undefined);
    assert.equal(cacheFileFor('/x/bundle.mjs', {}), '/x/bundle.mjs.cache');
    assert.equal(
      cacheFileFor('/x/bundle.mjs', { COUNTERSIGN_CODE_CACHE: '1' }),
      '/x/bundle.mjs.cache'
    );
    assert.throws(
      () => cacheFileFor('/x/bundle.mjs', { COUNTERSIGN_CODE_CACHE: 'no' }),
      /COUNTERSIGN_CODE_CACHE must be 0 or 1, not "no"/
    );
    const outcome = run(A, undefined);
    assert.equal(outcome.accepted, false);
    assert.equal(outcome.save, undefined);
  });
});
