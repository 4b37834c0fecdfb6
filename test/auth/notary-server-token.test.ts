/**
 * Our token issuer against the real reference: Debian's notary-server 0.7 (built with
 * docker/distribution 2.8.2 and libtrust) configured with `auth.type: token` and our issuer's
 * certificates as `rootcertbundle`, driven by the real notary CLI through a token realm in this
 * test that signs with src/auth/token-issuer.ts. If notary-server accepts our tokens, then our
 * JWS bytes, ES256 signature encoding, libtrust `kid`, `x5c` chain and claims are what
 * distribution's verifier expects. The same server's 401 responses check our challenge and
 * `detail` formatting byte for byte.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { X509Certificate } from 'node:crypto';
import { ManualClock, systemClock, type Clock } from '../../src/util/clock.js';
import { hashPassword, verifyPasswordOrDummy } from '../../src/auth/passwords.js';
import { formatChallenge, unauthorizedDetail, type RequiredAccess } from '../../src/auth/scope.js';
import { TokenIssuer, tokenResponseBody } from '../../src/auth/token-issuer.js';
import { parseGetTokenRequest } from '../../src/auth/token-request.js';
import { isBearerChallengeError } from '../../src/auth/token-error.js';
import { signCompactJws } from '../../src/auth/jws.js';
import { libtrustKeyId } from '../../src/auth/libtrust.js';
import { makeCert, makeEcKey, toPem, type TestKey } from './pki.js';

const SERVICE = 'countersign-test';
const ISSUER = 'countersign-test-issuer';
const USER = 'alice';
const PASSWORD = 'correct horse battery staple';
const PASSPHRASE = 'test passphrase 1234';

interface RealmRequest {
  rawQuery: string;
  params: [string, string][];
  basicUser: string | null;
  status: number;
}

type IssuerMode = 'kid' | 'x5c' | 'untrusted';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end();
  });
}

describe('notary-server 0.7 with auth.type token accepts tokens from our issuer', () => {
  let dir: string;
  let server: ChildProcess | undefined;
  let serverLog = '';
  let realm: Server;
  let realmUrl: string;
  let notaryUrl: string;
  let mode: IssuerMode = 'kid';
  const realmLog: RealmRequest[] = [];
  const issuers = {} as Record<IssuerMode, TokenIssuer>;
  let kidKey: TestKey;
  let leafCert: X509Certificate;
  let leafKey: TestKey;
  let passwordHash: string;

  const issuerAt = (clock: Clock): TokenIssuer =>
    new TokenIssuer({
      issuer: ISSUER,
      privateKey: kidKey.privateKey,
      publicKey: kidKey.publicKey,
      clock,
    });

  /** GUN's root.json from notary-server, sent with TOKEN. */
  const rootWithToken = (gun: string, token: string): Promise<Response> =>
    fetch(`${notaryUrl}/v2/${gun}/_trust/tuf/root.json`, {
      headers: { authorization: `Bearer ${token}` },
    });
  /** GUN's root.json, with a token ISSUER signs for USER and SERVICE granting ACCESS. */
  const rootWithGrant = async (
    issuer: TokenIssuer,
    gun: string,
    access: Parameters<TokenIssuer['issue']>[0]['access']
  ): Promise<Response> => {
    const { token } = await issuer.issue({ subject: USER, audience: SERVICE, access });
    return rootWithToken(gun, token);
  };
  /** The challenge notary-server answers a refused token for pulling GUN with. */
  const invalidTokenFor = (gun: string): string =>
    formatChallenge({
      realm: realmUrl,
      service: SERVICE,
      required: pull(gun),
      error: 'invalid_token',
    });

  async function handleRealm(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', realmUrl);
    const entry: RealmRequest = {
      rawQuery: url.search.slice(1),
      params: [...url.searchParams.entries()],
      basicUser: null,
      status: 200,
    };
    realmLog.push(entry);
    const reply = (status: number, body: unknown): void => {
      entry.status = status;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      const request = parseGetTokenRequest(url.searchParams, req.headers.authorization);
      let subject = '';
      if (request.grant.kind === 'password') {
        entry.basicUser = request.grant.credentials.username;
        const known = request.grant.credentials.username === USER ? passwordHash : undefined;
        if (!(await verifyPasswordOrDummy(request.grant.credentials.password, known))) {
          reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'invalid credentials' }] });
          return;
        }
        subject = USER;
      }
      // The test account may do anything it asks for; anonymous clients get nothing.
      const issued = await issuers[mode].issue({
        subject,
        audience: request.service ?? '',
        access: subject === '' ? [] : request.scopes,
      });
      reply(200, tokenResponseBody(issued));
    } catch (err) {
      reply(isBearerChallengeError(err) ? 401 : 400, {
        errors: [{ code: 'DENIED', message: String(err) }],
      });
    }
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'countersign-notary-token-'));
    passwordHash = await hashPassword(PASSWORD);

    // kid form: a self-signed certificate of the signing key is in the bundle.
    kidKey = await makeEcKey();
    const kidCert = await makeCert({ subject: 'countersign token signer', key: kidKey, ca: true });
    // x5c form: only the CA is in the bundle; the signing key's certificate travels in the header.
    const caKey = await makeEcKey();
    const caCert = await makeCert({ subject: 'countersign token CA', key: caKey, ca: true });
    leafKey = await makeEcKey();
    leafCert = await makeCert({
      subject: 'countersign token leaf',
      key: leafKey,
      issuer: { cert: caCert, key: caKey },
    });
    // untrusted: a key whose certificate is nowhere in the bundle.
    const strayKey = await makeEcKey();

    issuers.kid = new TokenIssuer({
      issuer: ISSUER,
      privateKey: kidKey.privateKey,
      publicKey: kidKey.publicKey,
      clock: systemClock,
    });
    issuers.x5c = new TokenIssuer({
      issuer: ISSUER,
      privateKey: leafKey.privateKey,
      publicKey: leafKey.publicKey,
      certificateChain: [leafCert],
      clock: systemClock,
    });
    issuers.untrusted = new TokenIssuer({
      issuer: ISSUER,
      privateKey: strayKey.privateKey,
      publicKey: strayKey.publicKey,
      clock: systemClock,
    });
    // The x5c case must not be able to pass through kid: the leaf key is not in the bundle.
    assert.notEqual(issuers.x5c.keyId, libtrustKeyId(caCert.publicKey));

    const bundle = join(dir, 'token-roots.pem');
    writeFileSync(bundle, toPem([kidCert, caCert]));

    realm = createServer((req, res) => void handleRealm(req, res));
    await new Promise<void>((resolve) => realm.listen(0, '127.0.0.1', resolve));
    realmUrl = `http://127.0.0.1:${(realm.address() as AddressInfo).port}/token`;

    const port = await freePort();
    notaryUrl = `http://127.0.0.1:${port}`;
    const config = join(dir, 'server.json');
    writeFileSync(
      config,
      JSON.stringify({
        server: { http_addr: `127.0.0.1:${port}` },
        trust_service: { type: 'local', key_algorithm: 'ecdsa' },
        storage: { backend: 'memory' },
        logging: { level: 'info' },
        auth: {
          type: 'token',
          options: { realm: realmUrl, service: SERVICE, issuer: ISSUER, rootcertbundle: bundle },
        },
      })
    );
    server = spawn('notary-server', ['-config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (d: Buffer) => (serverLog += d.toString()));
    server.stderr!.on('data', (d: Buffer) => (serverLog += d.toString()));
    const exited = new Promise<never>((_, reject) =>
      server!.once('exit', (code) =>
        reject(new Error(`notary-server exited (${code}):\n${serverLog}`))
      )
    );
    const ready = (async () => {
      for (let i = 0; i < 100; i++) {
        try {
          const r = await fetch(`${notaryUrl}/_notary_server/health`);
          if (r.status === 200) return;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`notary-server did not become healthy:\n${serverLog}`);
    })();
    await Promise.race([ready, exited]);
  });

  after(() => {
    if (server?.pid !== undefined && server.exitCode === null) server.kill('SIGTERM');
    realm?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const notary = (trustDir: string, auth: string | null, ...args: string[]) =>
    run('notary', ['-s', notaryUrl, '-d', trustDir, ...args], {
      PATH: process.env.PATH,
      HOME: dir,
      NOTARY_ROOT_PASSPHRASE: PASSPHRASE,
      NOTARY_TARGETS_PASSPHRASE: PASSPHRASE,
      NOTARY_SNAPSHOT_PASSPHRASE: PASSPHRASE,
      ...(auth === null ? {} : { NOTARY_AUTH: Buffer.from(auth).toString('base64') }),
    });

  const pull = (gun: string): RequiredAccess[] => [
    { type: 'repository', name: gun, action: 'pull' },
  ];

  it('answers an anonymous GET /v2/ with 401 and exactly our Bearer challenge and detail', async () => {
    const res = await fetch(`${notaryUrl}/v2/`);
    assert.equal(res.status, 401);
    const required: RequiredAccess[] = [{ type: 'registry', name: 'catalog', action: '*' }];
    const challenge = res.headers.get('www-authenticate');
    assert.equal(
      challenge,
      `Bearer realm="${realmUrl}",service="${SERVICE}",scope="registry:catalog:*"`
    );
    assert.equal(challenge, formatChallenge({ realm: realmUrl, service: SERVICE, required }));
    assert.deepEqual(await res.json(), {
      errors: [
        {
          code: 'UNAUTHORIZED',
          message: 'authentication required',
          detail: unauthorizedDetail(required),
        },
      ],
    });
  });

  for (const m of ['kid', 'x5c'] as const) {
    it(`runs notary init, add, publish and list with ${m} tokens`, async () => {
      mode = m;
      const gun = `example.com/countersign/${m}`;
      const trustDir = join(dir, `trust-${m}`);
      const target = join(dir, `payload-${m}.txt`);
      writeFileSync(target, `payload for ${m}\n`);
      const auth = `${USER}:${PASSWORD}`;
      const first = realmLog.length;

      const init = await notary(trustDir, auth, 'init', gun);
      assert.equal(init.code, 0, `init failed: ${init.stderr}\n${serverLog}`);
      const add = await notary(trustDir, auth, 'add', gun, 'v1', target);
      assert.equal(add.code, 0, `add failed: ${add.stderr}`);
      const publish = await notary(trustDir, auth, 'publish', gun);
      assert.equal(publish.code, 0, `publish failed: ${publish.stderr}\n${serverLog}`);
      const list = await notary(trustDir, auth, 'list', gun);
      assert.equal(list.code, 0, `list failed: ${list.stderr}`);
      assert.match(list.stdout, /^v1\s+[0-9a-f]{64}\s+\d+\s+targets\s*$/m);

      // Exactly what the CLI sent the realm (Go's url.Values.Encode: keys sorted, ':' '/' ','
      // escaped). init and publish ask with credentials for push,pull; the read-only list asks
      // anonymously for pull first, gets an empty grant, is refused by notary-server
      // (insufficient_scope) and only then asks again with credentials.
      const q = (scope: string, account?: string) =>
        `${account === undefined ? '' : `account=${account}&`}scope=${encodeURIComponent(scope)}&service=${SERVICE}`;
      const write = `repository:${gun}:push,pull`;
      const read = `repository:${gun}:pull`;
      assert.deepEqual(
        realmLog
          .slice(first)
          .map((r) => ({ query: r.rawQuery, user: r.basicUser, status: r.status })),
        [
          { query: q(write, USER), user: USER, status: 200 }, // init (GET timestamp.key)
          { query: q(write, USER), user: USER, status: 200 }, // publish
          { query: q(read), user: null, status: 200 }, // list, anonymous
          { query: q(read, USER), user: USER, status: 200 }, // list, retried with credentials
        ]
      );
      assert.equal(
        realmLog[first]!.rawQuery,
        `account=alice&scope=repository%3Aexample.com%2Fcountersign%2F${m}%3Apush%2Cpull&service=countersign-test`
      );
    });
  }

  it('fails a publish when the password is wrong (realm answers 401)', async () => {
    mode = 'kid';
    const gun = 'example.com/countersign/wrong-password';
    const trustDir = join(dir, 'trust-wrong');
    const first = realmLog.length;
    const init = await notary(trustDir, `${USER}:not the password`, 'init', '-p', gun);
    assert.notEqual(init.code, 0);
    // distribution's client turns the realm's errcode body into the CLI's message.
    assert.match(init.stdout, /fatal: unauthorized: invalid credentials/);
    const sent = realmLog.slice(first);
    assert.ok(
      sent.length > 0 && sent.every((r) => r.status === 401 && r.basicUser === USER),
      JSON.stringify(sent)
    );
    // Nothing was created: with a good token the repository still does not exist.
    const res = await rootWithGrant(issuers.kid, gun, [
      { type: 'repository', name: gun, actions: ['pull'] },
    ]);
    assert.equal(res.status, 404);
  });

  it('fails a publish when the tokens are signed by a key outside the bundle', async () => {
    mode = 'untrusted';
    const gun = 'example.com/countersign/untrusted';
    const first = realmLog.length;
    const init = await notary(
      join(dir, 'trust-untrusted'),
      `${USER}:${PASSWORD}`,
      'init',
      '-p',
      gun
    );
    mode = 'kid';
    assert.notEqual(init.code, 0);
    assert.match(
      init.stdout,
      /you are not authorized to perform this operation: server returned 401/
    );
    // The realm did hand out tokens; notary-server refused them.
    const sent = realmLog.slice(first);
    assert.ok(sent.length > 0 && sent.every((r) => r.status === 200), JSON.stringify(sent));
    const res = await rootWithGrant(issuers.untrusted, gun, [
      { type: 'repository', name: gun, actions: ['*'] },
    ]);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), invalidTokenFor(gun));
  });

  describe('direct requests with hand-made tokens', () => {
    const gun = 'example.com/countersign/direct';
    const get = (token: string) => rootWithToken(gun, token);
    const grant = [{ type: 'repository', name: gun, actions: ['pull'] }];
    const invalid = () => invalidTokenFor(gun);

    it('accepts a token expired by less than the 60 s leeway', async () => {
      const clock = new ManualClock(Date.now() - 330_000); // exp = now - 30 s
      const res = await rootWithGrant(issuerAt(clock), gun, grant);
      assert.equal(res.status, 404); // authorized; the repository does not exist
    });

    it('refuses a token expired beyond the leeway with error="invalid_token"', async () => {
      const clock = new ManualClock(Date.now() - 400_000); // exp = now - 100 s
      const res = await rootWithGrant(issuerAt(clock), gun, grant);
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), invalid());
    });

    it('refuses a tampered signature with error="invalid_token"', async () => {
      const { token } = await issuers.kid.issue({
        subject: USER,
        audience: SERVICE,
        access: grant,
      });
      const [h, p, s] = token.split('.') as [string, string, string];
      const sig = Buffer.from(s, 'base64url');
      sig[5] = sig[5]! ^ 1;
      const res = await get(`${h}.${p}.${sig.toString('base64url')}`);
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), invalid());
    });

    it('answers a token for another repository with error="insufficient_scope"', async () => {
      const other = [{ type: 'repository', name: `${gun}-other`, actions: ['*'] }];
      const res = await rootWithGrant(issuers.kid, gun, other);
      assert.equal(res.status, 401);
      assert.equal(
        res.headers.get('www-authenticate'),
        formatChallenge({
          realm: realmUrl,
          service: SERVICE,
          required: pull(gun),
          error: 'insufficient_scope',
        })
      );
      assert.deepEqual(await res.json(), {
        errors: [
          {
            code: 'UNAUTHORIZED',
            message: 'authentication required',
            detail: unauthorizedDetail(pull(gun)),
          },
        ],
      });
    });

    it('accepts "*" for pull', async () => {
      const star = [{ type: 'repository', name: gun, actions: ['*'] }];
      const res = await rootWithGrant(issuers.kid, gun, star);
      assert.equal(res.status, 404);
    });

    it('refuses an array aud (distribution 2.8 reads aud as a string), which is why we issue a string', async () => {
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        iss: ISSUER,
        sub: USER,
        aud: [SERVICE],
        exp: now + 300,
        nbf: now,
        iat: now,
        jti: 'x',
        access: grant,
      };
      const header = { typ: 'JWT', alg: 'ES256', kid: issuers.kid.keyId };
      const asArray = await get(await signCompactJws(header, claims, kidKey.privateKey));
      assert.equal(asArray.status, 401);
      const asString = await get(
        await signCompactJws(header, { ...claims, aud: SERVICE }, kidKey.privateKey)
      );
      assert.equal(asString.status, 404);
    });

    it('refuses a token for another service or issuer', async () => {
      const wrongAud = await issuers.kid.issue({
        subject: USER,
        audience: 'other-service',
        access: grant,
      });
      assert.equal((await get(wrongAud.token)).status, 401);
      const otherIssuer = new TokenIssuer({
        issuer: 'someone-else',
        privateKey: kidKey.privateKey,
        publicKey: kidKey.publicKey,
        clock: systemClock,
      });
      const res = await rootWithGrant(otherIssuer, gun, grant);
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), invalid());
    });

    it('accepts the x5c form only with the chain in the header', async () => {
      const { token } = await issuers.x5c.issue({
        subject: USER,
        audience: SERVICE,
        access: grant,
      });
      assert.equal((await get(token)).status, 404);
      const [h, p] = token.split('.') as [string, string];
      const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
      assert.deepEqual(header.x5c, [leafCert.raw.toString('base64')]);
      // Same key and claims without x5c: kid alone names a key the bundle does not hold.
      const { x5c: _dropped, ...kidOnly } = header;
      void _dropped;
      const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
      assert.equal(
        (await get(await signCompactJws(kidOnly, payload, leafKey.privateKey))).status,
        401
      );
    });
  });
});
