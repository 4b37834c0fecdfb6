// The PostgreSQL phase: Countersign and notary-server 0.7 both on one throwaway PostgreSQL 15
// cluster (default durability), pinned with it to the server CPU, measured side by side on the
// same repositories: GETs of the current metadata and one-target publishes. Countersign runs
// twice, on databases of their own: with the default consistency window (what a multi-instance
// deployment needs) and with `consistencyWindowMs: 0` (the single-instance setting). Reported
// for information only: the goals are defined against the memory backend.
import { writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeTempDir, removeTempDir } from './procs.mjs';
import { repoRoot, startCountersign, startNotaryServer } from './servers.mjs';
import { startPostgres } from './postgres.mjs';
import { NotaryCli } from './notary.mjs';
import {
  APP,
  APP_TARGETS,
  endpointList,
  measurePublish,
  populate,
  resolvePaths,
} from './repos.mjs';
import { wrk, wrkRounds } from './wrk.mjs';
import { deriveGetRow } from './report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const NOTARY_SERVER_SCHEMA = join(here, 'notary-server-postgres.sql');

/** The current-metadata GETs; the by-checksum and by-version ones are storage-independent. */
const GETS = ['timestamp', 'snapshot', 'targets', 'root'];
/** The durability settings the figures depend on, checked and recorded. */
const DURABILITY = ['fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method'];
const REPORTED_SETTINGS = [...DURABILITY, 'shared_buffers', 'max_connections'];
// Countersign refuses to create a key file on PostgreSQL (every instance must decrypt every
// key): the passphrase is how an operator runs it. Derived once at start.
const KEY_PASSPHRASE = 'countersign-bench-key-passphrase';

/** Countersign's effective consistency window for a config, read by its own config loader. */
async function effectiveWindowMs(config) {
  const { loadConfig } = await import(
    pathToFileURL(join(repoRoot, 'dist/src/config/load.js')).href
  );
  const dir = makeTempDir('bench-config-');
  try {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(config));
    const loaded = loadConfig({ config: file, plainHttp: true }, {}, dir);
    if (loaded.storage.backend !== 'postgres')
      throw new Error(`the PostgreSQL config loads as ${loaded.storage.backend} storage`);
    return loaded.storage.consistencyWindowMs;
  } finally {
    removeTempDir(dir);
  }
}

