/**
 * Issue 20: the real notary CLI's `add --custom` writes whatever JSON it is given into the
 * target's `custom`. Nested 4,500 levels, Countersign refuses the publish (400, nesting over
 * 1,000 levels) and the repository stays as it was for every reader; nested 50 levels, it is
 * published and read back like any other target.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import { startCountersign, type StartedCountersign } from '../helpers/countersign.js';
import { NotaryClient } from '../helpers/notary-cli.js';

const GUN = 'example.com/custom/app';
const HASH = 'b'.repeat(64);
const nested = (depth: number) => '['.repeat(depth) + '1' + ']'.repeat(depth);

describe('notary add --custom with deep JSON', () => {
  const cleanup = new Cleanup();
  let server: StartedCountersign;
  let notary: NotaryClient;
  after(() => cleanup.run());
  before(async () => {
    server = cleanup.add(await startCountersign({ tls: false }));
    notary = cleanup.add(await NotaryClient.create({ server: server.sut }));
    await notary.init(GUN, { publish: true });
    await notary.addHash(GUN, 'plain', 1, HASH, { publish: true });
  });

  it('refuses 4,500 levels with a 400 and leaves the repository readable', async () => {
    const file = join(cleanup.tempDir(), 'deep.json');
    writeFileSync(file, nested(4_500));
    // Another copy of the producer, so its refused change does not stay queued in `notary`'s changelist.
    const producer = cleanup.add(await notary.cloneTrustDir());
    const r = await producer.addHash(GUN, 'deep', 1, HASH, {
      custom: file,
      publish: true,
      check: false,
    });
    assert.notEqual(r.code, 0, 'the publish fails');
    assert.match(r.stdout, /trust server rejected operation/); // how the CLI reports a 400
    const reader = cleanup.add(await notary.fresh());
    assert.deepEqual(
      (await reader.list(GUN)).map((t) => t.name),
      ['plain']
    );
  });

  it('publishes 50 levels, and readers list it', async () => {
    const file = join(cleanup.tempDir(), 'shallow.json');
    writeFileSync(file, nested(50));
    await notary.addHash(GUN, 'custom', 1, HASH, { custom: file, publish: true });
    const reader = cleanup.add(await notary.fresh());
    assert.deepEqual((await reader.list(GUN)).map((t) => t.name).sort(), ['custom', 'plain']);
  });
});
