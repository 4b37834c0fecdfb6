/**
 * A production-shaped notary deployment made of Debian's real programs: `notary-signer` keeping
 * its private keys JWE-sealed in SQL, `notary-server` keeping its metadata in SQL and asking the
 * signer over gRPC + TLS for every server-held key. This is what an operator moves out of; the
 * migration tests populate it with the notary CLI and import its databases into Countersign.
 *
 * Neither program creates its schema (notary's own deployments run its SQL migrations first), so
 * the helper applies the schemas in fixtures/notary-schema/ (and the bench's server schema for
 * PostgreSQL) to empty databases it is handed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from './cleanup.js';
import { fixturePath, repoRoot } from './paths.js';
import { freePort, Service, sleep } from './proc.js';
import { serverUnderTest, type StartedServer } from './server-under-test.js';
import { makeCa, makeServerCert } from './tls.js';

/** One SQL database of the deployment, as the Go programs and as our tests address it. */
export interface NotaryDatabase {
  /** notary's `storage.backend`: `postgres` or `mysql`. */
  readonly backend: 'postgres' | 'mysql';
  /** The DSN the Go programs take (lib/pq URL, or go-sql-driver's `user@tcp(host:port)/db?parseTime=true`). */
  readonly goDsn: string;
  /** The DSN `countersign import-notary` takes (`postgres://…` or `mysql://…`). */
  readonly url: string;
  /** Runs one or more SQL statements on it (schema set-up). */
  exec(sql: string): Promise<void>;
}

export interface NotaryDeploymentOptions {
  readonly serverDb: NotaryDatabase;
  readonly signerDb: NotaryDatabase;
}

export interface NotaryDeployment extends StartedServer {
  readonly server: Service;
  readonly signer: Service;
  /** notary-signer's `storage.default_alias`; its passphrase is in env `signerEnv`. */
  readonly signerAlias: string;
  /** `NOTARY_SIGNER_<ALIAS>=passphrase`: what notary-signer (and the import) reads. */
  readonly signerEnv: Readonly<Record<string, string>>;
  readonly serverDb: NotaryDatabase;
  readonly signerDb: NotaryDatabase;
}

export const SIGNER_ALIAS = 'alias1';
export const SIGNER_PASSPHRASE = 'signer-passphrase-for-tests';

/** The schema files of one backend: notary-server's and notary-signer's. */
function schemas(backend: NotaryDatabase['backend']): { server: string; signer: string } {
  if (backend === 'postgres') {
    return {
      server: readFileSync(join(repoRoot, 'scripts/bench/notary-server-postgres.sql'), 'utf8'),
      signer: readFileSync(fixturePath('notary-schema/postgres-signer.sql'), 'utf8'),
    };
  }
  return {
    server: readFileSync(fixturePath('notary-schema/mysql-server.sql'), 'utf8'),
    signer: readFileSync(fixturePath('notary-schema/mysql-signer.sql'), 'utf8'),
  };
}

