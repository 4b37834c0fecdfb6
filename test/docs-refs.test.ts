/**
 * A newcomer with only a clone must be able to follow every reference: each markdown file named
 * in src/, test/, scripts/, docs/ or README.md exists in the repository, and each section it is
 * cited by (`docs/protocol.md §2.4`, `docs/design.md "Zones"`) is a heading of that file.
 * scripts/repoint-doc-refs.mjs rewrites references to the design documents that used to live
 * outside the repository.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import { repoRoot } from './helpers/paths.js';

interface TextFile {
  /** Repository-relative, forward slashes. */
  readonly path: string;
  readonly text: string;
}

/** What a markdown file offers to cite: its numbered sections and its heading titles. */
interface Outline {
  readonly sections: ReadonlySet<string>;
  readonly headings: readonly string[];
}

/** A reference to a markdown file, with the sections and heading cited right after it. */
interface Reference {
  readonly from: string;
  readonly line: number;
  readonly target: string;
  readonly sections: readonly string[];
  readonly heading?: string;
}

const SCANNED = ['src', 'test', 'scripts', 'docs'];
/** Files that name old or missing documents on purpose, as data. */
const EXEMPT = new Set(['scripts/repoint-doc-refs.mjs', 'test/docs-refs.test.ts']);
const TEXT = /\.(ts|mts|js|mjs|cjs|md|sh|sql)$/;

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return walk(p);
    return TEXT.test(name) ? [p] : [];
  });
}

function outline(text: string): Outline {
  const sections = new Set<string>();
  const headings: string[] = [];
  for (const m of text.matchAll(/^#{1,6}\s+(.+?)\s*$/gm)) {
    const title = m[1] as string;
    const number = /^(\d+(?:\.\d+)*)[.\s]/.exec(title);
    if (number) sections.add(number[1] as string);
    headings.push(title.replace(/^\d+(?:\.\d+)*\.?\s+/, ''));
  }
  return { sections, headings };
}

const MD_REF = /(?<![\w./-])((?:[\w.-]+\/)*[\w.-]*[\w-]\.md)\b/g;

/**
 * The references in one file. A reference cites the `§N.M` tokens that follow it on the same
 * line, up to a closing parenthesis or quote or the next file name, and a quoted heading that
 * follows it directly (`docs/design.md "Zones"`). Bare `§` tokens in a markdown file that no
 * reference claims cite that file itself.
 */
export function references(file: TextFile): Reference[] {
  const text = file.text.replace(/\bhttps?:\/\/\S+/g, (url) => ' '.repeat(url.length));
  const out: Reference[] = [];
  const claimed = new Set<number>();
  for (const m of text.matchAll(MD_REF)) {
    const start = m.index;
    const after = text.slice(start + m[0].length).replace(/^[\])]+/, (s) => ' '.repeat(s.length));
    const window = /^[^\n)"]{0,80}/.exec(after)?.[0] ?? '';
    const cut = window.search(/\.md\b/);
    const scope = cut >= 0 ? window.slice(0, cut) : window;
    const sections: string[] = [];
    for (const s of scope.matchAll(/§(\d+(?:\.\d+)*)/g)) {
      sections.push(s[1] as string);
      claimed.add(start + m[0].length + s.index);
    }
    const heading = /^ "([^"\n]+)"/.exec(after)?.[1];
    out.push({
      from: file.path,
      line: text.slice(0, start).split('\n').length,
      target: m[1] as string,
      sections,
      ...(heading !== undefined ? { heading } : {}),
    });
  }
  if (file.path.endsWith('.md')) {
    const own = posix.basename(file.path);
    for (const s of text.matchAll(/§(\d+(?:\.\d+)*)/g)) {
      if (claimed.has(s.index)) continue;
      out.push({
        from: file.path,
        line: text.slice(0, s.index).split('\n').length,
        target: own,
        sections: [s[1] as string],
      });
    }
  }
  return out;
}

/** The repository file a reference names, or undefined: relative to the citing file, else to the root. */
function resolveTarget(ref: Reference, exists: (p: string) => boolean): string | undefined {
  const candidates = [
    posix.normalize(posix.join(posix.dirname(ref.from), ref.target)),
    posix.normalize(ref.target),
  ];
  return candidates.find((c) => !c.startsWith('..') && exists(c));
}

/** Every reference that does not resolve, as readable lines. */
export function brokenReferences(
  files: readonly TextFile[],
  exists: (p: string) => boolean,
  read: (p: string) => string
): string[] {
  const outlines = new Map<string, Outline>();
  const out: string[] = [];
  for (const file of files) {
    if (EXEMPT.has(file.path)) continue;
    for (const ref of references(file)) {
      const where = `${ref.from}:${ref.line}`;
      const target = resolveTarget(ref, exists);
      if (target === undefined) {
        out.push(`${where}: ${ref.target} is not in the repository`);
        continue;
      }
      let o = outlines.get(target);
      if (!o) outlines.set(target, (o = outline(read(target))));
      for (const s of ref.sections)
        if (!o.sections.has(s)) out.push(`${where}: ${target} has no section §${s}`);
      const heading = ref.heading?.toLowerCase();
      if (heading && !o.headings.some((h) => h.toLowerCase().startsWith(heading)))
        out.push(`${where}: ${target} has no heading "${ref.heading}"`);
    }
  }
  return out;
}

