/**
 * `countersign completion bash|zsh`: the printed script, sourced into a real bash, registers the
 * completion and completes command names, second words and flags; an unknown shell is refused.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import { repoRoot } from '../helpers/paths.js';
import { run } from '../helpers/proc.js';

const cleanup = new Cleanup();
after(() => cleanup.run());

function cli(args: string[]) {
  return run(process.execPath, [join(repoRoot, 'bin/countersign.js'), ...args], {
    env: { PATH: process.env.PATH },
    timeoutMs: 60_000,
  });
}

/** What the completion function offers for these words (the last is the one being completed). */
async function complete(script: string, words: string[]): Promise<string[]> {
  const array = words.map((w) => `'${w}'`).join(' ');
  const r = await run(
    'bash',
    [
      '--noprofile',
      '--norc',
      '-c',
      `source '${script}' && complete -p countersign && COMP_WORDS=(${array}) && COMP_CWORD=${words.length - 1} && _countersign && printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { env: { PATH: process.env.PATH }, timeoutMs: 30_000 }
  );
  assert.equal(r.code, 0, r.stderr);
  const [registration, ...offered] = r.stdout.trimEnd().split('\n');
  assert.equal(registration, 'complete -o filenames -F _countersign countersign');
  return offered.filter((w) => w !== '');
}

describe('shell completion', () => {
  it('bash: countersign ch<TAB> gives check; second words and flags complete too', async () => {
    const r = await cli(['completion', 'bash']);
    assert.equal(r.code, 0, r.stderr);
    const script = join(cleanup.tempDir('countersign-completion-'), 'countersign.bash');
    writeFileSync(script, r.stdout);
    assert.deepEqual(await complete(script, ['countersign', 'ch']), ['check']);
    assert.deepEqual(await complete(script, ['countersign', 'su']), ['submit', 'submission']);
    assert.deepEqual(await complete(script, ['countersign', 'audit', 'l']), ['list']);
    assert.deepEqual(await complete(script, ['countersign', 'check', '--gu']), [
      '--gun',
      '--gun-file',
    ]);
    assert.deepEqual(await complete(script, ['countersign', 'approve', 'ID', '--no']), ['--note']);
  });

  it('zsh: the same function behind bashcompinit', async () => {
    const r = await cli(['completion', 'zsh']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^#compdef countersign$/m);
    assert.match(r.stdout, /^autoload -U \+X bashcompinit && bashcompinit$/m);
    assert.match(r.stdout, /^complete -o filenames -F _countersign countersign$/m);
  });

  it('refuses another shell, or none, with exit 2', async () => {
    const fish = await cli(['completion', 'bsh']);
    assert.equal(fish.code, 2);
    assert.match(
      fish.stderr,
      /completion takes one shell: bash or zsh, not "bsh" \(did you mean "bash"\?\)/
    );
    const none = await cli(['completion']);
    assert.equal(none.code, 2);
  });
});
