// The repositories every phase builds with the real notary CLI (identical on each server), the
// timed publishes, and the paths of the GET endpoints on one server.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { httpGet, makeTempDir } from './procs.mjs';
import { median } from './report.mjs';

export const APP = 'bench.test/app'; // 200 targets: every GET is measured on it
export const PUB = 'bench.test/publish'; // one-target publishes
export const BIG = 'bench.test/big'; // the large targets.json
export const APP_TARGETS = 200;

/** A repository with `n` targets, timestamp and snapshot keys held by the server. */
export async function populate(client, gun, prefix, n) {
  await client.createRepo(gun);
  await client.stageTargets(gun, prefix, n);
  await client.publish(gun);
  const count = await client.count(gun);
  if (count !== n) throw new Error(`${gun} lists ${count} targets after publishing ${n}`);
}

export async function bigUpload(client, gun, n) {
  await client.createRepo(gun);
  await client.stageTargets(gun, 'big-', n);
  const r = await client.publish(gun);
  return r.ms;
}

/**
 * N one-target `notary add -p` per server (`clients`: { key → NotaryCli }), the servers' order
 * rotating each round (with two, alternating) so drift hits each alike.
 */
export async function measurePublish(clients, runs) {
  const file = join(makeTempDir('bench-publish-'), 'artifact.txt');
  writeFileSync(file, 'one target of the publish benchmark\n');
  const keys = Object.keys(clients);
  const times = Object.fromEntries(keys.map((k) => [k, []]));
  for (const c of Object.values(clients)) {
    await c.createRepo(PUB);
    await c.addAndPublish(PUB, 'warm-up', file); // not counted: first publish primes caches
  }
  for (let i = 0; i < runs; i++) {
    const order = keys.map((_, j) => keys[(i + j) % keys.length]);
    for (const k of order) times[k].push((await clients[k].addAndPublish(PUB, `t${i}`, file)).ms);
  }
  for (const c of Object.values(clients)) {
    const n = await c.count(PUB);
    if (n !== runs + 1) throw new Error(`${PUB} lists ${n} targets after ${runs + 1} publishes`);
  }
  const out = { runs };
  for (const [k, t] of Object.entries(times))
    out[k] = { medianMs: median(t), minMs: Math.min(...t), maxMs: Math.max(...t), runsMs: t };
  return out;
}

export { median };

export function endpointList(bigTargets) {
  return [
    { id: 'timestamp', what: 'timestamp.json', gun: APP, path: () => 'timestamp.json' },
    { id: 'snapshot', what: 'snapshot.json', gun: APP, path: () => 'snapshot.json' },
    {
      id: 'targets',
      what: `targets.json (${APP_TARGETS} targets)`,
      gun: APP,
      path: () => 'targets.json',
    },
    { id: 'root', what: 'root.json', gun: APP, path: () => 'root.json' },
    {
      id: 'snapshotByHash',
      what: 'snapshot.<sha256>.json',
      gun: APP,
      path: (h) => `snapshot.${h.snapshot}.json`,
      sha: 'snapshot',
    },
    { id: 'rootByVersion', what: '1.root.json', gun: APP, path: () => '1.root.json' },
    {
      id: 'bigByHash',
      what: `targets.<sha256>.json (${bigTargets} targets)`,
      gun: BIG,
      path: (h) => `targets.${h.targets}.json`,
      sha: 'targets',
    },
  ];
}

/** Each endpoint's path on one server (checksums differ per server: their keys differ). */
export async function resolvePaths(url, endpoints) {
  const hashes = {};
  for (const gun of new Set(endpoints.map((e) => e.gun))) {
    const tuf = `${url}/v2/${gun}/_trust/tuf/`;
    const ts = await getJson(`${tuf}timestamp.json`);
    const snap = await getJson(`${tuf}snapshot.json`);
    hashes[gun] = {
      snapshot: hexOf(metaEntry(ts.signed.meta, 'snapshot')),
      targets: hexOf(metaEntry(snap.signed.meta, 'targets')),
    };
  }
  const out = {};
  for (const e of endpoints) {
    const path = `/v2/${e.gun}/_trust/tuf/${e.path(hashes[e.gun])}`;
    const r = await httpGet(url + path);
    if (r.status !== 200) throw new Error(`GET ${url}${path} answered ${r.status}`);
    if (e.sha && createHash('sha256').update(r.body).digest('hex') !== hashes[e.gun][e.sha]) {
      throw new Error(`GET ${url}${path}: the body does not hash to its checksum`);
    }
    out[e.id] = path;
  }
  return out;
}

/** notary names meta entries by role ("snapshot"); plain TUF by file ("snapshot.json"). */
function metaEntry(meta, role) {
  const m = meta[role] ?? meta[`${role}.json`];
  if (!m) throw new Error(`no ${role} entry in ${JSON.stringify(Object.keys(meta))}`);
  return m;
}

const hexOf = (m) => Buffer.from(m.hashes.sha256, 'base64').toString('hex');

async function getJson(url) {
  const r = await httpGet(url);
  if (r.status !== 200) throw new Error(`GET ${url} answered ${r.status}`);
  return JSON.parse(r.body.toString('utf8'));
}
