/**
 * Layering rules that keep the code base easy to change (README "Architecture"): every
 * third-party package is reached through one place of ours, the pure TUF core does no I/O, and
 * the module graph points one way, down a rank table of folders.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { repoRoot } from './helpers/paths.js';
import {
  cycles,
  importGraph,
  loopThrough,
  runtimeImports,
  unitGraph,
  unitOf,
  type SourceFile,
} from './helpers/import-graph.js';

/** Package → the source files (or folder, ending in /) allowed to import it at run time. */
const ALLOWED: Record<string, readonly string[]> = {
  '@peculiar/x509': ['src/crypto/x509-lib.ts'],
  'better-sqlite3': ['src/storage/sqlite-file.ts'],
  pg: ['src/storage/postgres.ts'],
  jose: ['src/crypto/jose-lib.ts'],
  mysql2: ['src/migrate/mysql-reader.ts'],
  busboy: ['src/http/multipart.ts'],
  commander: ['src/cli/args.ts'],
  pino: ['src/util/log.ts'],
  'prom-client': ['src/metrics/metrics.ts'],
  // The store API's route modules are written against express's router.
  express: ['src/http/', 'src/ui/'],
};

/**
 * The layers of src/, lowest first. A run-time import may only go to a unit of a LOWER rank
 * (or stay inside its own folder). Units of the same rank are siblings that know nothing of
 * each other: an import between them is refused too, so two folders can never import each
 * other and the folder graph has no loops by construction. Files directly in src/ are units of
 * their own (errors.ts sits at the bottom, app.ts near the top). A folder missing from the
 * table fails the test: a new folder must be placed.
 *
 * Type-only imports (`import type`) are erased by tsc and cannot make a loop at run time; they
 * are not ranked (a lower layer may name a higher layer's type, e.g. a config shape).
 */
const RANKS: Readonly<Record<string, number>> = {
  'src/errors.ts': 0,
  'src/metrics/': 0, // the Prometheus registry; cross-cutting, imports nothing of ours
  'src/util/': 1, // clock, log, bytes, durations
  'src/errors-doc.ts': 1, // renders the catalogue for docs/errors.md
  'src/canonical/': 2,
  'src/crypto/': 3,
  'src/tuf/': 4, // notary's TUF dialect, pure
  'src/storage/': 4,
  'src/signer/': 4,
  'src/registry/': 4, // the OCI distribution client
  'src/server/': 4, // TLS material
  'src/notary/': 5, // the Notary server's rules: current, update, keys, re-signing
  'src/client/': 5, // the TUF client workflow; never the server's modules
  'src/policy/': 5,
  'src/auth/': 5, // tokens, accounts, zones and the access decision
  'src/freshness/': 6,
  'src/jobs/': 6, // long work as jobs: the runner, its progress context
  'src/webhooks/': 6, // events, the signed delivery queue's worker
  'src/migrate/': 6, // moving in from notary-server: reads, verifies and writes through storage
  'src/sandbox/': 6, // healthcheck-run: images run in runc, in a runner process
  'src/store/': 7, // the certification chain
  'src/http/': 8, // the edge: Notary routes, store API
  'src/ui/': 8, // the review web UI: server-rendered pages over the store service
  'src/config/': 8,
  'src/app.ts': 9, // composition root
  'src/cli/': 10,
};

/** Every run-time import that breaks the rank table, as readable lines. */
function rankViolations(
  set: readonly SourceFile[],
  ranks: Readonly<Record<string, number>>
): string[] {
  const out: string[] = [];
  const graph = importGraph(set);
  for (const [from, tos] of graph) {
    const fromUnit = unitOf(from);
    const fromRank = ranks[fromUnit];
    if (fromRank === undefined) {
      out.push(`${from}: ${fromUnit} has no rank in RANKS`);
      continue;
    }
    for (const to of tos) {
      const toUnit = unitOf(to);
      if (toUnit === fromUnit) continue;
      const toRank = ranks[toUnit];
      if (toRank === undefined) out.push(`${from} imports ${to}: ${toUnit} has no rank in RANKS`);
      else if (toRank > fromRank)
        out.push(`${from} imports ${to}: upward (${fromUnit} ${fromRank} → ${toUnit} ${toRank})`);
      else if (toRank === fromRank)
        out.push(`${from} imports ${to}: sideways between siblings of rank ${toRank}`);
    }
  }
  return out;
}

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