const onDisk = (p: string) => existsSync(join(repoRoot, p));
const readDisk = (p: string) => readFileSync(join(repoRoot, p), 'utf8');

describe('references to documents', () => {
  const files: TextFile[] = [
    ...SCANNED.flatMap((d) => walk(join(repoRoot, d))),
    join(repoRoot, 'README.md'),
  ].map((p) => ({
    path: relative(repoRoot, p).split(sep).join('/'),
    text: readFileSync(p, 'utf8'),
  }));

  it('name only markdown files of the repository, and only sections and headings they have', () => {
    assert.deepEqual(brokenReferences(files, onDisk, readDisk), []);
  });

  it('cite the docs many times (the check above is not vacuous)', () => {
    const cited = files.flatMap(references).filter((r) => r.target.startsWith('docs/'));
    assert.ok(cited.length > 100, `only ${cited.length} references to docs/`);
    assert.ok(cited.some((r) => r.sections.length > 0));
    assert.ok(cited.some((r) => r.heading !== undefined));
  });

  describe('the checker', () => {
    const docs: Record<string, string> = {
      'docs/spec.md': '# Spec\n\n## 1. Routes\n\n### 1.2 Errors\n\n## Zones and keys\n',
      'docs/other.md': '# Other\n\nSee [spec](spec.md) §1.2.\n\nAnd §9 of this page.\n',
    };
    const exists = (p: string) => p in docs;
    const read = (p: string) => docs[p] as string;
    const check = (path: string, text: string) =>
      brokenReferences(
        [
          { path, text },
          { path: 'docs/other.md', text: docs['docs/other.md']! },
        ],
        exists,
        read
      );

    it('accepts existing files, sections and headings', () => {
      assert.deepEqual(
        check('src/a.ts', '// see docs/spec.md §1, §1.2 and docs/spec.md "Zones"\n').filter((v) =>
          v.startsWith('src/')
        ),
        []
      );
    });

    it('reports a missing file, a missing section and a missing heading', () => {
      const missing = ['NOTES', 'md'].join('.');
      assert.deepEqual(
        check('src/a.ts', `// ${missing} §1\n// (docs/spec.md §1.3)\n// docs/spec.md "Storage"\n`),
        [
          `src/a.ts:1: ${missing} is not in the repository`,
          'src/a.ts:2: docs/spec.md has no section §1.3',
          'src/a.ts:3: docs/spec.md has no heading "Storage"',
          'docs/other.md:5: docs/other.md has no section §9',
        ]
      );
    });
  });

  it("README's architecture table names every folder of src/, and only files that exist", () => {
    const readme = readDisk('README.md');
    const section = readme.slice(
      readme.indexOf('## Architecture'),
      readme.indexOf('\n## ', readme.indexOf('## Architecture') + 5)
    );
    const rows = section.split('\n').filter((l) => l.startsWith('| `'));
    const srcFiles = walk(join(repoRoot, 'src')).map((p) =>
      relative(repoRoot, p).split(sep).join('/')
    );
    const folders = new Set(srcFiles.map((p) => p.split('/').slice(0, 2).join('/') + '/'));
    const named = new Set<string>();
    const problems: string[] = [];
    for (const row of rows) {
      const first = /^\| `([^`]+)`/.exec(row)?.[1] ?? '';
      // The folder a row is about: its first cell's path, up to the last slash.
      const base = first.startsWith('src/') ? first.slice(0, first.lastIndexOf('/') + 1) : '';
      for (const m of row.matchAll(/`((?:src\/)?[\w./-]+\.ts|src\/[\w/-]+\/)`/g)) {
        const ref = m[1] as string;
        if (ref.startsWith('src/')) {
          named.add(ref.endsWith('/') ? ref : ref.split('/').slice(0, 2).join('/') + '/');
          if (ref.endsWith('/') ? !folders.has(ref) : !srcFiles.includes(ref))
            problems.push(`${ref} does not exist`);
        } else if (base && !srcFiles.some((f) => f.startsWith(base) && f.endsWith('/' + ref))) {
          problems.push(`${ref} (row ${first}) is not under ${base}`);
        }
      }
    }
    for (const f of folders) if (!named.has(f)) problems.push(`${f} has no row`);
    assert.deepEqual(problems, []);
    assert.ok(rows.length > 15);
  });
});
