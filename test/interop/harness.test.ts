/**
 * Proves the interop harness against the REFERENCE notary-server: the real notary CLI and docker
 * CLI, driven through the helpers, publish and read trust data and get the outcomes notary 0.7
 * and docker 28 are known for. Pointed at our server later, the same helpers must give the same.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import { DockerClient } from '../helpers/docker-cli.js';
import { DockerEngineStandIn } from '../helpers/docker-engine.js';
import { DEFAULT_PASSPHRASE, isKeyForGun, NotaryClient } from '../helpers/notary-cli.js';
import { startReferenceNotaryServer } from '../helpers/notary-server.js';
import type { StartedServer } from '../helpers/server-under-test.js';
import { CommandError, httpStatus } from '../helpers/proc.js';
import { parseTable } from '../helpers/table.js';
import { makeCa, makeDelegationCert, makeRootCert } from '../helpers/tls.js';

/**
 * The server these tests target. Pointing the suite at another notary-compatible server means
 * replacing this with a function that starts it (TLS from test/helpers/tls.ts, or plain HTTP
 * when `tls` is false) and returns its descriptor.
 */
const startTarget = (opts: { tls?: boolean } = {}): Promise<StartedServer> =>
  startReferenceNotaryServer(opts);

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

function payload(
  dir: string,
  name: string,
  bytes = 1234
): { file: string; data: Buffer; hex: string } {
  const data = randomBytes(bytes);
  const file = join(dir, name);
  writeFileSync(file, data);
  return { file, data, hex: sha256(data) };
}

interface CachedRoot {
  signed: { version: number; roles: Record<string, { keyids: string[] }> };
}

function cachedRoot(client: NotaryClient, gun: string): CachedRoot {
  const raw = readFileSync(join(client.trustDir, 'tuf', gun, 'metadata', 'root.json'), 'utf8');
  return JSON.parse(raw) as CachedRoot;
}

const cachedRootVersion = (client: NotaryClient, gun: string): number =>
  cachedRoot(client, gun).signed.version;

describe('harness helpers', () => {
  it('parseTable reads tabwriter tables with empty cells and continuation lines', () => {
    const rows = parseTable(
      [
        '',
        'ROLE                PATHS             KEY IDS    THRESHOLD',
        '----                -----             -------    ---------',
        'targets/releases    "" <all paths>    abc        1',
        '                    bar               def        ',
        '',
        'trailing text',
      ].join('\n')
    );
    assert.deepEqual(rows, [
      { ROLE: 'targets/releases', PATHS: '"" <all paths>', 'KEY IDS': 'abc', THRESHOLD: '1' },
      { ROLE: '', PATHS: 'bar', 'KEY IDS': 'def', THRESHOLD: '' },
    ]);
  });
});

