/**
 * `countersign serve`: load the configuration, open storage and keys, listen, and shut down
 * gracefully on SIGTERM/SIGINT (in-flight requests finish, then the database closes).
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createApp } from '../app.js';
import { readConfig, type ServeFlags } from '../config/load.js';
import type { Config } from '../config/types.js';
import { ensureSelfSignedTls } from '../server/tls.js';
import { systemClock } from '../util/clock.js';
import { createLogger } from '../util/log.js';
import { fail } from '../errors.js';
import { preflight } from './preflight.js';
import { parseArgs, bool, list, str, type Parsed } from './args.js';
import { printVersion } from './version.js';

export const SERVE_FLAGS = {
  config: 'string',
  listen: 'string',
  'data-dir': 'string',
  'tls-cert': 'string',
  'tls-key': 'string',
  'plain-http': 'boolean',
  'tls-hostname': 'list',
  'public-url': 'string',
  workers: 'string',
  'log-level': 'string',
  'db-url': 'string',
  logf: 'string',
  debug: 'boolean',
  version: 'boolean',
  help: 'boolean',
} as const;

/** notary-server's flags, which it spells with one dash (as in systemd units written for it). */
const NOTARY_SERVER_FLAGS = ['config', 'logf', 'debug', 'version'];

export function serveFlags(argv: readonly string[]): ServeFlags {
  return flagsOf(parseServeArgs(argv));
}

function parseServeArgs(argv: readonly string[]): Parsed {
  const p = parseArgs(argv, SERVE_FLAGS, { singleDash: NOTARY_SERVER_FLAGS });
  if (p.positionals.length > 0)
    fail(
      'USAGE',
      `serve takes no arguments, but got ${JSON.stringify(p.positionals[0])}: give a configuration file with --config FILE (or -config FILE)`
    );
  return p;
}

function flagsOf(p: Parsed): ServeFlags {
  const workers = str(p, 'workers');
  if (workers !== undefined && !/^[1-9]\d{0,3}$/.test(workers))
    fail('USAGE', `--workers must be a positive integer, not ${JSON.stringify(workers)}`);
  const logf = str(p, 'logf');
  if (logf !== undefined && logf !== 'json' && logf !== 'logfmt')
    fail('USAGE', `-logf must be json or logfmt, not ${JSON.stringify(logf)}`);
  const logLevel = str(p, 'log-level');
  if (logLevel !== undefined && bool(p, 'debug') && logLevel !== 'debug')
    fail('USAGE', `-debug and --log-level ${logLevel} contradict each other`);
  return {
    config: str(p, 'config'),
    listen: str(p, 'listen'),
    dataDir: str(p, 'data-dir'),
    tlsCert: str(p, 'tls-cert'),
    tlsKey: str(p, 'tls-key'),
    plainHttp: bool(p, 'plain-http'),
    tlsHostnames: list(p, 'tls-hostname'),
    publicUrl: str(p, 'public-url'),
    workers: workers === undefined ? undefined : Number(workers),
    logLevel: bool(p, 'debug') ? 'debug' : logLevel,
    dbUrl: str(p, 'db-url'),
    ...(logf !== undefined ? { logFormat: logf } : {}),
  };
}

export const SERVE_USAGE = `Usage: countersign serve [options]

  --config FILE          notary-server configuration (JSON) plus a "countersign" section
                         (docs/config.md; check one with: countersign config check --config FILE)
  --listen HOST:PORT     address to listen on (default 127.0.0.1:4443; port 0 picks a free one)
  --data-dir DIR         SQLite database, generated TLS material, key file (default ./data)
  --db-url URL|FILE      postgres:// URL (PostgreSQL) or an SQLite file
  --tls-cert FILE --tls-key FILE
                         serve TLS with this certificate (default: a self-signed CA in DIR/tls)
  --tls-hostname NAME    another name for the generated server certificate (repeatable)
  --plain-http           serve HTTP (the notary CLI accepts http://, docker does not)
  --public-url URL       the URL clients use (behind a proxy); builds the token realm
  --workers N            N processes sharing the port and the database
  --log-level LEVEL      debug, info, warn, error or silent

notary-server's flags, with one dash or two:
  -config FILE           as --config
  -logf json|logfmt      log line format (default json)
  -debug                 log at debug level (Countersign has no separate debug listener)
  -version               print the version and exit

Environment: COUNTERSIGN_KEY_PASSPHRASE encrypts server-held private keys (required with
PostgreSQL); NOTARY_SERVER_<SECTION>_<KEY> and COUNTERSIGN__<SECTION>__<KEY> override
configuration keys (docs/config.md).
`;

export async function serve(argv: readonly string[]): Promise<number> {
  const p = parseServeArgs(argv);
  if (bool(p, 'help')) {
    process.stdout.write(SERVE_USAGE);
    return 0;
  }
  if (bool(p, 'version')) return printVersion();
  const { config, warnings } = readConfig(flagsOf(p));
  preflight(config);
  if (cluster.isPrimary) for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  if (config.workers > 1 && cluster.isPrimary) return runPrimary(config, argv);
  return runServer(config, { announce: cluster.isPrimary });
}

