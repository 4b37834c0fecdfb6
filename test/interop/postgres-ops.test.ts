/**
 * Operations on PostgreSQL with two Countersign instances (the real composition root, each on its
 * own socket) sharing one database: the login counters are shared, so guesses spread over both
 * instances are counted together; `countersign user unlock` (the CLI, as operators run it)
 * clears them for both; /readyz answers 503 while PostgreSQL is stopped and 200 once it is back,
 * while /healthz keeps answering 200.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ManualClock } from '../../src/util/clock.js';
import { inProcessApp, type InProcessApp } from '../helpers/app.js';
import { repoRoot } from '../helpers/paths.js';
import { startPostgres, type StartedPostgres } from '../helpers/postgres.js';
import { run } from '../helpers/proc.js';
import { call, listen, type Listening } from '../auth/login-http.js';

const PASSWORD = 'the operations passphrase';

describe('two instances on one PostgreSQL', () => {
  let cluster: StartedPostgres;
  const instances: { app: InProcessApp; l: Listening }[] = [];
  const clock = new ManualClock('2026-06-01T12:00:00Z');

  before(async () => {
    cluster = await startPostgres();
    const url = await cluster.createDatabase();
    // One after the other: the first creates the schema and the key ring's check record.
    for (let i = 0; i < 2; i++) {
      const app = await inProcessApp({
        config: {
          storage: { backend: 'postgres', db_url: url },
          countersign: {
            auth: {
              builtin: true,
              loginLimits: {
                perAccount: { maxFailures: 4, window: '15m' },
                perAddress: { maxFailures: 30, window: '15m' },
              },
            },
          },
        },
        clock,
        prefix: 'countersign-pg-ops-',
        logLevel: 'silent',
      });
      instances.push({ app, l: await listen(app.app) });
    }
    await instances[0]!.app.addAccount('ops', 'admin', PASSWORD);
  });
  after(async () => {
    for (const { app, l } of instances) {
      await l.close();
      await app.close();
    }
    await cluster?.stop();
  });

  const login = (instance: number, from: string, password: string) =>
    call(instances[instance]!.l.port, { from, user: 'ops', password });

  it('share the login counters, and user unlock clears them for both', async () => {
    for (const instance of [0, 1, 0, 1])
      assert.equal((await login(instance, '127.0.0.2', 'a wrong guess')).status, 401);
    // Four failures in all, two on each: the pair is full on both instances.
    for (const instance of [0, 1]) {
      const r = await login(instance, '127.0.0.2', PASSWORD);
      assert.equal(r.status, 429, `instance ${instance}`);
      assert.ok(Number(r.retryAfter) >= 1);
    }
    assert.equal((await login(1, '127.0.0.3', PASSWORD)).status, 200);

    const unlock = await run(
      process.execPath,
      [
        join(repoRoot, 'bin/countersign.js'),
        'user',
        'unlock',
        'ops',
        '--config',
        join(instances[0]!.app.dir, 'config.json'),
      ],
      { env: { PATH: process.env.PATH }, timeoutMs: 60_000 }
    );
    assert.equal(unlock.code, 0, unlock.stderr);
    assert.equal(unlock.stdout, 'unlocked account ops: 4 recorded login attempts cleared\n');
    for (const instance of [0, 1])
      assert.equal((await login(instance, '127.0.0.2', PASSWORD)).status, 200);
  });

  it('/readyz answers 503 while PostgreSQL is stopped and 200 once it is back', async () => {
    const port = instances[0]!.l.port;
    const get = (path: string) => call(port, { from: '127.0.0.1', path });
    assert.equal((await get('/readyz')).status, 200);
    await cluster.pause();
    try {
      const down = await get('/readyz');
      assert.equal(down.status, 503, down.body);
      const body = JSON.parse(down.body) as { status: string; reason: string; checks: unknown };
      assert.equal(body.status, 'not ready');
      assert.match(body.reason, /^the database does not answer: /);
      assert.deepEqual(body.checks, { database: 'failed', schema: 'skipped', keys: 'skipped' });
      assert.equal((await get('/healthz')).status, 200);
      assert.equal((await get('/_notary_server/health')).status, 503);
    } finally {
      await cluster.resume();
    }
    // The pool reconnects on its own: ready again within a few probes.
    const deadline = Date.now() + 30_000;
    let last = await get('/readyz');
    while (last.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      last = await get('/readyz');
    }
    assert.equal(last.status, 200, last.body);
    assert.equal((await get('/_notary_server/health')).status, 200);
  });
});