/** Runs the phase; resolves with the `postgres` section of the results. */
export async function postgresPhase({ options, load, rss, stopLater, stopNow, say }) {
  const serverCpu = options.serverCpu;
  say(`starting a PostgreSQL cluster (${options.pgBin}) pinned to CPU ${serverCpu}`);
  const pg = stopLater(await startPostgres({ cpus: serverCpu, binDir: options.pgBin }));
  const settings = await pg.settings(REPORTED_SETTINGS);
  // The premise of the figures: both servers pay for a durable commit.
  if (settings.fsync !== 'on' || settings.synchronous_commit !== 'on')
    throw new Error(`PostgreSQL is not durable: ${JSON.stringify(settings)}`);
  const out = {
    version: pg.version,
    settings,
    consistencyWindowMs: {},
    gets: [],
  };

  const csDb = await pg.createDatabase('countersign');
  const csNoWindowDb = await pg.createDatabase('countersign_nowindow');
  const nsDb = await pg.createDatabase('notaryserver');
  await pg.runSqlFile(nsDb, NOTARY_SERVER_SCHEMA);

  // The same keys notary-server reads (storage.backend, storage.db_url) for both servers.
  const csConfig = { storage: { backend: 'postgres', db_url: pg.url(csDb) } };
  const csNoWindowConfig = {
    storage: { backend: 'postgres', db_url: pg.url(csNoWindowDb) },
    countersign: { storage: { consistencyWindowMs: 0 } },
  };
  out.consistencyWindowMs.countersign = await effectiveWindowMs(csConfig);
  out.consistencyWindowMs.countersignNoWindow = await effectiveWindowMs(csNoWindowConfig);
  if (out.consistencyWindowMs.countersignNoWindow !== 0)
    throw new Error('consistencyWindowMs: 0 does not turn the consistency window off');

  say(
    `starting Countersign (consistency window ${out.consistencyWindowMs.countersign} ms, the default; and 0 ms) and notary-server on PostgreSQL`
  );
  const env = { COUNTERSIGN_KEY_PASSPHRASE: KEY_PASSPHRASE };
  const startCs = async (name, config) => {
    const server = stopLater(
      await startCountersign({
        cpus: serverCpu,
        logLevel: 'warn',
        name,
        config,
        env,
        cpuProfDir: options.cpuProf,
      })
    );
    rss.watch(name, server.service.pid);
    return server;
  };
  const cs = await startCs('countersign-pg', csConfig);
  const csNoWindow = await startCs('countersign-pg-nowindow', csNoWindowConfig);
  // lib/pq (notary-server's driver) asks for TLS unless told not to; the cluster has none.
  const ns = stopLater(
    await startNotaryServer({
      cpus: serverCpu,
      logLevel: 'warn',
      name: 'notary-server-pg',
      storage: { backend: 'postgres', db_url: `${pg.url(nsDb)}?sslmode=disable` },
    })
  );
  rss.watch('notary-server-pg', ns.service.pid);

  const servers = { countersign: cs, notaryServer: ns, countersignNoWindow: csNoWindow };
  const clients = Object.fromEntries(
    Object.entries(servers).map(([k, s]) => [k, new NotaryCli(s.url, options.loadCpu)])
  );
  say(`populating ${APP} on the three with the notary CLI: ${APP_TARGETS} targets`);
  for (const c of Object.values(clients)) await populate(c, APP, 'app-', APP_TARGETS);

  const endpoints = endpointList(options.bigTargets).filter((e) => GETS.includes(e.id));
  const paths = {};
  for (const [k, s] of Object.entries(servers)) paths[k] = await resolvePaths(s.url, endpoints);

  say('warming up the PostgreSQL-backed servers on timestamp.json');
  for (const [k, s] of Object.entries(servers))
    await wrk(s.url + paths[k].timestamp, { ...load, durationS: 2, warmupS: 0 });
  // How many PostgreSQL connections each server opens under load: a server that does not keep
  // enough of them open pays a backend start (a fork) per request.
  const sessionsBefore = await pg.sessions();
  for (const e of endpoints) {
    // The window's read-side cost (a cache check against the database) shows on one file.
    const withNoWindow = e.id === 'timestamp';
    say(
      `GET ${e.what} on PostgreSQL: countersign, notary-server${withNoWindow ? ', countersign without the consistency window' : ''}`
    );
    const targets = {
      countersign: cs.url + paths.countersign[e.id],
      notaryServer: ns.url + paths.notaryServer[e.id],
    };
    if (withNoWindow)
      targets.countersignNoWindow = csNoWindow.url + paths.countersignNoWindow[e.id];
    out.gets.push(deriveGetRow({ id: e.id, what: e.what, ...(await wrkRounds(targets, load)) }));
  }

  const sessionsAfter = await pg.sessions();
  const dbs = { countersign: csDb, notaryServer: nsDb, countersignNoWindow: csNoWindowDb };
  out.sessionsDuringGets = Object.fromEntries(
    Object.entries(dbs).map(([k, db]) => [k, sessionsAfter[db] - sessionsBefore[db]])
  );

  say(
    `publish end to end on PostgreSQL: ${options.publishRuns} × notary add -p on each of the three`
  );
  out.publish = await measurePublish(clients, options.publishRuns);

  for (const s of [cs, csNoWindow, ns]) {
    rss.unwatch(s.name);
    await stopNow(s);
  }
  await stopNow(pg);
  return out;
}