/**
 * `--workers N`: N processes (node:cluster) share the listening socket and the database (SQLite
 * in WAL mode, or PostgreSQL). Each keeps its own read cache, kept honest by the storage
 * generation, which in this mode asks SQLite on every read. The primary prepares what must not
 * race (the generated TLS material), starts the workers, announces the address once every worker
 * listens, restarts a worker that dies, and stops them all on SIGTERM/SIGINT.
 */
async function runPrimary(config: Config, argv: readonly string[]): Promise<number> {
  if (config.tls.mode === 'self-signed') {
    const files = await ensureSelfSignedTls(config.tls.dir, config.tls.hostnames, systemClock);
    process.stdout.write(
      `TLS CA certificate: ${files.caFile} (for notary --tlscacert and ~/.docker/tls/<host:port>/ca.crt)\n`
    );
  }
  cluster.setupPrimary({ args: ['serve', ...argv] });
  let stopping = false;
  let announced = false;
  const listening = new Set<number>();
  const fork = (): void => {
    const worker = cluster.fork({ COUNTERSIGN_WORKER: '1' });
    worker.on('message', (msg: unknown) => {
      const m = msg as { type?: string; url?: string };
      if (m.type !== 'listening' || typeof m.url !== 'string') return;
      listening.add(worker.id);
      if (!announced && listening.size >= config.workers) {
        announced = true;
        process.stdout.write(`listening on ${m.url} (${config.workers} workers)\n`);
      }
    });
    worker.on('exit', (code, signal) => {
      listening.delete(worker.id);
      if (stopping) return;
      process.stderr.write(
        `worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`
      );
      fork();
    });
  };
  for (let i = 0; i < config.workers; i++) fork();
  return new Promise<number>((resolve) => {
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
      let left = workers.length;
      if (left === 0) resolve(0);
      for (const w of workers) {
        w.once('exit', () => {
          if (--left === 0) resolve(0);
        });
        w.process.kill('SIGTERM');
      }
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

async function runServer(config: Config, opts: { announce: boolean }): Promise<number> {
  const log = createLogger({ level: config.logLevel, format: config.logFormat ?? 'json' });
  const clock = systemClock;
  const app = await createApp(config, { clock, log });
  if (opts.announce) for (const w of app.warnings) process.stderr.write(`warning: ${w}\n`);
  let server: Server;
  let scheme: 'http' | 'https';
  if (config.tls.mode === 'plain') {
    server = createHttpServer(
      { connectionsCheckingInterval: CONNECTION_LIMITS.checkIntervalMs },
      app.handle
    );
    scheme = 'http';
  } else {
    const files =
      config.tls.mode === 'files'
        ? { certFile: config.tls.certFile, keyFile: config.tls.keyFile, caFile: undefined }
        : await ensureSelfSignedTls(config.tls.dir, config.tls.hostnames, clock);
    const clientCa = config.tls.mode === 'files' ? config.tls.clientCaFile : undefined;
    server = createHttpsServer(
      {
        cert: readFileSync(files.certFile),
        key: readFileSync(files.keyFile),
        minVersion: 'TLSv1.2',
        connectionsCheckingInterval: CONNECTION_LIMITS.checkIntervalMs,
        ...(clientCa
          ? { ca: readFileSync(clientCa), requestCert: true, rejectUnauthorized: true }
          : {}),
      },
      app.handle
    );
    scheme = 'https';
    if (files.caFile && opts.announce)
      process.stdout.write(
        `TLS CA certificate: ${files.caFile} (for notary --tlscacert and ~/.docker/tls/<host:port>/ca.crt)\n`
      );
  }
  applyConnectionLimits(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `${scheme}://${host}:${addr.port}`;
  app.listening(url);
  if (opts.announce) process.stdout.write(`listening on ${url}\n`);
  else process.send?.({ type: 'listening', url });
  // Re-signing starts once the server answers, and is handed over (lease released) first on
  // shutdown. With --workers every worker runs one; the lease lets one of them re-sign.
  app.freshness.start();
  return new Promise<number>((resolve) => {
    let stopping = false;
    // A worker's IPC channel would keep its event loop alive: let go of it once closed.
    const done = (code: number) => {
      if (cluster.isWorker) cluster.worker?.disconnect();
      resolve(code);
    };
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      const scheduler = app.freshness.stop();
      server.close(() => {
        scheduler
          .catch(() => undefined)
          .then(() => app.close())
          .then(
            () => done(0),
            () => done(1)
          );
      });
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 10_000).unref();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

/**
 * Limits that cut off slow and hostile clients (README "Reliability"): a client has 30 s to send
 * its request headers (slowloris) and 5 minutes for a whole request (a 100 MiB upload at about
 * 350 KB/s still fits); an idle keep-alive connection is closed after 65 s (longer than the 60 s
 * of common proxies in front, so the proxy closes first). Node checks these every 5 s instead of
 * its default 30 s, so a cut-off connection does not linger. Headers over 16 KiB are refused
 * with 431 by Node itself.
 */
export const CONNECTION_LIMITS = {
  headersTimeoutMs: 30_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 65_000,
  checkIntervalMs: 5_000,
} as const;

function applyConnectionLimits(server: Server): void {
  server.headersTimeout = CONNECTION_LIMITS.headersTimeoutMs;
  server.requestTimeout = CONNECTION_LIMITS.requestTimeoutMs;
  server.keepAliveTimeout = CONNECTION_LIMITS.keepAliveTimeoutMs;
}
