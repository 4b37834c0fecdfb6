/**
 * `countersign serve`: load the configuration, open storage and keys, listen, and shut down
 * gracefully on SIGTERM/SIGINT (in-flight requests finish, then the database closes).
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createApp } from '../app.js';
import { loadConfig, type ServeFlags } from '../config/load.js';
import { ensureSelfSignedTls } from '../server/tls.js';
import { systemClock } from '../util/clock.js';
import { createLogger } from '../util/log.js';
import { parseArgs, bool, list, str } from './args.js';

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
} as const;

export function serveFlags(argv: readonly string[]): ServeFlags {
  const p = parseArgs(argv, SERVE_FLAGS);
  const workers = str(p, 'workers');
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
    logLevel: str(p, 'log-level'),
    dbUrl: str(p, 'db-url'),
  };
}

export async function serve(argv: readonly string[]): Promise<number> {
  const config = loadConfig(serveFlags(argv));
  const log = createLogger({ level: config.logLevel });
  const clock = systemClock;
  const app = await createApp(config, { clock, log });
  for (const w of app.warnings) process.stderr.write(`warning: ${w}\n`);
  let server: Server;
  let scheme: 'http' | 'https';
  if (config.tls.mode === 'plain') {
    server = createHttpServer(app.handle);
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
        ...(clientCa ? { ca: readFileSync(clientCa), requestCert: true, rejectUnauthorized: true } : {}),
      },
      app.handle
    );
    scheme = 'https';
    if (files.caFile) process.stdout.write(`TLS CA certificate: ${files.caFile} (for notary --tlscacert and ~/.docker/tls/<host:port>/ca.crt)\n`);
  }
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  app.listening(`${scheme}://${host}:${addr.port}`);
  process.stdout.write(`listening on ${scheme}://${host}:${addr.port}\n`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      server.close(() => {
        app.close().then(
          () => resolve(0),
          () => resolve(1)
        );
      });
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 10_000).unref();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
