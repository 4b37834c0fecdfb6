/**
 * The real notary CLI 0.7 against Countersign with auth on, as operators run both: accounts made
 * with `countersign user add`, a store configured (zones), NOTARY_AUTH for credentials.
 *
 *   - built-in mode: a publisher initialises, publishes and lists in its own namespace (list asks
 *     anonymously first, is refused, then asks again with credentials — seen in the server log);
 *     it is refused, with nothing stored, in another publisher's namespace and in the public zone;
 *     anonymous `notary list` of a public repository works with anonymous pull on and fails with
 *     it off;
 *   - external mode: notary-server's `auth.type: token` with a token service in this test.
 *
 * Three Countersign processes share one data directory (SQLite in WAL mode): one without auth
 * stands in for the store's publish step and writes the public repository, one is the store with
 * anonymous pull, one the store without.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword, verifyPasswordOrDummy } from '../../src/auth/passwords.js';
import { TokenIssuer, tokenResponseBody } from '../../src/auth/token-issuer.js';
import { parseGetTokenRequest } from '../../src/auth/token-request.js';
import { openSqlite } from '../../src/storage/sqlite.js';
import { systemClock } from '../../src/util/clock.js';
import { makeCert, makeEcKey, toPem } from '../auth/pki.js';
import { Cleanup } from '../helpers/cleanup.js';
import { startCountersign, type StartedCountersign } from '../helpers/countersign.js';
import { NotaryClient } from '../helpers/notary-cli.js';
import { repoRoot } from '../helpers/paths.js';
import { run } from '../helpers/proc.js';

const ZONES = [{ staging: 'staging.store.test/', public: 'store.test/' }];
const ACME = { username: 'acme', password: 'acme publisher password' };
const OTHER = { username: 'other', password: 'other publisher password' };

async function userAdd(dataDir: string, args: string[], password: string): Promise<void> {
  const r = await run(
    process.execPath,
    [
      join(repoRoot, 'bin/countersign.js'),
      'user',
      'add',
      ...args,
      '--password-stdin',
      '--data-dir',
      dataDir,
    ],
    { input: `${password}\n`, env: { PATH: process.env.PATH } }
  );
  assert.equal(r.code, 0, r.stderr);
}

interface TokenLogLine {
  status: number;
  account?: string;
  grant?: string;
  scopes?: string[];
}

/** The token requests a server logged after `from` characters of its output. */
function tokenRequests(server: StartedCountersign, from: number): TokenLogLine[] {
  return server.service
    .output()
    .slice(from)
    .split('\n')
    .filter((l) => l.includes('"msg":"token request"'))
    .map((l) => JSON.parse(l) as TokenLogLine);
}

describe('notary CLI with built-in token auth', () => {
  const cleanup = new Cleanup();
  let dataDir: string;
  let plain: StartedCountersign;
  let store: StartedCountersign;
  let closed: StartedCountersign;
  let acme: NotaryClient;
  let work: string;

  before(async () => {
    const base = cleanup.tempDir('auth-notary-');
    dataDir = join(base, 'data');
    work = join(base, 'work');
    await userAdd(
      dataDir,
      ['acme', '--role', 'publisher', '--namespace', 'staging.store.test/acme/'],
      ACME.password
    );
    await userAdd(
      dataDir,
      ['other', '--role', 'publisher', '--namespace', 'staging.store.test/other/'],
      OTHER.password
    );
    plain = cleanup.add(await startCountersign({ tls: false, dataDir }));
    const zones = { countersign: { store: { zones: ZONES } } };
    const noAnon = { countersign: { store: { zones: ZONES, anonymousPull: false } } };
    [store, closed] = await Promise.all([
      startCountersign({ tls: false, dataDir, config: zones, extraArgs: ['--log-level', 'info'] }),
      startCountersign({ tls: false, dataDir, config: noAnon }),
    ]);
    cleanup.add(store);
    cleanup.add(closed);
    acme = cleanup.add(await NotaryClient.create({ server: store.sut, auth: ACME }));
    mkdirSync(work, { recursive: true });
  });
  after(() => cleanup.run());

  const payload = (name: string) => {
    const file = join(work, name);
    writeFileSync(file, randomBytes(321));
    return file;
  };

  async function storedNothing(gun: string): Promise<void> {
    const s = openSqlite(join(dataDir, 'countersign.db'));
    try {
      assert.equal(await s.meta.getLatest(gun, 'root'), null, `${gun} has metadata`);
      assert.deepEqual(await s.keys.listFor(gun, 'timestamp'), [], `${gun} has a timestamp key`);
    } finally {
      await s.close();
    }
  }

  it('a publisher initialises, publishes and lists in its own namespace', async () => {
    const gun = 'staging.store.test/acme/web';
    await acme.init(gun);
    await acme.add(gun, 'v1', payload('v1.bin'));
    await acme.publish(gun);
    const from = store.service.output().length;
    const list = await acme.list(gun);
    assert.deepEqual(
      list.map((t) => [t.name, t.size, t.role]),
      [['v1', 321, 'targets']]
    );
    // notary list asks anonymously first, gets an empty grant, is refused, then asks again
    // with the credentials of NOTARY_AUTH.
    const scope = `repository:${gun}:pull`;
    assert.deepEqual(
      tokenRequests(store, from).map((l) => [l.grant, l.account, l.scopes, l.status]),
      [
        ['anonymous', undefined, [scope], 200],
        ['password', 'acme', [scope], 200],
      ]
    );
  });

  it('the same publisher is refused in another publisher’s namespace, with nothing stored', async () => {
    const gun = 'staging.store.test/other/web';
    const r = await acme.init(gun, { publish: true, check: false });
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /you are not authorized to perform this operation: server returned 401/);
    await storedNothing(gun);
  });

  it('the same publisher is refused in the public zone, with nothing stored', async () => {
    const gun = 'store.test/acme/direct';
    const r = await acme.init(gun, { publish: true, check: false });
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /you are not authorized to perform this operation: server returned 401/);
    await storedNothing(gun);
  });

  it('a wrong password is refused with the token service’s message', async () => {
    const wrong = cleanup.add(await acme.fresh({ auth: { username: 'acme', password: 'guess' } }));
    const r = await wrong.init('staging.store.test/acme/wrong', { publish: true, check: false });
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /unauthorized: invalid credentials/);
    await storedNothing('staging.store.test/acme/wrong');
  });

  describe('anonymous reads of a public repository', () => {
    const gun = 'store.test/acme/web';

    before(async () => {
      // The store's publish step writes public GUNs; here a server without auth plays it.
      const publisher = cleanup.add(await NotaryClient.create({ server: plain.sut }));
      await publisher.init(gun);
      await publisher.add(gun, '1.0', payload('public.bin'));
      await publisher.publish(gun);
    });

    it('anonymous notary list works when anonymous pull is on', async () => {
      const anonymous = cleanup.add(await NotaryClient.create({ server: store.sut }));
      assert.deepEqual(
        (await anonymous.list(gun)).map((t) => [t.name, t.size]),
        [['1.0', 321]]
      );
      // And without any token at all, as a CI job would fetch it.
      const res = await fetch(`${store.sut.url}/v2/${gun}/_trust/tuf/timestamp.json`);
      assert.equal(res.status, 200);
    });

    it('anonymous notary list is refused when anonymous pull is off; accounts still read', async () => {
      const anonymous = cleanup.add(await NotaryClient.create({ server: closed.sut }));
      const r = await anonymous.run(['list', gun]);
      assert.notEqual(r.code, 0);
      assert.match(r.stdout, /you are not authorized to perform this operation|401/);
      const res = await fetch(`${closed.sut.url}/v2/${gun}/_trust/tuf/timestamp.json`);
      assert.equal(res.status, 401);
      const withAccount = cleanup.add(
        await NotaryClient.create({ server: closed.sut, auth: OTHER })
      );
      assert.deepEqual(
        (await withAccount.list(gun)).map((t) => t.name),
        ['1.0']
      );
    });
  });
});

