#!/usr/bin/env node
// A read micro-benchmark of the SQLite storage (the read path of every GET that misses the
// read cache): getLatest, getByChecksum and keys.get, awaited one after another, on a small
// repository in a temporary file. Run after `npx tsc -p tsconfig.json`:
//   node scripts/storage-read-bench.mjs [rounds] [other-checkout ...]
// Prints operations per second for each, best of seven runs. Given other checkouts (built, with
// their own dist/), it runs each case on every one of them in turn, so that a machine whose
// load changes affects all of them alike: an A/B comparison of two versions.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';

const rounds = Number(process.argv[2] ?? 20_000);
const roots = [fileURLToPath(new URL('..', import.meta.url)), ...process.argv.slice(3)];
const dir = mkdtempSync(join(tmpdir(), 'storage-bench-'));
const at = new Date(0);
const gun = 'example.com/app';
const file = (role, version) => {
  const data = Buffer.from(JSON.stringify({ role, version, pad: 'x'.repeat(600) }));
  return { role, version, data, sha256: createHash('sha256').update(data).digest('hex') };
};
const sha = file('timestamp', 5).sha256;

async function open(root, n) {
  const url = pathToFileURL(resolve(root, 'dist/src/storage/sqlite.js')).href;
  const { openSqlite } = await import(url);
  const storage = openSqlite(join(dir, `db${n}.sqlite`));
  for (let v = 1; v <= 5; v++) {
    const files = ['root', 'targets', 'snapshot', 'timestamp'].map((r) => file(r, v));
    await storage.meta.updateMany(gun, files, at);
  }
  await storage.keys.insert({
    keyId: 'k1',
    gun,
    role: 'timestamp',
    algorithm: 'ecdsa',
    keyType: 'ecdsa',
    publicB64: 'AA==',
    sealedPrivate: Buffer.alloc(60),
    createdAt: at,
    activatedAt: null,
  });
  return storage;
}

const storages = [];
for (const [n, root] of roots.entries()) storages.push(await open(root, n));
const cases = {
  getLatest: (s) => s.meta.getLatest(gun, 'timestamp'),
  getByChecksum: (s) => s.meta.getByChecksum(gun, 'timestamp', sha),
  'keys.get': (s) => s.keys.get('k1'),
};
for (const [name, op] of Object.entries(cases)) {
  const best = storages.map(() => 0);
  for (let run = 0; run < 7; run++) {
    for (const [n, s] of storages.entries()) {
      if ((await op(s)) === null) throw new Error(`${name} found nothing`);
      const start = performance.now();
      for (let i = 0; i < rounds; i++) await op(s);
      best[n] = Math.max(best[n], rounds / ((performance.now() - start) / 1000));
    }
  }
  const figures = best.map((b, n) => `${roots[n]}: ${Math.round(b).toLocaleString('en')}`);
  console.log(`${name.padEnd(14)} ops/s  ${figures.join('  ')}`);
}
for (const s of storages) await s.close();
rmSync(dir, { recursive: true, force: true });