export async function startNotaryDeployment(
  opts: NotaryDeploymentOptions
): Promise<NotaryDeployment> {
  const dir = makeTempDir('notary-deployment-');
  const services: Service[] = [];
  const stopAll = async (): Promise<void> => {
    for (const s of services.reverse()) await s.stop();
    await removeTempDir(dir);
  };
  try {
    await opts.serverDb.exec(schemas(opts.serverDb.backend).server);
    await opts.signerDb.exec(schemas(opts.signerDb.backend).signer);
    // One CA for both TLS hops: clients → notary-server, notary-server → notary-signer (gRPC).
    const ca = await makeCa(dir, 'notary deployment test CA');
    const tls = await makeServerCert(dir, ca);
    const signerEnv = { [`NOTARY_SIGNER_${SIGNER_ALIAS.toUpperCase()}`]: SIGNER_PASSPHRASE };
    const signer = await startSigner(dir, opts.signerDb, tls, signerEnv, services);
    const { service: server, url } = await startServer(
      dir,
      opts.serverDb,
      tls,
      ca.certFile,
      signer.port,
      services
    );
    return {
      sut: serverUnderTest(url, ca.certFile),
      server,
      signer: signer.service,
      signerAlias: SIGNER_ALIAS,
      signerEnv,
      serverDb: opts.serverDb,
      signerDb: opts.signerDb,
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

type TlsFiles = { certFile: string; keyFile: string };

async function startSigner(
  dir: string,
  db: NotaryDatabase,
  tls: TlsFiles,
  env: Record<string, string>,
  services: Service[]
): Promise<{ service: Service; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const httpPort = await freePort();
    const configFile = join(dir, `signer-${port}.json`);
    writeFileSync(
      configFile,
      JSON.stringify({
        server: {
          grpc_addr: `127.0.0.1:${port}`,
          http_addr: `127.0.0.1:${httpPort}`,
          tls_cert_file: tls.certFile,
          tls_key_file: tls.keyFile,
        },
        logging: { level: 'info' },
        storage: { backend: db.backend, db_url: db.goDsn, default_alias: SIGNER_ALIAS },
      })
    );
    const service = Service.start('notary-signer', ['-config', configFile], {
      cwd: dir,
      env: { ...process.env, ...env },
    });
    services.push(service);
    try {
      await waitForPort(service, port);
      return { service, port };
    } catch (e) {
      await service.stop();
      if (attempt < 3 && /address already in use/.test(service.output())) continue;
      throw e;
    }
  }
}

async function startServer(
  dir: string,
  db: NotaryDatabase,
  tls: TlsFiles,
  caFile: string,
  signerPort: number,
  services: Service[]
): Promise<{ service: Service; url: string }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const configFile = join(dir, `server-${port}.json`);
    writeFileSync(
      configFile,
      JSON.stringify({
        server: {
          http_addr: `127.0.0.1:${port}`,
          tls_cert_file: tls.certFile,
          tls_key_file: tls.keyFile,
        },
        trust_service: {
          type: 'remote',
          hostname: '127.0.0.1',
          port: String(signerPort),
          key_algorithm: 'ecdsa',
          tls_ca_file: caFile,
        },
        storage: { backend: db.backend, db_url: db.goDsn },
        logging: { level: 'info' },
      })
    );
    const service = Service.start('notary-server', ['-config', configFile], { cwd: dir });
    services.push(service);
    const url = `https://127.0.0.1:${port}`;
    try {
      await service.waitForUrl(`${url}/_notary_server/health`, { caFile, timeoutMs: 30_000 });
      return { service, url };
    } catch (e) {
      await service.stop();
      if (attempt < 3 && /address already in use/.test(service.output())) continue;
      throw e;
    }
  }
}

/** notary-signer prints nothing reliable when ready: poll its gRPC port until it accepts. */
async function waitForPort(service: Service, port: number): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (!service.running) throw new Error(`notary-signer exited:\n${service.output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`notary-signer did not listen on ${port}:\n${service.output()}`);
}

/** A fresh database on a throwaway PostgreSQL cluster (test/helpers/postgres.ts), for notary. */
export async function postgresNotaryDatabase(pg: {
  createDatabase(): Promise<string>;
  query(sql: string, params?: unknown[], url?: string): Promise<unknown[]>;
}): Promise<NotaryDatabase> {
  const url = await pg.createDatabase();
  return {
    backend: 'postgres',
    goDsn: `${url}?sslmode=disable`,
    url,
    exec: async (sql) => {
      await pg.query(sql, [], url);
    },
  };
}

/** A fresh database on a throwaway MariaDB server (test/helpers/mariadb.ts), for notary. */
export async function mariadbNotaryDatabase(maria: {
  createDatabase(): Promise<string>;
  url(database: string): string;
  goDsn(database: string): string;
  query(database: string, sql: string): Promise<unknown[]>;
}): Promise<NotaryDatabase> {
  const name = await maria.createDatabase();
  return {
    backend: 'mysql',
    goDsn: maria.goDsn(name),
    url: maria.url(name),
    exec: async (sql) => {
      await maria.query(name, sql);
    },
  };
}
