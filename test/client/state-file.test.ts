/**
 * The state file on disk under concurrent runs (src/client/state-file.ts): twelve processes each
 * fold a different version into one file at the same moment; every version survives as the
 * maximum (none lost to a last-writer-wins), no temporary or lock file is left behind, and a lock
 * left by a process that died is taken over rather than blocking forever.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseState } from '../../src/client/state.js';
import { Cleanup } from '../helpers/cleanup.js';
import { repoRoot } from '../helpers/paths.js';
import { run } from '../helpers/proc.js';

/** One run: folds `role` at `version` (and root version `version`) for GUN g into FILE. */
const CHILD = `
const [file, gun, role, version] = process.argv.slice(1);
const { updateStateFile } = await import(${JSON.stringify(join(repoRoot, 'dist/src/client/state-file.js'))});
const { keptRoot } = await import(${JSON.stringify(join(repoRoot, 'dist/src/client/state.js'))});
const v = Number(version);
await updateStateFile(file, [{ server: 'http://s:1', gun, root: keptRoot(Buffer.from('root ' + v), v),
  versions: { [role]: v }, updated: new Date(0).toISOString() }]);
`;

describe('client state file on disk', () => {
  it('loses no version when twelve runs update it at once', async (t) => {
    const cleanup = new Cleanup();
    t.after(() => cleanup.run());
    const dir = cleanup.tempDir('state-file-');
    const file = join(dir, 'state.json');
    const runs = Array.from({ length: 12 }, (_, i) =>
      run(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          CHILD,
          file,
          i % 2 ? 'a/one' : 'a/two',
          `role${i % 3}`,
          String(i + 1),
        ],
        {
          timeoutMs: 60_000,
        }
      )
    );
    for (const r of await Promise.all(runs)) assert.equal(r.code, 0, r.stderr);
    const state = parseState(readFileSync(file, 'utf8'), file);
    const byGun = Object.fromEntries(state.repositories.map((r) => [r.gun, r]));
    // a/one got i = 1,3,5,7,9,11 (versions 2..12 even), a/two i = 0,2,…,10 (versions 1..11 odd).
    const expect = (parity: number) => {
      const out: Record<string, number> = {};
      for (let i = 0; i < 12; i++)
        if (i % 2 === parity) out[`role${i % 3}`] = Math.max(out[`role${i % 3}`] ?? 0, i + 1);
      return out;
    };
    assert.deepEqual(byGun['a/one']!.versions, expect(1));
    assert.deepEqual(byGun['a/two']!.versions, expect(0));
    assert.equal(byGun['a/one']!.root.version, 12);
    assert.equal(byGun['a/two']!.root.version, 11);
    assert.deepEqual(readdirSync(dir), ['state.json']);
  });

  it('takes over a lock whose owner died', async (t) => {
    const cleanup = new Cleanup();
    t.after(() => cleanup.run());
    const dir = cleanup.tempDir('state-lock-');
    const file = join(dir, 'state.json');
    const dead = await run(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      timeoutMs: 10_000,
    });
    writeFileSync(`${file}.lock`, `${dead.stdout}\n`);
    const r = await run(
      process.execPath,
      ['--input-type=module', '-e', CHILD, file, 'a/b', 'timestamp', '4'],
      {
        timeoutMs: 30_000,
      }
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      parseState(readFileSync(file, 'utf8'), file).repositories[0]!.versions.timestamp,
      4
    );
    assert.deepEqual(readdirSync(dir), ['state.json']);
  });
});
