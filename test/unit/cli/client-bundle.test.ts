/**
 * When the installed command may run the client bundle (src/cli/client-bundle.ts): only for
 * check, verify and pull, not their help, and only while every compiled file the bundle names
 * has its size and either was not written after the bundle or still has its content; a missing
 * bundle, a missing, damaged or odd build line, a missing, resized or changed file all mean the
 * compiled modules run.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  buildLine,
  builtFrom,
  bundledCommand,
  bundleIsCurrent,
  type BuiltFrom,
} from '../../../src/cli/client-bundle.js';
import { Cleanup } from '../../helpers/cleanup.js';

const cleanup = new Cleanup();
after(() => cleanup.run());

const PAST = new Date('2020-01-01T00:00:00Z');
const BUILT = new Date('2020-01-02T00:00:00Z');
const LATER = new Date('2020-01-03T00:00:00Z');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const HASH = sha256('');

/** A dist/ with two compiled files and a bundle built from them (times set, not taken from now). */
function dist(): { bundle: string; file: (p: string) => string } {
  const root = cleanup.tempDir('client-bundle-');
  const file = (p: string) => join(root, p);
  const files: BuiltFrom[] = [
    ['src/cli/check.js', 5, sha256('xxxxx')],
    ['src/client/update.js', 3, sha256('xxx')],
  ];
  for (const [p, size] of files) {
    mkdirSync(dirname(file(p)), { recursive: true });
    writeFileSync(file(p), 'x'.repeat(size));
    utimesSync(file(p), PAST, PAST);
  }
  const bundle = file('countersign-client.mjs');
  writeFileSync(bundle, `#!/usr/bin/env node\n${buildLine(files)}\nconsole.log(1);\n`);
  utimesSync(bundle, BUILT, BUILT);
  return { bundle, file };
}

describe('running the client bundle from the installed command', () => {
  it('is for check, verify and pull, not for their help or other commands', () => {
    assert.equal(bundledCommand(['check', '--gun', 'x']), true);
    assert.equal(bundledCommand(['verify', 'alpine']), true);
    assert.equal(bundledCommand(['pull', 'alpine']), true);
    assert.equal(bundledCommand(['check', '--help']), false);
    assert.equal(bundledCommand(['verify', '-h']), false);
    assert.equal(bundledCommand(['verify', '--', '-h']), true);
    assert.equal(bundledCommand(['serve']), false);
    assert.equal(bundledCommand([]), false);
  });

  it('is current when every file it names has its size and is not newer, or its content', () => {
    const { bundle, file } = dist();
    assert.equal(bundleIsCurrent(bundle), true);
    // Files written at the same instant as the bundle (a packed tarball) still count.
    utimesSync(file('src/cli/check.js'), BUILT, BUILT);
    assert.equal(bundleIsCurrent(bundle), true);
    // Written later with the same content (an install unpacking it after the bundle).
    writeFileSync(file('src/client/update.js'), 'xxx');
    utimesSync(file('src/client/update.js'), LATER, LATER);
    assert.equal(bundleIsCurrent(bundle), true);
  });

  it('is stale when a file changed after it (tsc alone), was resized or removed', () => {
    const newer = dist();
    writeFileSync(newer.file('src/client/update.js'), 'yyy'); // same size, other code
    utimesSync(newer.file('src/client/update.js'), LATER, LATER);
    assert.equal(bundleIsCurrent(newer.bundle), false);

    const resized = dist();
    writeFileSync(resized.file('src/cli/check.js'), 'xxxx');
    utimesSync(resized.file('src/cli/check.js'), PAST, PAST);
    assert.equal(bundleIsCurrent(resized.bundle), false);

    const removed = dist();
    rmSync(removed.file('src/client/update.js'));
    assert.equal(bundleIsCurrent(removed.bundle), false);
  });

  it('is not current without a bundle or with a missing or damaged build line', () => {
    const { bundle } = dist();
    for (const text of [
      '#!/usr/bin/env node\nconsole.log(1);\n',
      '#!/usr/bin/env node\n// countersign-client-build {"files":\n',
      '#!/usr/bin/env node\n// countersign-client-build {"files":[]}\n',
      `#!/usr/bin/env node\n${buildLine([['src/../../etc/passwd.js', 1, HASH]])}\n`,
      `#!/usr/bin/env node\n${buildLine([['/etc/passwd', 1, HASH]])}\n`,
      `#!/usr/bin/env node\n// countersign-client-build {"files":[["src/a.js",-1,"${HASH}"]]}\n`,
      '#!/usr/bin/env node\n// countersign-client-build {"files":[["src/cli/check.js",5]]}\n',
      `#!/usr/bin/env node\n${buildLine([['src/cli/check.js', 5, 'beef']])}\n`,
      `#!/usr/bin/env node\n${buildLine([['src/cli/check.js', 5, sha256('xxxxx')]])}`, // no end of line
    ]) {
      writeFileSync(bundle, text);
      utimesSync(bundle, BUILT, BUILT);
      assert.equal(bundleIsCurrent(bundle), false, text);
    }
    rmSync(bundle);
    assert.equal(bundleIsCurrent(bundle), false);
    assert.equal(bundleIsCurrent(dirname(bundle)), false); // a directory
  });

  it('reads back the files the build line names', () => {
    const files: BuiltFrom[] = [['src/cli/check.js', 12, HASH]];
    assert.deepEqual(builtFrom(`#!/usr/bin/env node\n${buildLine(files)}\nrest`), files);
    assert.equal(builtFrom(`${buildLine(files)}\n`), undefined); // must be the second line
  });
});
