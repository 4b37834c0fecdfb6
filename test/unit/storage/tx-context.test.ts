import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TxContext } from '../../../src/storage/tx-context.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('TxContext', () => {
  it('carries the value through awaits inside run, and nothing outside', async () => {
    const ctx = new TxContext<string>();
    assert.equal(ctx.get(), undefined);
    const seen = await ctx.run('a', async () => {
      await tick();
      const inner = ctx.get();
      await new Promise((resolve) => setTimeout(resolve, 1));
      return [inner, ctx.get()];
    });
    assert.deepEqual(seen, ['a', 'a']);
    assert.equal(ctx.get(), undefined);
  });

  it('keeps overlapping runs apart and still answers after one of them ends', async () => {
    const ctx = new TxContext<string>();
    let releaseA!: () => void;
    const aWaits = new Promise<void>((resolve) => (releaseA = resolve));
    const a = ctx.run('a', async () => {
      await aWaits;
      return ctx.get();
    });
    const b = await ctx.run('b', async () => {
      await tick();
      return ctx.get();
    });
    // b has ended while a is still open: a must not lose its value.
    releaseA();
    assert.equal(b, 'b');
    assert.equal(await a, 'a');
    assert.equal(ctx.get(), undefined);
  });

  it('ends the run when fn throws, and works again afterwards', async () => {
    const ctx = new TxContext<number>();
    await assert.rejects(
      ctx.run(1, async () => {
        await tick();
        throw new Error('boom');
      }),
      /boom/
    );
    assert.equal(ctx.get(), undefined);
    assert.equal(await ctx.run(2, async () => (await tick(), ctx.get())), 2);
  });
});
