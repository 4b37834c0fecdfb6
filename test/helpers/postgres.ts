/**
 * A throwaway PostgreSQL 15 cluster (Debian's binaries): initdb into a temporary directory as
 * the `postgres` user (the server refuses to run as root), trust authentication, listening only
 * on 127.0.0.1 at a free port with its socket inside the directory, durability off (the data
 * dies with the test). `stop()` shuts it down and removes the directory; an exit hook does the
 * same if the test process ends first. Anything that goes wrong throws with the programs' output.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// Tests reach the server directly to create databases and to inspect or tamper with state;
// src/ reaches PostgreSQL only through src/storage/postgres.ts.
import pg from 'pg';
import { onProcessExit } from './exit-hooks.js';
import { CommandError, freePort, run, type RunResult } from './proc.js';

export const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface StartedPostgres {
  /** The `postgres` database, as superuser. */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Creates an empty database and returns its URL. */
  createDatabase(): Promise<string>;
  /**
   * Creates an empty schema in one shared database and returns a URL whose sessions use it
   * (search_path): much quicker than a database, for tests that need no database of their own
   * (notifications and advisory locks are per database, so such tests must not run at once).
   */
  createSchema(): Promise<string>;
  /** Runs one statement as superuser on the database at `url` (default: `postgres`). */
  query<R extends pg.QueryResultRow = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
    url?: string
  ): Promise<R[]>;
  stop(): Promise<void>;
  /** Shuts the server down, keeping the cluster, so it can `resume()` on the same port. */
  pause(): Promise<void>;
  /** Starts the paused server again, same data, same port. */
  resume(): Promise<void>;
}

let databases = 0;

/** Starts a fresh cluster; rejects with initdb's or pg_ctl's output if it cannot. */
export async function startPostgres(): Promise<StartedPostgres> {
  for (const tool of ['initdb', 'pg_ctl']) {
    if (!existsSync(join(PG_BIN, tool))) {
      throw new Error(`PostgreSQL 15 is not installed: ${join(PG_BIN, tool)} is missing`);
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'countersign-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const asPostgres = postgresRunner();
  if (asPostgres.uid !== undefined) chownSync(dir, asPostgres.uid, asPostgres.gid!);

  let running = false;
  const stopSync = (): void => {
    if (running) {
      running = false;
      spawnSync(
        ...asPostgres.argv(join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']),
        {
          stdio: 'ignore',
          cwd: dir,
        }
      );
    }
    rmSync(dir, { recursive: true, force: true });
  };
  onProcessExit(stopSync);

  const exec = async (tool: string, args: string[]): Promise<RunResult> => {
    const [cmd, argv] = asPostgres.argv(join(PG_BIN, tool), args);
    return run(cmd, argv, { cwd: dir, timeoutMs: 60_000 });
  };
  const explain = (what: string, r: RunResult): Error => {
    const serverLog = existsSync(log) ? readFileSync(log, 'utf8') : '(no server log)';
    return new CommandError(`${what}\n--- server log\n${serverLog}`, r);
  };

  try {
    const init = await exec('initdb', [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
      '--no-sync',
    ]);
    if (init.code !== 0) throw explain('initdb failed', init);

    // A free port can be taken by someone else before the server binds it: try a few.
    let port = 0;
    const serverStart = (options: string): Promise<RunResult> =>
      exec('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', options, 'start']);
    let serverOptions = '';
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const options = [
        `-c port=${port}`,
        `-c listen_addresses=127.0.0.1`,
        `-c unix_socket_directories='${dir}'`,
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
        '-c max_connections=200',
      ].join(' ');
      const start = await serverStart(options);
      serverOptions = options;
      if (start.code === 0) break;
      const serverLog = existsSync(log) ? readFileSync(log, 'utf8') : '';
      if (attempt < 3 && /could not bind|Address already in use/i.test(serverLog)) continue;
      throw explain('pg_ctl start failed', start);
    }
    running = true;

    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const query = async <R extends pg.QueryResultRow>(
      sql: string,
      params: unknown[] = [],
      at = url
    ): Promise<R[]> => {
      const client = new pg.Client({ connectionString: at });
      await client.connect();
      try {
        return (await client.query<R>(sql, params)).rows;
      } finally {
        await client.end();
      }
    };
    await query('SELECT 1');
    let schemaDb: string | undefined;
    let schemas = 0;

    const createDatabase = async (): Promise<string> => {
      const name = `countersign_${process.pid}_${++databases}`;
      await query(`CREATE DATABASE ${name}`);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    };
    return {
      url,
      port,
      dir,
      createDatabase,
      async createSchema() {
        if (schemaDb === undefined) schemaDb = await createDatabase();
        const name = `s${++schemas}`;
        await query(`CREATE SCHEMA ${name}`, [], schemaDb);
        return `${schemaDb}?options=${encodeURIComponent(`-c search_path=${name}`)}`;
      },
      query,
      async pause() {
        if (!running) throw new Error('the PostgreSQL server is not running');
        const r = await exec('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
        if (r.code !== 0) throw explain('pg_ctl stop failed', r);
        running = false;
      },
      async resume() {
        if (running) throw new Error('the PostgreSQL server is already running');
        const r = await serverStart(serverOptions);
        if (r.code !== 0) throw explain('pg_ctl start failed', r);
        running = true;
      },
      async stop() {
        if (running) {
          const r = await exec('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
          running = false;
          if (r.code !== 0) {
            stopSync();
            throw explain('pg_ctl stop failed', r);
          }
        }
        stopSync();
      },
    };
  } catch (err) {
    stopSync();
    throw err;
  }
}

/** How to run a PostgreSQL program: as `postgres` via runuser when we are root, else as we are. */
function postgresRunner(): {
  uid?: number;
  gid?: number;
  argv(cmd: string, args: string[]): [string, string[]];
} {
  if (process.getuid?.() !== 0) return { argv: (cmd, args) => [cmd, args] };
  const id = (flag: string): number => {
    try {
      return Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    } catch (err) {
      throw new Error(
        `running as root, but there is no postgres user to run PostgreSQL as: ${String(err)}`
      );
    }
  };
  return {
    uid: id('-u'),
    gid: id('-g'),
    argv: (cmd, args) => ['runuser', ['-u', 'postgres', '--', cmd, ...args]],
  };
}
