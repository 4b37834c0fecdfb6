// A throwaway PostgreSQL cluster for one benchmark run (Debian's binaries): initdb into a
// temporary directory as the `postgres` user (the server refuses to run as root), trust
// authentication, listening only on 127.0.0.1 at a free port, its socket inside the directory.
// Unlike the test suite's cluster it keeps PostgreSQL's default durability (fsync and
// synchronous_commit on): that is what an operator runs, and both servers pay it alike.
// The postmaster is started pinned to the server CPU; its children inherit the pinning.
import { execFileSync } from 'node:child_process';
import { chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  freePort,
  makeTempDir,
  pinned,
  removeTempDir,
  runChecked,
  Service,
  sleep,
} from './procs.mjs';

export const DEFAULT_PG_BIN = '/usr/lib/postgresql/15/bin';
/** The programs this module runs, all from the same directory. */
export const PG_PROGRAMS = ['initdb', 'postgres', 'psql'];

/**
 * How to run a PostgreSQL program: as `postgres` when we are root (`setpriv` execs, so the pid
 * the benchmark holds is the program's own), else as we are.
 */
export function postgresUser() {
  if (process.getuid?.() !== 0) return { wrap: (cmd, args) => [cmd, args] };
  const id = (flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return {
    uid: id('-u'),
    gid: id('-g'),
    wrap: (cmd, args) => [
      'setpriv',
      ['--reuid=postgres', '--regid=postgres', '--init-groups', cmd, ...args],
    ],
  };
}

/**
 * Starts the cluster; resolves with { port, version, url(db), createDatabase(name),
 * runSqlFile(db, file), query(db, sql), settings(names), sessions(), service, stop() }.
 */
export async function startPostgres({ cpus, binDir = DEFAULT_PG_BIN, name = 'postgresql' }) {
  const dir = makeTempDir('bench-postgres-');
  const user = postgresUser();
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const bin = (p) => join(binDir, p);
  try {
    // --no-sync skips only initdb's own final flush of the files it created: the running
    // server's durability (WAL fsync at every commit) is untouched.
    await runChecked(
      ...user.wrap(bin('initdb'), [
        '-D',
        data,
        '-U',
        'postgres',
        '--auth=trust',
        '-E',
        'UTF8',
        '--locale=C.UTF-8',
        '--no-sync',
      ]),
      { cwd: dir, timeoutMs: 120_000 }
    );
  } catch (e) {
    removeTempDir(dir);
    throw e;
  }
  const version = (await runChecked(bin('postgres'), ['--version'])).stdout.trim();

  // postgres cannot listen on port 0 and tell us the port: probe one, retry if taken.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const logFile = join(dir, `server-${port}.log`);
    writeFileSync(logFile, '');
    if (user.uid !== undefined) chownSync(logFile, user.uid, user.gid);
    const [cmd, argv] = pinned(
      cpus,
      ...user.wrap(bin('postgres'), [
        '-D',
        data,
        '-c',
        `port=${port}`,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `unix_socket_directories=${dir}`,
      ])
    );
    // SIGQUIT is PostgreSQL's immediate shutdown: it ends every backend and then itself. The
    // data is thrown away, so nothing needs a checkpoint.
    const service = Service.start(name, cmd, argv, { cwd: dir, logFile, stopSignal: 'SIGQUIT' });
    try {
      await service.waitForOutput(/database system is ready to accept connections/, 60_000);
    } catch (e) {
      await service.stop();
      if (attempt < 3 && /could not bind|Address already in use/i.test(service.output())) continue;
      removeTempDir(dir);
      throw e;
    }
    const url = (db) => `postgres://postgres@127.0.0.1:${port}/${db}`;
    const psql = (db, args) =>
      runChecked(bin('psql'), [
        '-X',
        '-q',
        '-v',
        'ON_ERROR_STOP=1',
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-U',
        'postgres',
        '-d',
        db,
        ...args,
      ]);
    return {
      name,
      port,
      version,
      service,
      url,
      async createDatabase(db) {
        if (!/^[a-z_][a-z0-9_]*$/.test(db)) throw new Error(`unsafe database name ${db}`);
        await psql('postgres', ['-c', `CREATE DATABASE ${db}`]);
        return db;
      },
      async runSqlFile(db, file) {
        await psql(db, ['-1', '-f', file]);
      },
      /** Rows of one query, each an array of its columns as text. */
      async query(db, sql) {
        const r = await psql(db, ['-A', '-t', '-F', '\t', '-c', sql]);
        return r.stdout
          .split('\n')
          .filter(Boolean)
          .map((line) => line.split('\t'));
      },
      /** { name → setting } of the running server, as SHOW would print them. */
      async settings(names) {
        const list = names.map((n) => `'${n.replace(/[^a-z_]/g, '')}'`).join(',');
        const rows = await this.query(
          'postgres',
          `SELECT name, setting, coalesce(unit, '') FROM pg_settings WHERE name IN (${list}) ORDER BY name`
        );
        return Object.fromEntries(rows.map(([k, v, unit]) => [k, unit ? `${v} (${unit})` : v]));
      },
      /** { database → sessions (connections) opened so far }, from the statistics. */
      async sessions() {
        // Backends report their statistics within a second of being idle; wait for them.
        await sleep(1500);
        const rows = await this.query(
          'postgres',
          'SELECT datname, sessions FROM pg_stat_database WHERE datname IS NOT NULL'
        );
        return Object.fromEntries(rows.map(([k, v]) => [k, Number(v)]));
      },
      async stop() {
        await service.stop();
        removeTempDir(dir);
      },
    };
  }
}
