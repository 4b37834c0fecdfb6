/**
 * Each app keeps its own bounded caches (src/notary/caches.ts): two apps in one process — as
 * the tests run them — never see each other's parsed files, checked roots or imported keys.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { publishRepo, publishTargets, startTestApp, tuf, type TestApp } from '../helpers/app.js';

const sizes = (t: TestApp) => ({
  parsed: t.app.caches.parsed.size,
  validatedRoots: t.app.caches.validatedRoots.size,
  verifiers: t.app.caches.verifiers.size,
});

describe('app-scoped caches', () => {
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    a = await startTestApp();
    b = await startTestApp();
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  it('two apps in one process share no cache object', () => {
    assert.notEqual(a.app.caches, b.app.caches);
    assert.notEqual(a.app.caches.parsed, b.app.caches.parsed);
    assert.notEqual(a.app.caches.validatedRoots, b.app.caches.validatedRoots);
    assert.notEqual(a.app.caches.verifiers, b.app.caches.verifiers);
  });

  it("one app's publishes and reads fill only its own caches", async () => {
    const gun = 'example.com/caches/one';
    const repo = await publishRepo(a, gun);
    assert.equal((await publishTargets(a, repo, [{ name: 'v2' }])).status, 200);
    await a.http.get(tuf(gun, 'timestamp.json')).expect(200);
    const filled = sizes(a);
    // The second publish checked the stored root and verified the uploads' signatures.
    assert.ok(filled.parsed > 0, JSON.stringify(filled));
    assert.ok(filled.validatedRoots > 0, JSON.stringify(filled));
    assert.ok(filled.verifiers > 0, JSON.stringify(filled));
    assert.deepEqual(sizes(b), { parsed: 0, validatedRoots: 0, verifiers: 0 });
    await b.http.get(tuf(gun, 'timestamp.json')).expect(404);
    assert.deepEqual(sizes(b), { parsed: 0, validatedRoots: 0, verifiers: 0 });
  });

  it('the same repository published to both apps is cached by each on its own', async () => {
    const gun = 'example.com/caches/both';
    const before = sizes(a);
    const inB = await publishRepo(b, gun);
    assert.equal((await publishTargets(b, inB, [{ name: 'v2' }])).status, 200);
    await b.http.get(tuf(gun, 'timestamp.json')).expect(200);
    assert.deepEqual(sizes(a), before, 'publishing to b changed nothing in a');
    const inA = await publishRepo(a, gun);
    assert.equal((await publishTargets(a, inA, [{ name: 'v2' }])).status, 200);
    const after = sizes(a);
    assert.ok(after.parsed > before.parsed, JSON.stringify({ before, after }));
    assert.ok(after.validatedRoots > before.validatedRoots, JSON.stringify({ before, after }));
  });
});
