/**
 * Crash safety, measured: the real notary CLI publishes in a loop while `countersign serve` is
 * killed with SIGKILL at random moments and restarted on the same data dir. After every restart
 * the harness checks what an operator would need to be true:
 *
 * - every publish the client saw succeed is in the repository (nothing acknowledged is lost);
 * - a fresh notary client verifies the whole chain (timestamp → snapshot → targets) and lists it;
 * - the client that kept publishing goes on (its cache would refuse a rolled-back repository);
 * - no timestamp version is served lower than one served before the kill;
 * - SQLite's `PRAGMA integrity_check` answers `ok`.
 *
 * On PostgreSQL two instances share one database: the client publishes through the first, which
 * is the one killed; the second must see every acknowledged publish and never a lower version
 * (the cross-instance read-after-write promise, docs/postgres.md). PostgreSQL's own integrity is
 * not checked here: the harness kills Countersign, not the database.
 *
 * `test/reliability/crash.test.ts` runs a few kills in `npm test`; `npm run crash -- --kills 50`
 * runs the long version and prints the figures quoted in README "Reliability".
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeTempDir, removeTempDir } from '../helpers/cleanup.js';
import { startCountersign, type StartedCountersign } from '../helpers/countersign.js';
import { startPostgres } from '../helpers/postgres.js';
import { NotaryClient } from '../helpers/notary-cli.js';
import { fetchRaw, parseSigned, tufPath } from '../helpers/notary-http.js';
import { sleep } from '../helpers/proc.js';

export interface CrashRunOptions {
  readonly kills: number;
  readonly backend: 'sqlite' | 'postgres';
  /** Seeds the kill delays, so a failing run can be repeated. */
  readonly seed: number;
  /** Each kill comes a uniformly random time after the restart, within these bounds. */
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly log?: (line: string) => void;
}

export interface CrashRunResult {
  readonly backend: 'sqlite' | 'postgres';
  readonly kills: number;
  readonly publishesAttempted: number;
  readonly publishesAcknowledged: number;
  /** Acknowledged targets missing after a restart (must be empty). */
  readonly lost: string[];
  /** Timestamp versions served lower than one served before a kill (must be empty). */
  readonly rollbacks: string[];
  /** integrity_check answers other than `ok`, fresh-client failures, stuck publishers. */
  readonly failures: string[];
  readonly highestTimestampVersion: number;
  readonly durationMs: number;
}

/** mulberry32: a small seeded PRNG; Math.random cannot be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GUN = 'example.com/reliability/crash';

/** The servers under test: the one the client publishes through (and that gets killed), and the one that checks. */
interface Deployment {
  victim: StartedCountersign;
  readonly observers: () => StartedCountersign[];
  restartVictim(): Promise<void>;
  /** `ok`, or what is wrong with the stored data. */
  integrity(): string;
  stop(): Promise<void>;
}

async function sqliteDeployment(dataDir: string): Promise<Deployment> {
  const d: Deployment = {
    victim: await startCountersign({ dataDir, tls: false }),
    observers: () => [d.victim],
    async restartVictim() {
      d.victim = await startCountersign({ dataDir, tls: false });
    },
    integrity: () => integrityCheck(join(dataDir, 'countersign.db')),
    stop: () => d.victim.stop(),
  };
  return d;
}

async function postgresDeployment(): Promise<Deployment> {
  const cluster = await startPostgres();
  const config = { storage: { backend: 'postgres', db_url: await cluster.createDatabase() } };
  const env = { COUNTERSIGN_KEY_PASSPHRASE: 'crash harness on postgres' };
  const start = () => startCountersign({ config, env, tls: false });
  const other = await start();
  const d: Deployment = {
    victim: await start(),
    observers: () => [other, d.victim],
    async restartVictim() {
      d.victim = await start();
    },
    integrity: () => 'ok',
    async stop() {
      await Promise.allSettled([d.victim.stop(), other.stop()]);
      await cluster.stop();
    },
  };
  return d;
}