const files: SourceFile[] = sources(join(repoRoot, 'src')).map((p) => ({
  path: relative(repoRoot, p).split(sep).join('/'),
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

  it('points every run-time import down the rank table', () => {
    assert.deepEqual(rankViolations(files, RANKS), []);
  });

  it('has no import loop between files, nor between folders', () => {
    const graph = importGraph(files);
    const describeLoops = (g: Map<string, string[]>) =>
      cycles(g).map((c) => (loopThrough(g, c[0] as string) ?? c).join(' → '));
    assert.deepEqual(describeLoops(graph), []);
    assert.deepEqual(describeLoops(unitGraph(graph)), []);
  });

  it('ranks only folders that exist, so the table stays true to the tree', () => {
    const units = new Set(files.map((f) => unitOf(f.path)));
    assert.deepEqual(
      Object.keys(RANKS).filter((u) => !units.has(u)),
      []
    );
  });

  describe('the checkers catch a wrong import (synthetic file sets)', () => {
    const file = (path: string, ...imports: string[]): SourceFile => ({
      path,
      text: imports.map((spec, i) => `import { x${i} } from '${spec}';`).join('\n'),
    });
    const ranks = {
      'src/errors.ts': 0,
      'src/util/': 1,
      'src/tuf/': 2,
      'src/auth/': 2,
      'src/http/': 3,
    };

    it('accepts imports that point down or stay inside a folder', () => {
      const set = [
        file('src/errors.ts'),
        file('src/util/clock.ts', '../errors.js'),
        file('src/tuf/a.ts', './b.js', '../util/clock.js'),
        file('src/tuf/b.ts'),
        file('src/http/api.ts', '../auth/login.js', '../tuf/a.js'),
        file('src/auth/login.ts'),
      ];
      assert.deepEqual(rankViolations(set, ranks), []);
    });

    it('reports an upward import, a sideways import and an unranked folder', () => {
      const set = [
        file('src/util/clock.ts', '../http/api.js'),
        file('src/http/api.ts'),
        file('src/tuf/a.ts', '../auth/login.js'),
        file('src/auth/login.ts'),
        file('src/extra/new.ts', '../util/clock.js'),
      ];
      assert.deepEqual(rankViolations(set, ranks).sort(), [
        'src/extra/new.ts: src/extra/ has no rank in RANKS',
        'src/tuf/a.ts imports src/auth/login.ts: sideways between siblings of rank 2',
        'src/util/clock.ts imports src/http/api.ts: upward (src/util/ 1 → src/http/ 3)',
      ]);
    });

    it('ignores type-only imports and counts re-exports and dynamic imports', () => {
      const set = [
        { path: 'src/util/a.ts', text: "import type { T } from '../http/api.js';" },
        { path: 'src/util/b.ts', text: "export { y } from '../http/api.js';" },
        { path: 'src/util/c.ts', text: "const m = await import('../http/api.js');" },
        file('src/http/api.ts'),
      ];
      assert.deepEqual(
        rankViolations(set, ranks).map((v) => v.split(' ')[0]),
        ['src/util/b.ts', 'src/util/c.ts']
      );
    });

    it('finds the loop auth → store → freshness → http → auth', () => {
      const set = [
        file('src/auth/setup.ts', '../store/zones.js'),
        file('src/store/zones.ts', '../freshness/facts.js'),
        file('src/freshness/facts.ts', '../http/metrics.js'),
        file('src/http/metrics.ts', '../auth/setup.js'),
      ];
      const graph = importGraph(set);
      assert.equal(cycles(graph).length, 1);
      assert.deepEqual(loopThrough(unitGraph(graph), 'src/auth/'), [
        'src/auth/',
        'src/store/',
        'src/freshness/',
        'src/http/',
        'src/auth/',
      ]);
    });
  });
});
