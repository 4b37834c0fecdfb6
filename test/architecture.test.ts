/**
 * Layering rules that keep the code base easy to change (README "Architecture"): every
 * third-party package is reached through one place of ours, and the pure TUF core does no I/O.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from './helpers/paths.js';

/** Package → the source files (or folder, ending in /) allowed to import it at run time. */
const ALLOWED: Record<string, readonly string[]> = {
  '@noble/curves': ['src/crypto/signing.ts'],
  '@peculiar/x509': ['src/crypto/certificates.ts'],
  'better-sqlite3': ['src/storage/sqlite.ts'],
  pg: ['src/storage/postgres.ts'],
  busboy: ['src/http/multipart.ts'],
  pino: ['src/util/log.ts'],
  'prom-client': ['src/metrics/metrics.ts'],
  // The store API's route modules are written against express's router.
  express: ['src/http/'],
};

/** Folders of the pure core: no file system, network, processes or clock of their own. */
const PURE = ['src/tuf/', 'src/canonical/', 'src/crypto/'];
const IO_MODULES = [
  'node:fs',
  'node:net',
  'node:http',
  'node:https',
  'node:child_process',
  'node:cluster',
];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Run-time import specifiers (type-only imports are erased and do not count). */
function runtimeImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*import\s+(?!type\s)[^;]*?from\s+'([^']+)'/gm))
    out.push(m[1] as string);
  for (const m of text.matchAll(/import\(\s*'([^']+)'\s*\)/g)) out.push(m[1] as string);
  return out;
}

const files = sources(join(repoRoot, 'src')).map((p) => ({
  path: relative(repoRoot, p),
  text: readFileSync(p, 'utf8'),
}));

describe('architecture', () => {
  it('reaches every third-party package through its one module', () => {
    const violations: string[] = [];
    for (const f of files) {
      for (const spec of runtimeImports(f.text)) {
        if (spec.startsWith('.') || spec.startsWith('node:')) continue;
        const pkg = spec.startsWith('@')
          ? spec.split('/').slice(0, 2).join('/')
          : (spec.split('/')[0] as string);
        const allowed = ALLOWED[pkg];
        if (!allowed) violations.push(`${f.path} imports ${pkg}, which has no home in ALLOWED`);
        else if (!allowed.some((a) => (a.endsWith('/') ? f.path.startsWith(a) : f.path === a)))
          violations.push(`${f.path} imports ${pkg} (allowed only in ${allowed.join(', ')})`);
      }
    }
    assert.deepEqual(violations, []);
  });

  it('keeps the TUF core, canonical JSON and crypto free of I/O and of the clock', () => {
    const violations: string[] = [];
    for (const f of files.filter((x) => PURE.some((p) => x.path.startsWith(p)))) {
      for (const spec of runtimeImports(f.text))
        if (IO_MODULES.includes(spec)) violations.push(`${f.path} imports ${spec}`);
      if (/\bDate\.now\(\)|new Date\(\)/.test(f.text)) violations.push(`${f.path} reads the clock`);
    }
    assert.deepEqual(violations, []);
  });

  it('lets only the composition root and the CLI import app.ts', () => {
    const importers = files
      .filter((f) => runtimeImports(f.text).some((s) => s.endsWith('/app.js') || s === './app.js'))
      .map((f) => f.path);
    assert.ok(
      importers.every((p) => p.startsWith('src/cli/') || p === 'src/index.ts'),
      importers.join(', ')
    );
  });
});
