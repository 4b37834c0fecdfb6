/**
 * A throwaway MariaDB server (Debian's `mariadb-server`): mariadb-install-db into a temporary
 * directory, mariadbd on a free 127.0.0.1 port with its socket inside the directory, durability
 * off (the data dies with the test), run as the `mysql` user when we are root. One account with a
 * password, reachable over TCP, as notary's Go programs and `countersign import-notary` connect.
 * `stop()` shuts it down and removes the directory; an exit hook does the same if the test
 * process ends first. Anything that goes wrong throws with the programs' output.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// Tests reach MariaDB directly to create databases and inspect or tamper with state; src/
// reaches it only through src/migrate/mysql-reader.ts.
import mysql from 'mysql2/promise';
import { onProcessExit } from './exit-hooks.js';
import { CommandError, freePort, run, Service, sleep } from './proc.js';

const MARIADBD = '/usr/sbin/mariadbd';
const INSTALL_DB = '/usr/bin/mariadb-install-db';
export const MARIADB_USER = 'notary';
export const MARIADB_PASSWORD = 'mariadb-test-password';

export interface StartedMariadb {
  readonly port: number;
  /** Creates an empty database; returns its name. */
  createDatabase(): Promise<string>;
  /** `mysql://notary:…@127.0.0.1:PORT/NAME` */
  url(database: string): string;
  /** go-sql-driver's DSN for notary-server / notary-signer. */
  goDsn(database: string): string;
  /** Runs SQL (several statements allowed) in `database`; returns the last statement's rows. */
  query<R = Record<string, unknown>>(
    database: string,
    sql: string,
    params?: unknown[]
  ): Promise<R[]>;
  stop(): Promise<void>;
}

let databases = 0;

export async function startMariadb(): Promise<StartedMariadb> {
  for (const tool of [MARIADBD, INSTALL_DB]) {
    if (!existsSync(tool))
      throw new Error(
        `MariaDB is not installed: ${tool} is missing (apt-get install -y mariadb-server)`
      );
  }
  const dir = mkdtempSync(join(tmpdir(), 'countersign-mariadb-'));
  const data = join(dir, 'data');
  const socket = join(dir, 'mariadb.sock');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(dir, uid('mysql'), gid('mysql'));
  const userFlag = asRoot ? ['--user=mysql'] : [];
  let service: Service | undefined;
  const stopSync = (): void => {
    if (service?.running && service.pid) {
      try {
        process.kill(-service.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  onProcessExit(stopSync);
  try {
    const init = await run(
      INSTALL_DB,
      [
        '--no-defaults',
        `--datadir=${data}`,
        '--auth-root-authentication-method=socket',
        '--skip-test-db',
        ...userFlag,
      ],
      { cwd: dir, timeoutMs: 120_000 }
    );
    if (init.code !== 0) throw new CommandError('mariadb-install-db failed', init);
    let port: number;
    ({ service, port } = await launch(dir, data, socket, userFlag));
    await createAccount(socket);
    const url = (db: string): string =>
      `mysql://${MARIADB_USER}:${MARIADB_PASSWORD}@127.0.0.1:${port}/${db}`;
    const running = service;
    const query = async <R>(
      database: string,
      sql: string,
      params: unknown[] = []
    ): Promise<R[]> => {
      const c = await mysql.createConnection({ uri: url(database), multipleStatements: true });
      try {
        const [rows] = await c.query(sql, params);
        return (Array.isArray(rows) ? rows : []) as R[];
      } finally {
        await c.end();
      }
    };
    return {
      port,
      url,
      goDsn: (db) =>
        `${MARIADB_USER}:${MARIADB_PASSWORD}@tcp(127.0.0.1:${port})/${db}?parseTime=true`,
      async createDatabase() {
        const name = `notary_${process.pid}_${++databases}`;
        await query('mysql', `CREATE DATABASE ${name}`);
        return name;
      },
      query,
      async stop() {
        await running.stop(20_000);
        stopSync();
      },
    };
  } catch (err) {
    if (service) await service.stop();
    stopSync();
    throw err;
  }
}

/** mariadbd on a free port (retried if another process takes it first), once it accepts connections. */
async function launch(
  dir: string,
  data: string,
  socket: string,
  userFlag: string[]
): Promise<{ service: Service; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const service = Service.start(
      MARIADBD,
      [
        '--no-defaults',
        `--datadir=${data}`,
        `--socket=${socket}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        '--skip-name-resolve',
        '--innodb-flush-log-at-trx-commit=0',
        '--sync-binlog=0',
        '--innodb-buffer-pool-size=32M',
        '--default-time-zone=+00:00',
        ...userFlag,
      ],
      { cwd: dir }
    );
    try {
      await service.waitForOutput(/ready for connections/, 60_000);
      return { service, port };
    } catch (e) {
      await service.stop();
      if (attempt < 3 && /Address already in use|Can't start server/i.test(service.output()))
        continue;
      throw e;
    }
  }
}

/**
 * The password account the tests and the Go programs use, made through a root connection on the
 * socket (root authenticates as the unix user; as the mysql user that would be mysql@localhost).
 */
async function createAccount(socket: string): Promise<void> {
  const admin = await connectAdmin(socket);
  try {
    await admin.query(`CREATE USER '${MARIADB_USER}'@'%' IDENTIFIED BY '${MARIADB_PASSWORD}'`);
    await admin.query(`GRANT ALL PRIVILEGES ON *.* TO '${MARIADB_USER}'@'%'`);
  } finally {
    await admin.end();
  }
}

async function connectAdmin(socket: string): Promise<mysql.Connection> {
  // The root account is socket-authenticated as the unix user root (install-db's default when
  // run as root); when not root, install-db made the running user the admin.
  const user = process.getuid?.() === 0 ? 'root' : (process.env.USER ?? 'root');
  let last: unknown;
  for (let i = 0; i < 50; i++) {
    try {
      return await mysql.createConnection({ socketPath: socket, user });
    } catch (e) {
      last = e;
      await sleep(100);
    }
  }
  throw new Error(`cannot connect to MariaDB on ${socket}: ${String(last)}`);
}

function uid(user: string): number {
  return Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
}
function gid(user: string): number {
  return Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
}
