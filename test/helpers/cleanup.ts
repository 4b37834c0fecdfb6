/**
 * Temp directories and a stack of undo steps for interop tests. Tests call `cleanup.run()` from
 * an `after` hook; directories still present when the process exits are removed anyway, so a
 * test that dies early leaves nothing behind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onProcessExit } from './exit-hooks.js';

const liveDirs = new Set<string>();
onProcessExit(() => {
  for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh directory under os.tmpdir(), removed by removeTempDir() or at process exit. */
export function makeTempDir(prefix = 'countersign-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  liveDirs.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  liveDirs.delete(dir);
  await rm(dir, { recursive: true, force: true });
}

type Step = () => unknown;

/** Undo steps run last-in first-out; every step runs even if an earlier one throws. */
export class Cleanup implements AsyncDisposable {
  private readonly steps: Step[] = [];

  defer(step: Step): void {
    this.steps.push(step);
  }

  /** Registers `thing.stop()`/`dispose()` and hands `thing` back, for one-line setup. */
  add<T extends { stop(): Promise<void> } | { dispose(): Promise<void> }>(thing: T): T {
    this.defer(() => ('stop' in thing ? thing.stop() : thing.dispose()));
    return thing;
  }

  tempDir(prefix?: string): string {
    const dir = makeTempDir(prefix);
    this.defer(() => removeTempDir(dir));
    return dir;
  }

  async run(): Promise<void> {
    const errors: unknown[] = [];
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'several cleanup steps failed');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.run();
  }
}