describe('notary CLI against the reference notary-server (TLS)', () => {
  const cleanup = new Cleanup();
  let server: StartedServer;
  let alice: NotaryClient;
  let work: string;

  before(async () => {
    server = cleanup.add(await startTarget());
    alice = cleanup.add(await NotaryClient.create({ server: server.sut }));
    work = cleanup.tempDir('harness-work-');
  });
  after(() => cleanup.run());

  it('serves health over TLS only to clients that trust the test CA', async () => {
    assert.equal(
      await httpStatus(`${server.sut.url}/_notary_server/health`, server.sut.caFile),
      200
    );
    await assert.rejects(
      httpStatus(`${server.sut.url}/_notary_server/health`),
      /self-signed|unable to verify/i
    );
    assert.equal(server.sut.hostPort, new URL(server.sut.url).host);
  });

  it('init + add + publish, then list shows the target with its sha256 and size', async () => {
    const gun = 'example.com/harness/basic';
    const p = payload(work, 'basic.bin', 1234);
    await alice.init(gun);
    await alice.add(gun, 'v1', p.file);
    await alice.publish(gun);
    assert.deepEqual(await alice.list(gun), [
      { name: 'v1', digestHex: p.hex, size: 1234, role: 'targets' },
    ]);

    const bob = cleanup.add(await alice.fresh());
    assert.notEqual(bob.trustDir, alice.trustDir);
    assert.deepEqual(await bob.list(gun), [
      { name: 'v1', digestHex: p.hex, size: 1234, role: 'targets' },
    ]);
    assert.deepEqual(await bob.lookup(gun, 'v1'), { name: 'v1', digestHex: p.hex, size: 1234 });
    assert.equal((await bob.verify(gun, 'v1', p.data)).code, 0);
    const tampered = Buffer.from(p.data);
    tampered[0] = tampered[0]! ^ 1;
    const bad = await bob.verify(gun, 'v1', tampered);
    assert.notEqual(bad.code, 0);
    // notary prints its fatal errors on stdout.
    assert.match(bad.stdout, /checksum for v1 did not match/);
  });

  it('a delegation from an openssl certificate holds targets published with add -r', async () => {
    const gun = 'example.com/harness/delegated';
    const cert = await makeDelegationCert(work, { name: 'releaser' });
    const p = payload(work, 'release.bin', 777);
    await alice.init(gun, { publish: true });
    await alice.delegationAdd(gun, 'targets/releases', [cert.certFile], { publish: true });
    await alice.keyImport(cert.keyFile, { role: 'targets/releases', gun });
    await alice.add(gun, 'v2', p.file, { roles: ['targets/releases'], publish: true });

    const reader = cleanup.add(await alice.fresh());
    assert.deepEqual(await reader.delegationList(gun), [
      { role: 'targets/releases', paths: [''], keyIds: [cert.canonicalKeyId], threshold: 1 },
    ]);
    const targets = JSON.parse(
      readFileSync(join(reader.trustDir, 'tuf', gun, 'metadata', 'targets.json'), 'utf8')
    );
    assert.deepEqual(Object.keys(targets.signed.delegations.keys), [cert.keyId]);
    assert.deepEqual(await reader.list(gun), [
      { name: 'v2', digestHex: p.hex, size: 777, role: 'targets/releases' },
    ]);
    assert.deepEqual(await reader.list(gun, { roles: ['targets/releases'] }), [
      { name: 'v2', digestHex: p.hex, size: 777, role: 'targets/releases' },
    ]);
  });

  it('addHash, witness, server-managed snapshot rotation, remove and delete --remote', async () => {
    const gun = 'example.com/harness/lifecycle';
    const hex = sha256('not a real file');
    await alice.init(gun, { publish: true });
    await alice.addHash(gun, 'by-hash', 42, hex, { publish: true });
    assert.deepEqual(await alice.lookup(gun, 'by-hash'), {
      name: 'by-hash',
      digestHex: hex,
      size: 42,
    });

    await alice.witness(gun, ['targets'], { publish: true });
    const snapshotKeys = (c: NotaryClient): string[] =>
      cachedRoot(c, gun).signed.roles.snapshot!.keyids;
    const clientHeld = (await alice.keyList()).find(
      (k) => k.role === 'snapshot' && isKeyForGun(k, gun)
    );
    assert.deepEqual(snapshotKeys(alice), [clientHeld?.keyId]);
    await alice.keyRotate(gun, 'snapshot', { serverManaged: true });
    // Rotating to a server-managed key also deletes the client's copy.
    assert.ok(!(await alice.keyList()).some((k) => k.keyId === clientHeld?.keyId));

    await alice.remove(gun, 'by-hash', { publish: true });
    const other = cleanup.add(await alice.fresh());
    assert.deepEqual(await other.list(gun), []);
    assert.equal(snapshotKeys(other).length, 1);
    assert.notEqual(snapshotKeys(other)[0], clientHeld?.keyId);

    await alice.deleteRemote(gun);
    const gone = await other.fresh();
    cleanup.add(gone);
    await assert.rejects(gone.list(gun), (e: unknown) => {
      assert.ok(e instanceof CommandError);
      assert.match(
        e.result.stdout,
        /does not have trust data for example\.com\/harness\/lifecycle/
      );
      return true;
    });
  });

  it('init with a root certificate whose CN is the GUN, honoured by CA trust pinning', async () => {
    const gun = 'example.com/harness/pinned';
    const ca = await makeCa(cleanup.tempDir('pin-ca-'), 'Harness Root Pinning CA');
    const root = await makeRootCert(work, gun, {
      passphrase: DEFAULT_PASSPHRASE,
      issuer: ca,
      name: 'pinned-root',
    });
    const out = await alice.init(gun, {
      rootKey: root.encryptedKeyFile,
      rootCert: root.certFile,
      publish: true,
    });
    assert.match(out.stdout, new RegExp(`Root key found, using: ${root.canonicalKeyId}`));

    const pinned = cleanup.add(await alice.fresh({ trustPinning: { ca: { [gun]: ca.certFile } } }));
    assert.deepEqual(await pinned.list(gun), []);
    assert.deepEqual(cachedRoot(pinned, gun).signed.roles.root!.keyids, [root.keyId]);

    const otherCa = await makeCa(cleanup.tempDir('pin-other-'), 'Some Other CA');
    const mispinned = cleanup.add(
      await alice.fresh({ trustPinning: { ca: { [gun]: otherCa.certFile } } })
    );
    const r = await mispinned.run(['list', gun]);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /could not validate the path to a trusted root/);
  });

  it('a client with an older cached root follows a root rotation', async () => {
    const gun = 'example.com/harness/rotation';
    await alice.init(gun, { publish: true });
    const stale = cleanup.add(await alice.cloneTrustDir());
    assert.equal(cachedRootVersion(stale, gun), 1);

    await alice.keyRotate(gun, 'root');
    const p = payload(work, 'after-rotation.bin', 99);
    await alice.add(gun, 'post', p.file, { publish: true });
    assert.ok(cachedRootVersion(alice, gun) >= 2);

    assert.deepEqual(await stale.list(gun), [
      { name: 'post', digestHex: p.hex, size: 99, role: 'targets' },
    ]);
    assert.equal(cachedRootVersion(stale, gun), cachedRootVersion(alice, gun));
  });
});