export async function runCrashHarness(o: CrashRunOptions): Promise<CrashRunResult> {
  const log = o.log ?? (() => {});
  const random = prng(o.seed);
  const started = performance.now();
  const base = makeTempDir('countersign-crash-');
  const dataDir = join(base, 'data');
  // Outside every client's own folder, so it survives the client made for each restarted server.
  const trustDir = join(base, 'trust');
  const acknowledged = new Set<string>();
  const lost: string[] = [];
  const rollbacks: string[] = [];
  const failures: string[] = [];
  let attempted = 0;
  let highest = 0;

  const deployment =
    o.backend === 'sqlite' ? await sqliteDeployment(dataDir) : await postgresDeployment();
  let client = await NotaryClient.create({ server: deployment.victim.sut, trustDir });
  try {
    await client.init(GUN, { publish: true });
    // Docker's default since 1.11: the server holds the snapshot key too, so every publish
    // makes the server sign and store a snapshot and a timestamp in one transaction.
    await client.keyRotate(GUN, 'snapshot', { serverManaged: true });
    highest = await timestampVersion(deployment.victim);

    for (let kill = 1; kill <= o.kills; kill++) {
      let stop = false;
      const publisher = (async () => {
        while (!stop) {
          const name = `t${++attempted}`;
          const file = join(base, `${name}.bin`);
          writeFileSync(file, randomBytes(32));
          const r = await client.add(GUN, name, file, { publish: true, check: false });
          if (r.code === 0) acknowledged.add(name);
        }
      })();
      const poller = (async () => {
        while (!stop) {
          for (const server of deployment.observers()) {
            const v = await timestampVersion(server).catch(() => 0);
            if (v > highest) highest = v;
          }
          await sleep(5);
        }
      })();
      await sleep(o.minDelayMs + random() * (o.maxDelayMs - o.minDelayMs));
      await deployment.victim.service.kill();
      stop = true;
      await Promise.all([publisher, poller]);

      await deployment.restartVictim();
      await client.dispose();
      client = await NotaryClient.create({ server: deployment.victim.sut, trustDir });
      let after = 0;
      for (const server of deployment.observers()) {
        after = await timestampVersion(server);
        if (after < highest) rollbacks.push(`kill ${kill}: timestamp ${after} after ${highest}`);
        for (const problem of await checkRepository(server, acknowledged)) {
          (problem.startsWith('lost') ? lost : failures).push(`kill ${kill}: ${problem}`);
        }
      }
      const integrity = deployment.integrity();
      if (integrity !== 'ok') failures.push(`kill ${kill}: integrity_check: ${integrity}`);
      log(
        `kill ${kill}/${o.kills}: ${acknowledged.size} of ${attempted} publishes acknowledged, timestamp v${after}`
      );
    }
    // The publishing client's cache holds the newest state it saw; it must still publish.
    const last = join(base, 'last.bin');
    writeFileSync(last, randomBytes(32));
    const r = await client.add(GUN, 'last', last, { publish: true, check: false });
    if (r.code !== 0)
      failures.push(`the publishing client cannot publish after the kills: ${r.stderr}`);
  } finally {
    await client.dispose().catch(() => {});
    await deployment.stop().catch(() => {});
    await removeTempDir(base);
  }
  return {
    backend: o.backend,
    kills: o.kills,
    publishesAttempted: attempted,
    publishesAcknowledged: acknowledged.size,
    lost,
    rollbacks,
    failures,
    highestTimestampVersion: highest,
    durationMs: Math.round(performance.now() - started),
  };
}

async function timestampVersion(server: StartedCountersign): Promise<number> {
  const r = await fetchRaw(server.sut, tufPath(GUN, 'timestamp.json'));
  if (r.status !== 200) throw new Error(`timestamp.json answered ${r.status}`);
  return parseSigned<{ version: number }>(r.body).signed.version;
}

/** A client with an empty cache verifies the chain from the root and lists every target. */
async function checkRepository(
  server: StartedCountersign,
  acknowledged: ReadonlySet<string>
): Promise<string[]> {
  const fresh = await NotaryClient.create({ server: server.sut });
  try {
    const listed = new Set((await fresh.list(GUN)).map((t) => t.name));
    return [...acknowledged].filter((n) => !listed.has(n)).map((n) => `lost acknowledged ${n}`);
  } catch (e) {
    return [`a fresh notary client cannot list: ${(e as Error).message.split('\n')[0]}`];
  } finally {
    await fresh.dispose();
  }
}

export function integrityCheck(path: string): string {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const rows = db.pragma('integrity_check') as { integrity_check: string }[];
    return rows.map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}
