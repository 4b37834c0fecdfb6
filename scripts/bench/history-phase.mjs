// The long-history phase of `npm run bench`: the GETs again, on a repository that has lived a
// while (hundreds of versions of targets, snapshot and timestamp; a few thousand targets; a
// delegation with versions of its own), built identically on a fresh Countersign and a fresh
// notary-server. The fresh repository of the main phase says how fast a new repository is
// served; this one says whether the figures hold once the version history is long: the
// current-role lookups, by-version reads from the middle of the history and a by-checksum read
// of the very first targets file. Method: docs/bench.md "Long history".
import { createHash } from 'node:crypto';
import { cachedHeaders, httpGet } from './procs.mjs';
import { startCeiling, startCountersign, startNotaryServer } from './servers.mjs';
import { wrk, wrkRounds } from './wrk.mjs';
import { deriveGetRow } from './report.mjs';
import { DELEGATION, DirectRepo, targetList } from './direct-repo.mjs';

export const HISTORY = 'bench.test/history';
/** Every this many targets versions, the delegation gets a new version too. */
const DELEGATION_EVERY = 25;

const hexOfBase64 = (b64) => Buffer.from(b64, 'base64').toString('hex');
const sha256Hex = (bytes) => createHash('sha256').update(bytes).digest('hex');
/** The path of a URL: what the ceiling server answers at. */
const pathOf = (url) => new URL(url).pathname;

/**
 * The uploads after the first, signed once and sent to both servers (the client keys are
 * shared, so the files are byte-identical): targets v2…vN, each listing `targets` entries of
 * which one changes per version; the delegation every DELEGATION_EVERY versions.
 */
export function historyUploads(repo, versions, targets) {
  const uploads = [];
  let delegationVersion = 1;
  for (let v = 2; v <= versions; v++) {
    const list = targetList('app-', targets);
    list[0] = { ...list[0], sha256: Buffer.alloc(32, v % 251), length: v };
    uploads.push(repo.targetsUpload(v, list, { delegation: true }));
    if (v % DELEGATION_EVERY === 0)
      uploads.push(repo.delegationUpload(++delegationVersion, targetList('rel-', 20, v)));
  }
  return uploads;
}

/** Paths of every measured GET on one server (checksums are the server's own where they differ). */
async function historyPaths(url, { versions, firstTargetsSha }) {
  const base = `/v2/${HISTORY}/_trust/tuf/`;
  const ts = JSON.parse((await httpGet(url + base + 'timestamp.json')).body.toString('utf8'));
  const snapSha = hexOfBase64(ts.signed.meta.snapshot.hashes.sha256);
  const middle = Math.max(1, Math.floor(versions / 2));
  return [
    { id: 'timestamp', what: 'timestamp.json', path: 'timestamp.json' },
    { id: 'snapshot', what: 'snapshot.json', path: 'snapshot.json' },
    { id: 'targets', what: 'targets.json', path: 'targets.json' },
    { id: 'root', what: 'root.json', path: 'root.json' },
    { id: 'delegation', what: `${DELEGATION}.json`, path: `${DELEGATION}.json` },
    {
      id: 'snapshotByHash',
      what: 'snapshot.<sha256>.json (current)',
      path: `snapshot.${snapSha}.json`,
    },
    { id: 'targetsByVersion', what: `${middle}.targets.json`, path: `${middle}.targets.json` },
    {
      id: 'firstTargetsByHash',
      what: 'targets.<sha256>.json (version 1)',
      path: `targets.${firstTargetsSha}.json`,
    },
  ].map((e) => ({ ...e, url: url + base + e.path }));
}

export async function historyPhase({ options, load, rss, stopLater, stopNow, say }) {
  const { historyVersions: versions, historyTargets: targets } = options;
  say(
    `long history: ${versions} targets versions of ${targets} targets on a fresh pair of servers`
  );
  const cs = stopLater(
    await startCountersign({
      cpus: options.serverCpu,
      logLevel: 'warn',
      name: 'countersign-history',
      cpuProfDir: options.cpuProf,
    })
  );
  rss.watch(cs.name, cs.service.pid);
  const ns = stopLater(
    await startNotaryServer({
      cpus: options.serverCpu,
      logLevel: 'warn',
      name: 'notary-server-history',
    })
  );
  try {
    const client = await DirectRepo.clientKeys(HISTORY);
    const repos = {
      countersign: await DirectRepo.open(cs.url, HISTORY, client),
      notaryServer: await DirectRepo.open(ns.url, HISTORY, client),
    };
    const first = repos.countersign.targetsFile(1, targetList('app-', targets), {
      delegation: true,
    });
    const firstTargetsSha = sha256Hex(first);
    for (const r of Object.values(repos)) {
      await r.post(r.firstUploadWith(first));
      await r.post(r.delegationUpload(1, targetList('rel-', 20)));
    }
    say(`signing ${versions - 1} targets versions`);
    const uploads = historyUploads(repos.countersign, versions, targets);
    say(`publishing ${uploads.length} uploads to each server`);
    const publishMs = { countersign: [], notaryServer: [] };
    for (const body of uploads)
      for (const [k, r] of Object.entries(repos)) publishMs[k].push((await r.post(body)).ms);
    const paths = {
      countersign: await historyPaths(cs.url, { versions, firstTargetsSha }),
      notaryServer: await historyPaths(ns.url, { versions, firstTargetsSha }),
    };
    // Node's ceiling for the same bytes: large bodies are bound by copying them, not by the
    // server, so "% of ceiling" says how much any Node server could still gain on a row.
    const responses = {};
    const bytes = {};
    for (const e of paths.countersign) {
      const r = await httpGet(e.url);
      responses[pathOf(e.url)] = { headers: cachedHeaders(r.headers), body: r.body };
      bytes[e.id] = r.body.length;
    }
    const bare = stopLater(await startCeiling('bare', { cpus: options.serverCpu, responses }));
    // As in the main phase: the first figure should not also pay for compiling the read path.
    for (const url of [
      ...Object.values(paths).map((p) => p[0].url),
      bare.url + pathOf(paths.countersign[0].url),
    ])
      await wrk(url, { ...load, durationS: 2, warmupS: 0 });
    const gets = [];
    for (const [i, e] of paths.countersign.entries()) {
      say(`long history, GET ${e.what}: countersign, notary-server, bare node:http`);
      const row = await wrkRounds(
        {
          countersign: e.url,
          notaryServer: paths.notaryServer[i].url,
          bare: bare.url + pathOf(e.url),
        },
        load
      );
      gets.push(deriveGetRow({ id: e.id, what: e.what, bytes: bytes[e.id], ...row }));
    }
    await stopNow(bare);
    const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    return {
      versions,
      targets,
      uploads: uploads.length + 2,
      postMedianMs: {
        countersign: median(publishMs.countersign),
        notaryServer: median(publishMs.notaryServer),
      },
      gets,
    };
  } finally {
    rss.unwatch(cs.name);
    await stopNow(cs);
    await stopNow(ns);
  }
}
