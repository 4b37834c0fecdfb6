/**
 * Load and soak: mixed reads (every current role, by version and by checksum) from several
 * keep-alive clients while the real notary CLI publishes, against `countersign serve` on SQLite.
 * Every `sampleMs` it records the server's RSS and open file descriptors (from /proc), the
 * requests and errors of that window and their p50/p99 latency, so a leak shows as a slope.
 *
 * `test/reliability/load.test.ts` runs it for seconds in `npm test`; `npm run soak` (default ten
 * minutes, `--minutes N`) gives the figures in README "Reliability".
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '../helpers/cleanup.js';
import { startCountersign, type StartedCountersign } from '../helpers/countersign.js';
import { NotaryClient } from '../helpers/notary-cli.js';
import { sleep } from '../helpers/proc.js';

export interface LoadOptions {
  readonly durationMs: number;
  readonly sampleMs: number;
  readonly readers: number;
  readonly log?: (line: string) => void;
}

export interface LoadSample {
  readonly atS: number;
  readonly rssMB: number;
  readonly fds: number;
  readonly reads: number;
  readonly publishes: number;
  readonly errors: number;
  readonly p50ms: number;
  readonly p99ms: number;
}

export interface LoadResult {
  readonly samples: LoadSample[];
  readonly reads: number;
  readonly publishes: number;
  /** Non-2xx answers and failed connections of readers; failed notary publishes. */
  readonly errors: string[];
  readonly durationMs: number;
}

const GUN = 'example.com/reliability/load';

/** The server's main process and its children (workers): RSS in MB and open descriptors. */
function processFigures(pid: number): { rssMB: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssMB: Math.round(kb / 1024), fds: readdirSync(`/proc/${pid}/fd`).length };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function get(agent: Agent, url: URL, path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path, agent, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      }
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end();
  });
}

/** The paths a reader cycles through: current roles, every root version, snapshot by checksum. */
async function readPaths(agent: Agent, url: URL): Promise<string[]> {
  const base = `/v2/${GUN}/_trust/tuf/`;
  const ts = await get(agent, url, `${base}timestamp.json`);
  const meta = (
    JSON.parse(ts.body.toString('utf8')) as {
      signed: { meta: Record<string, { hashes: { sha256: string } }> };
    }
  ).signed.meta;
  const snapshotHex = Buffer.from(meta.snapshot!.hashes.sha256, 'base64').toString('hex');
  return [
    'timestamp.json',
    'snapshot.json',
    'targets.json',
    'root.json',
    '1.root.json',
    `snapshot.${snapshotHex}.json`,
    'timestamp.key',
  ].map((p) => base + p);
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const log = o.log ?? (() => {});
  const base = makeTempDir('countersign-load-');
  const server: StartedCountersign = await startCountersign({
    dataDir: join(base, 'data'),
    tls: false,
  });
  const client = await NotaryClient.create({ server: server.sut });
  const errors: string[] = [];
  const samples: LoadSample[] = [];
  let reads = 0;
  let publishes = 0;
  let window: number[] = [];
  let windowErrors = 0;
  let windowPublishes = 0;
  const started = performance.now();
  try {
    await client.init(GUN, { publish: true });
    await client.keyRotate(GUN, 'snapshot', { serverManaged: true });
    const url = new URL(server.sut.url);
    const deadline = started + o.durationMs;
    let stop = false;

    const reader = async (agent: Agent) => {
      let paths = await readPaths(agent, url);
      for (let i = 0; !stop; i++) {
        const path = paths[i % paths.length]!;
        const t0 = performance.now();
        try {
          const r = await get(agent, url, path);
          window.push(performance.now() - t0);
          reads++;
          // A snapshot by checksum goes away from "current" once a publish lands: refresh.
          if (r.status === 404 && path.includes('snapshot.')) paths = await readPaths(agent, url);
          else if (r.status !== 200) {
            windowErrors++;
            errors.push(`GET ${path}: ${r.status}`);
          }
        } catch (e) {
          windowErrors++;
          errors.push(`GET ${path}: ${(e as Error).message}`);
        }
      }
    };
    const publisher = async () => {
      for (let i = 0; !stop; i++) {
        const file = join(base, `p${i}.bin`);
        writeFileSync(file, randomBytes(64));
        const r = await client.add(GUN, `p${i}`, file, { publish: true, check: false });
        if (r.code === 0) {
          publishes++;
          windowPublishes++;
        } else errors.push(`notary add -p p${i}: ${r.stderr.slice(0, 200)}`);
      }
    };
    const sampler = async () => {
      while (!stop) {
        await sleep(Math.min(o.sampleMs, Math.max(0, deadline - performance.now())));
        const sorted = window.sort((a, b) => a - b);
        const s: LoadSample = {
          atS: Math.round((performance.now() - started) / 1000),
          ...processFigures(server.service.pid!),
          reads: sorted.length,
          publishes: windowPublishes,
          errors: windowErrors,
          p50ms: Number(percentile(sorted, 50).toFixed(2)),
          p99ms: Number(percentile(sorted, 99).toFixed(2)),
        };
        samples.push(s);
        log(JSON.stringify(s));
        window = [];
        windowErrors = 0;
        windowPublishes = 0;
        if (performance.now() >= deadline) stop = true;
      }
    };
    const agents = Array.from({ length: o.readers }, () => new Agent({ keepAlive: true }));
    await Promise.all([...agents.map(reader), publisher(), sampler()]);
    for (const a of agents) a.destroy();
  } finally {
    await client.dispose().catch(() => {});
    await server.stop().catch(() => {});
    await removeTempDir(base);
  }
  return {
    samples,
    reads,
    publishes,
    errors,
    durationMs: Math.round(performance.now() - started),
  };
}
