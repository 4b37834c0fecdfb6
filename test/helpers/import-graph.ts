/**
 * The run-time import graph of src/, for the layering checks in test/architecture.test.ts.
 * Pure functions over a file set ({path, text}), so the checker can be run over a synthetic
 * set and shown to catch a wrong import.
 */
import { posix } from 'node:path';

export interface SourceFile {
  /** Repository-relative path with forward slashes, e.g. `src/auth/login.ts`. */
  readonly path: string;
  readonly text: string;
}

/**
 * Run-time import specifiers: `import … from`, side-effect `import '…'`, `export … from`
 * dynamic `import('…')` and `require('…')` (through createRequire). Type-only imports and exports are
 * erased by tsc and do not count.
 */
export function runtimeImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(?!type\s)[^;'"]*?from\s+'([^']+)'/gm))
    out.push(m[1] as string);
  for (const m of text.matchAll(/^\s*import\s+'([^']+)'/gm)) out.push(m[1] as string);
  for (const m of text.matchAll(/import\(\s*'([^']+)'\s*\)/g)) out.push(m[1] as string);
  // A package loaded with require (through createRequire) is a run-time import too.
  for (const m of text.matchAll(/\brequire\(\s*'([^']+)'\s*\)/g)) out.push(m[1] as string);
  return out;
}

/** The source file a relative specifier names (`./x.js` → `dir/x.ts`), or undefined. */
export function resolveRelative(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const joined = posix.normalize(posix.join(posix.dirname(from), spec));
  return joined.replace(/\.js$/, '.ts');
}

/** File → the files of the set it imports at run time. */
export function importGraph(files: readonly SourceFile[]): Map<string, string[]> {
  const known = new Set(files.map((f) => f.path));
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const targets = runtimeImports(f.text)
      .map((s) => resolveRelative(f.path, s))
      .filter((p): p is string => p !== undefined && known.has(p));
    graph.set(f.path, [...new Set(targets)]);
  }
  return graph;
}

/**
 * The unit a file belongs to for layering: its folder under src/ (`src/auth/`), or the file
 * itself for files directly in src/ (`src/errors.ts`), which sit at different levels.
 */
export function unitOf(path: string): string {
  const parts = path.split('/');
  return parts.length <= 2 ? path : `${parts.slice(0, 2).join('/')}/`;
}

/** The graph between units (folders), edges within a unit left out. */
export function unitGraph(graph: ReadonlyMap<string, readonly string[]>): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  for (const [from, tos] of graph) {
    const u = unitOf(from);
    const set = out.get(u) ?? new Set<string>();
    out.set(u, set);
    for (const to of tos) if (unitOf(to) !== u) set.add(unitOf(to));
  }
  return new Map([...out].map(([k, v]) => [k, [...v].sort()]));
}

/**
 * Strongly connected components with more than one node (or a self-edge): each is a set of
 * nodes that import one another in a loop. Tarjan's algorithm, iterative over the sorted nodes
 * so the answer is stable.
 */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found.sort((a, b) => (a[0] as string).localeCompare(b[0] as string));
}

/** One shortest loop through `start`, as `a → b → … → a`, to name in a failure message. */
export function loopThrough(
  graph: ReadonlyMap<string, readonly string[]>,
  start: string
): string[] | undefined {
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift() as string;
    for (const w of graph.get(v) ?? []) {
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(previous.get(path[0] as string) as string);
        return [...path, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return undefined;
}