describe('notary CLI against the reference notary-server (plain HTTP)', () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run());

  it('publishes and lists over http://', async () => {
    const server = cleanup.add(await startTarget({ tls: false }));
    assert.match(server.sut.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(server.sut.caFile, undefined);
    const client = cleanup.add(await NotaryClient.create({ server: server.sut }));
    const gun = 'example.com/harness/plain';
    const p = payload(cleanup.tempDir(), 'plain.bin', 10);
    await client.init(gun);
    await client.add(gun, 'x', p.file, { publish: true });
    assert.deepEqual(await client.list(gun), [
      { name: 'x', digestHex: p.hex, size: 10, role: 'targets' },
    ]);
  });
});

describe('reference notary-server options', () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run());

  it('passes the auth section through: token auth challenges /v2/ but not health', async () => {
    const bundle = await makeCa(cleanup.tempDir('token-ca-'), 'Harness Token Signer');
    const server = cleanup.add(
      await startReferenceNotaryServer({
        auth: {
          type: 'token',
          options: {
            realm: 'https://127.0.0.1:9/token',
            service: 'notary-server',
            issuer: 'harness',
            rootcertbundle: bundle.certFile,
          },
        },
      })
    );
    assert.equal(await httpStatus(`${server.sut.url}/v2/`, server.sut.caFile), 401);
    assert.equal(
      await httpStatus(`${server.sut.url}/_notary_server/health`, server.sut.caFile),
      200
    );
  });
});