describe('notary CLI with an external token service (notary-server auth.type token)', () => {
  const cleanup = new Cleanup();
  let server: StartedCountersign;
  let realm: Server;
  let realmUrl: string;
  const SERVICE = 'countersign-external';
  const ISSUER = 'external-issuer';
  let passwordHash: string;

  before(async () => {
    const dir = cleanup.tempDir('auth-external-');
    const key = await makeEcKey();
    const cert = await makeCert({ subject: 'external token signer', key, ca: true });
    const bundle = join(dir, 'bundle.pem');
    writeFileSync(bundle, toPem([cert]));
    passwordHash = await hashPassword(ACME.password);
    const issuer = new TokenIssuer({
      issuer: ISSUER,
      privateKey: key.privateKey,
      publicKey: key.publicKey,
      clock: systemClock,
    });
    // A minimal registry token service: acme may do anything it asks for, anonymous nothing.
    realm = createServer((req, res) => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://x');
        const request = parseGetTokenRequest(url.searchParams, req.headers.authorization);
        let subject = '';
        if (request.grant.kind === 'password') {
          const { username, password } = request.grant.credentials;
          const ok = await verifyPasswordOrDummy(
            password,
            username === ACME.username ? passwordHash : undefined
          );
          if (!ok) {
            res.writeHead(401, { 'content-type': 'application/json' });
            res.end(
              JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid credentials' }] })
            );
            return;
          }
          subject = username;
        }
        const issued = await issuer.issue({
          subject,
          audience: request.service ?? '',
          access: subject === '' ? [] : request.scopes,
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(tokenResponseBody(issued)));
      })();
    });
    await new Promise<void>((resolve) => realm.listen(0, '127.0.0.1', resolve));
    cleanup.defer(() => new Promise<void>((resolve) => realm.close(() => resolve())));
    realmUrl = `http://127.0.0.1:${(realm.address() as AddressInfo).port}/token`;
    server = cleanup.add(
      await startCountersign({
        tls: false,
        config: {
          auth: {
            type: 'token',
            options: { realm: realmUrl, service: SERVICE, issuer: ISSUER, rootcertbundle: bundle },
          },
          countersign: { store: { zones: ZONES } },
        },
      })
    );
  });
  after(() => cleanup.run());

  it('challenges with the external realm; init, publish and list work with its tokens', async () => {
    const res = await fetch(`${server.sut.url}/v2/`);
    assert.equal(res.status, 401);
    assert.equal(
      res.headers.get('www-authenticate'),
      `Bearer realm="${realmUrl}",service="${SERVICE}",scope="registry:catalog:*"`
    );
    const client = cleanup.add(await NotaryClient.create({ server: server.sut, auth: ACME }));
    const gun = 'example.com/external/app';
    const file = join(cleanup.tempDir('auth-external-work-'), 'x.bin');
    writeFileSync(file, randomBytes(99));
    await client.init(gun);
    await client.add(gun, 'x', file);
    await client.publish(gun);
    assert.deepEqual(
      (await client.list(gun)).map((t) => [t.name, t.size]),
      [['x', 99]]
    );
  });

  it('even a token service granting * cannot make Countersign write a public GUN', async () => {
    const client = cleanup.add(await NotaryClient.create({ server: server.sut, auth: ACME }));
    const r = await client.init('store.test/external/app', { publish: true, check: false });
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /you are not authorized to perform this operation: server returned 401/);
  });
});
