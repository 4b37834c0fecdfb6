#!/usr/bin/env node
// Points references to the design documents that used to live outside the repository at their
// rewrites in docs/ (section numbers and headings are the same, so `PROTOCOL.md §2.4` becomes
// `docs/protocol.md §2.4` and keeps meaning the same thing):
//
//   PROTOCOL.md → docs/protocol.md      CLIENTS.md → docs/clients.md
//   DESIGN.md   → docs/design.md        CONTRACT.md → docs/interfaces.md
//
// Rewrites src/, test/, scripts/, docs/ and README.md in place and prints each file it changed.
// Idempotent: a second run changes nothing (the new names are lower case and carry docs/), so it
// can be run again after other branches are merged. `--check` changes nothing and exits 1 when a
// file still needs rewriting. test/docs-refs.test.ts fails on any reference left unresolved.
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const checkOnly = process.argv.includes('--check');
const SELF = 'scripts/repoint-doc-refs.mjs';

const RENAMES = {
  PROTOCOL: 'docs/protocol.md',
  CLIENTS: 'docs/clients.md',
  DESIGN: 'docs/design.md',
  CONTRACT: 'docs/interfaces.md',
};
// A bare old name, optionally with the folder it had outside the repository (`notary/…`),
// not part of a longer path or word.
const OLD_NAME = /(?<![\w/.-])(?:notary\/)?(PROTOCOL|CLIENTS|DESIGN|CONTRACT)\.md\b/g;
// References to the style guide, which stays outside the repository: the one rule cited has its
// own section in docs/testing.md.
const SPECIAL = [[/(?<![\w/.-])STYLE\.md §7\.14\b/g, 'docs/testing.md "Time"']];

const TEXT = /\.(ts|mts|js|mjs|cjs|md|sh|sql|json|txt)$/;
function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return files(p);
    return TEXT.test(name) ? [p] : [];
  });
}

function repoint(text) {
  let out = text.replace(OLD_NAME, (_, name) => RENAMES[name]);
  for (const [pattern, replacement] of SPECIAL) out = out.replace(pattern, replacement);
  return out;
}

const targets = [
  ...['src', 'test', 'scripts', 'docs'].flatMap((d) => files(join(root, d))),
  join(root, 'README.md'),
];
let changed = 0;
for (const path of targets) {
  const rel = relative(root, path).split('\\').join('/');
  if (rel === SELF) continue;
  const before = readFileSync(path, 'utf8');
  const after = repoint(before);
  if (after === before) continue;
  changed++;
  console.log(`${checkOnly ? 'needs rewriting' : 'rewrote'} ${rel}`);
  if (!checkOnly) writeFileSync(path, after);
}
console.log(`${changed} file(s) ${checkOnly ? 'to rewrite' : 'rewritten'}`);
if (checkOnly && changed > 0) process.exit(1);