describe('docker CLI against the reference notary-server', () => {
  const cleanup = new Cleanup();
  let server: StartedServer;
  let engine: DockerEngineStandIn;
  let publisher: DockerClient;
  const digest10 = 'sha256:' + sha256('acme/app:1.0 manifest');
  const digest11 = 'sha256:' + sha256('acme/app:1.1 manifest');

  before(async () => {
    server = cleanup.add(await startTarget());
    engine = cleanup.add(await DockerEngineStandIn.start());
    publisher = cleanup.add(
      await DockerClient.create({
        server: server.sut,
        dockerHost: engine.dockerHost,
        logins: [{ image: 'docker.io/acme/app', username: 'acme', password: 'secret' }],
      })
    );
    engine.addImage('docker.io/acme/app:1.0', { digest: digest10, size: 528 });
    engine.addImage('docker.io/acme/app:1.1', { digest: digest11, size: 1024 });
  });
  after(() => cleanup.run());

  it('trust signer add on a new repo, then trust inspect shows the signer', async () => {
    const repo = 'docker.io/acme/signed';
    const pub = await publisher.trustKeyGenerate('alice');
    const r = await publisher.trustSignerAdd('alice', repo, [pub]);
    assert.match(r.stdout, /Successfully added signer: alice to docker\.io\/acme\/signed/);

    const reader = cleanup.add(await DockerClient.create({ server: server.sut }));
    const [info] = await reader.trustInspect(repo);
    assert.equal(info?.Name, repo);
    assert.deepEqual(info?.SignedTags, []);
    assert.deepEqual(
      info?.Signers.map((s) => s.Name),
      ['alice']
    );
    assert.equal(info?.Signers[0]?.Keys.length, 1);
    assert.deepEqual(
      info?.AdministrativeKeys.map((k) => k.Name),
      ['Root', 'Repository']
    );
    assert.match(await reader.trustInspectPretty(repo), /alice\s+[0-9a-f]{12}/);
  });

  it('needs the CA in $DOCKER_CONFIG/tls/<host:port>/ to reach the trust server', async () => {
    const noCa = cleanup.add(
      await DockerClient.create({ server: { ...server.sut, caFile: undefined }, debug: true })
    );
    const r = await noCa.run(['trust', 'inspect', 'docker.io/acme/signed']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /x509: certificate signed by unknown authority/);
  });

  it('DCT push of a new repo signs the digest the engine reported', async () => {
    const r = await publisher.push('docker.io/acme/app:1.0');
    assert.match(r.stdout, /Successfully signed docker\.io\/acme\/app:1\.0/);
    assert.deepEqual(engine.pushes(), [{ repo: 'docker.io/acme/app', tag: '1.0' }]);
    const push = engine.callsTo('POST', /\/push$/)[0]!;
    assert.match(push.apiVersion ?? '', /^1\.\d+$/);
    assert.equal(DockerEngineStandIn.registryAuth(push)?.username, 'acme');

    const reader = cleanup.add(await DockerClient.create({ server: server.sut }));
    const [info] = await reader.trustInspect('docker.io/acme/app');
    assert.deepEqual(info?.SignedTags, [
      { SignedTag: '1.0', Digest: digest10.slice('sha256:'.length), Signers: ['Repo Admin'] },
    ]);
  });

  it('DCT pull asks the engine for exactly the signed digest, then tags it', async () => {
    const puller = cleanup.add(
      await DockerClient.create({ server: server.sut, dockerHost: engine.dockerHost })
    );
    const before = engine.calls.length;
    const r = await puller.pull('docker.io/acme/app:1.0');
    assert.match(r.stdout, new RegExp(`Pull \\(1 of 1\\): acme/app:1\\.0@${digest10}`));
    const calls = engine.calls
      .slice(before)
      .filter((c) => c.method !== 'HEAD' && c.path !== '/_ping');
    assert.deepEqual(
      calls.map((c) => [c.method, c.path, c.query]),
      [
        ['POST', '/images/create', { fromImage: 'docker.io/acme/app', tag: digest10 }],
        ['POST', `/images/acme/app@${digest10}/tag`, { repo: 'docker.io/acme/app', tag: '1.0' }],
      ]
    );
  });

  it('DCT pull of an unsigned tag never reaches the engine', async () => {
    const puller = cleanup.add(
      await DockerClient.create({ server: server.sut, dockerHost: engine.dockerHost })
    );
    const before = engine.pulls().length;
    const r = await puller.pull('docker.io/acme/app:1.1', { check: false });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /No trust data for 1\.1|does not have trust data|No valid trust data/);
    assert.equal(engine.pulls().length, before);
  });

  it('a second DCT push (tag 1.1) adds to the existing repo', async () => {
    await publisher.push('docker.io/acme/app:1.1');
    const reader = cleanup.add(await DockerClient.create({ server: server.sut }));
    const [info] = await reader.trustInspect('docker.io/acme/app');
    assert.deepEqual(
      info?.SignedTags.map((t) => [t.SignedTag, t.Digest, t.Signers]),
      [
        ['1.0', digest10.slice(7), ['Repo Admin']],
        ['1.1', digest11.slice(7), ['Repo Admin']],
      ]
    );
  });

  it('trust sign of an already-signed tag re-signs it into the signer roles without the engine', async () => {
    const pub = await publisher.trustKeyGenerate('carol');
    await publisher.trustSignerAdd('carol', 'docker.io/acme/app', [pub]);
    const enginePushes = engine.pushes().length;
    const r = await publisher.trustSign('docker.io/acme/app:1.0');
    assert.match(r.stdout, /Successfully signed docker\.io\/acme\/app:1\.0/);
    assert.equal(engine.pushes().length, enginePushes);

    const reader = cleanup.add(await DockerClient.create({ server: server.sut }));
    const [info] = await reader.trustInspect('docker.io/acme/app:1.0');
    // Once targets/releases holds the tag, docker names only the delegation signers.
    assert.deepEqual(info?.SignedTags, [
      { SignedTag: '1.0', Digest: digest10.slice(7), Signers: ['carol'] },
    ]);
    const notary = cleanup.add(await NotaryClient.create({ server: server.sut }));
    for (const role of ['targets/releases', 'targets/carol']) {
      assert.deepEqual(await notary.list('docker.io/acme/app', { roles: [role] }), [
        { name: '1.0', digestHex: digest10.slice(7), size: 528, role },
      ]);
    }
  });

  it('trust revoke removes the tag from the signer roles (the admin signature stays)', async () => {
    await publisher.trustRevoke('docker.io/acme/app:1.0');
    const reader = cleanup.add(await DockerClient.create({ server: server.sut }));
    const [info] = await reader.trustInspect('docker.io/acme/app:1.0');
    assert.deepEqual(info?.SignedTags, [
      { SignedTag: '1.0', Digest: digest10.slice(7), Signers: ['Repo Admin'] },
    ]);
    const notary = cleanup.add(await NotaryClient.create({ server: server.sut }));
    assert.deepEqual(await notary.list('docker.io/acme/app', { roles: ['targets/releases'] }), []);
    assert.deepEqual(
      (await notary.list('docker.io/acme/app')).map((t) => [t.name, t.role]),
      [
        ['1.0', 'targets'],
        ['1.1', 'targets'],
      ]
    );
  });

  it('trust sign of a new repo inspects and pushes through the engine, signing as the stored login', async () => {
    const digest = 'sha256:' + sha256('acme/fresh:3.0 manifest');
    engine.addImage('docker.io/acme/fresh:3.0', { digest, size: 700 });

    // Without a stored docker.io login the signer role name collapses to "targets".
    const anonymous = cleanup.add(
      await DockerClient.create({ server: server.sut, dockerHost: engine.dockerHost })
    );
    const refused = await anonymous.trustSign('docker.io/acme/fresh:3.0', { check: false });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /invalid delegation role name/);

    const before = engine.calls.length;
    const r = await publisher.trustSign('docker.io/acme/fresh:3.0');
    assert.match(r.stdout, /Created signer: acme/);
    const calls = engine.calls.slice(before).filter((c) => c.path !== '/_ping');
    assert.ok(
      calls.some((c) => c.method === 'GET' && c.path === '/images/docker.io/acme/fresh:3.0/json')
    );
    assert.deepEqual(
      calls.filter((c) => c.method === 'POST').map((c) => [c.path, c.query]),
      [['/images/docker.io/acme/fresh/push', { tag: '3.0' }]]
    );

    const reader = cleanup.add(await DockerClient.create({ server: server.sut }));
    const [info] = await reader.trustInspect('docker.io/acme/fresh');
    assert.deepEqual(info?.SignedTags, [
      { SignedTag: '3.0', Digest: digest.slice(7), Signers: ['acme'] },
    ]);
    assert.deepEqual(
      info?.Signers.map((s) => s.Name),
      ['acme']
    );
  });

  it('a push the engine cannot serve fails and signs nothing', async () => {
    const r = await publisher.push('docker.io/acme/missing:1.0', { check: false });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /An image does not exist locally with the tag/);
    const inspect = await publisher.run(['trust', 'inspect', 'docker.io/acme/missing']);
    assert.notEqual(inspect.code, 0);
    assert.match(inspect.stderr, /no signatures or cannot access docker\.io\/acme\/missing/);
  });
});
