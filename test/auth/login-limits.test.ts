/**
 * Login limits through the real app over real sockets (docs/auth.md "Login limits"): a burst of
 * concurrent guesses is limited after the configured count because each attempt is reserved
 * before its password is hashed; an honest login from another address stays fast during the
 * burst; failures from one address never block the right password from another; behind a
 * trusted proxy the forwarded address is the one limited, and it is what the log names.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inProcessApp, type InProcessApp } from '../helpers/app.js';
import { ManualClock } from '../../src/util/clock.js';
import { Agent } from 'node:http';
import { call, listen, statusCounts, type Answer, type Listening } from './login-http.js';

const PASSWORD = 'the admin passphrase';
const LIMITS = {
  perAccount: { maxFailures: 10, window: '15m' },
  perAddress: { maxFailures: 30, window: '15m' },
};

async function start(auth: Record<string, unknown>): Promise<{ a: InProcessApp; l: Listening }> {
  const a = await inProcessApp({
    config: { countersign: { auth: { builtin: true, loginLimits: LIMITS, ...auth } } },
    clock: new ManualClock('2026-06-01T12:00:00Z'),
    prefix: 'countersign-limits-',
    logLevel: 'info',
  });
  await a.addAccount('admin', 'admin', PASSWORD);
  await a.addAccount('ci', 'admin', PASSWORD);
  return { a, l: await listen(a.app) };
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

describe('login limits over HTTP', () => {
  let a: InProcessApp;
  let l: Listening;
  before(async () => ({ a, l } = await start({})));
  after(async () => {
    await l?.close();
    await a?.close();
  });

  it('300 concurrent wrong passwords: 10 are checked, 290 get 429; an honest login from another address stays fast', async (t) => {
    let answers: Answer[];
    let mine: Answer;
    // The honest client keeps one connection open, as docker and notary do: the test then
    // measures the server, not the kernel's accept queue holding 300 new connections on a busy
    // machine shared with other test runs.
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    const honestLogin = () =>
      call(l.port, { from: '127.0.0.3', user: 'admin', password: PASSWORD, agent: keepAlive });
    const idle: number[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const r = await honestLogin();
        assert.equal(r.status, 200, r.body);
        idle.push(r.ms);
      }
      // The honest login starts once 50 guesses have been answered: the server has taken in
      // the burst and its hashes are under way, the moment the old code queued an honest login
      // behind every guess.
      let answered = 0;
      let startHonest: () => void = () => undefined;
      const fifty = new Promise<void>((resolve) => (startHonest = resolve));
      const burst = Array.from({ length: 300 }, (_, i) =>
        call(l.port, { from: '127.0.0.2', user: 'admin', password: `guess ${i}` }).then((r) => {
          if (++answered === 50) startHonest();
          return r;
        })
      );
      [answers, mine] = await Promise.all([Promise.all(burst), fifty.then(honestLogin)]);
    } finally {
      keepAlive.destroy();
    }
    assert.deepEqual(statusCounts(answers), { 401: 10, 429: 290 });
    for (const r of answers.filter((x) => x.status === 429)) {
      const seconds = Number(r.retryAfter);
      assert.ok(Number.isInteger(seconds) && seconds >= 1 && seconds <= 900, r.retryAfter);
      assert.match(r.body, /TOOMANYREQUESTS/);
    }
    assert.equal(mine.status, 200, mine.body);
    // Before this change the honest login queued behind every guess's scrypt (7.45 s measured
    // for 100 guesses); now it waits for at most one hash slot and a few counter writes. The
    // factor is generous because the machine running the tests may be shared and busy.
    const usual = median(idle);
    // Capped below the 7 s the old code took, whatever the idle time.
    const bound = Math.min(6500, Math.max(2500, 8 * usual));
    t.diagnostic(
      `honest login ${mine.ms.toFixed(0)} ms during the burst, ${usual.toFixed(0)} ms idle`
    );
    assert.ok(
      mine.ms < bound,
      `honest login took ${mine.ms.toFixed(0)} ms (idle ${usual.toFixed(0)} ms, bound ${bound.toFixed(0)} ms)`
    );
    // The pair is limited, the account is not: the right password from the guessing address waits.
    const same = await call(l.port, { from: '127.0.0.2', user: 'admin', password: PASSWORD });
    assert.equal(same.status, 429);
  });

  it('40 failed logins from 127.0.0.2, then the right password from 127.0.0.3 succeeds', async () => {
    const answers = [];
    for (let i = 0; i < 40; i++)
      answers.push(await call(l.port, { from: '127.0.0.2', user: 'ci', password: `wrong ${i}` }));
    // 127.0.0.2 spent 10 of its 30 address attempts on admin above: ci gets 10, then 429.
    assert.deepEqual(statusCounts(answers), { 401: 10, 429: 30 });
    const token = await call(l.port, { from: '127.0.0.3', user: 'ci', password: PASSWORD });
    assert.equal(token.status, 200, token.body);
    const api = await call(l.port, {
      from: '127.0.0.3',
      path: '/api/v1/whoami',
      user: 'ci',
      password: PASSWORD,
    });
    assert.equal(api.status, 200, api.body);
    assert.equal(JSON.parse(api.body).name, 'ci');
    // The store API answers a limited login with 429 and Retry-After too.
    const limited = await call(l.port, {
      from: '127.0.0.2',
      path: '/api/v1/whoami',
      user: 'ci',
      password: PASSWORD,
    });
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.retryAfter) >= 1);
    assert.equal(JSON.parse(limited.body).error.code, 'rate_limited');
  });
});

describe('login limits behind a trusted proxy', () => {
  let a: InProcessApp;
  let l: Listening;
  before(async () => ({ a, l } = await start({ trustProxy: ['127.0.0.2', '10.0.0.0/8'] })));
  after(async () => {
    await l?.close();
    await a?.close();
  });

  const viaProxy = (forwarded: string, password: string) =>
    call(l.port, {
      from: '127.0.0.2',
      user: 'admin',
      password,
      headers: { 'X-Forwarded-For': forwarded, 'User-Agent': 'limits-test/1.0' },
    });

  it('limits the forwarded address, not the proxy, and logs it', async () => {
    for (let i = 0; i < 10; i++)
      assert.equal((await viaProxy('198.51.100.9, 10.1.2.3', `wrong ${i}`)).status, 401);
    assert.equal((await viaProxy('198.51.100.9', PASSWORD)).status, 429);
    // Another client behind the same proxy is not affected.
    assert.equal((await viaProxy('198.51.100.10', PASSWORD)).status, 200);
    assert.equal(await a.app.storage.loginAttempts.count({ address: '198.51.100.9' }), 10);
    assert.equal(await a.app.storage.loginAttempts.count({ address: '127.0.0.2' }), 0);
    // An untrusted peer's X-Forwarded-For is ignored: it cannot pose as the limited client…
    const spoofed = await call(l.port, {
      from: '127.0.0.3',
      user: 'admin',
      password: PASSWORD,
      headers: { 'X-Forwarded-For': '198.51.100.9' },
    });
    assert.equal(spoofed.status, 200);
    // …and a trusted proxy cannot be fooled by a hop that is no address.
    assert.equal((await viaProxy('not-an-address, 198.51.100.9', PASSWORD)).status, 429);
    await call(l.port, {
      from: '127.0.0.2',
      path: '/_notary_server/health',
      headers: { 'X-Forwarded-For': '203.0.113.77', 'User-Agent': 'probe/2' },
    });
    const lines = a.logLines().map((x) => JSON.parse(x) as Record<string, unknown>);
    const token = lines.find((x) => x.msg === 'token request' && x.client === '198.51.100.10');
    assert.equal(token?.ua, 'limits-test/1.0');
    const notary = lines.find((x) => x.msg === 'request' && x.path === '/_notary_server/health');
    assert.deepEqual([notary?.client, notary?.ua], ['203.0.113.77', 'probe/2']);
    assert.ok(lines.every((x) => x.msg !== 'request' || typeof x.client === 'string'));
  });
});
