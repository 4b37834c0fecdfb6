/**
 * The docker CLI 28 content-trust workflow, end to end, against one notary-compatible server:
 * trust key generate / signer add / inspect, DCT push through the Docker Engine stand-in, DCT
 * pull, trust sign / revoke, docker's tag resolution order (targets/releases, then targets,
 * never another delegation), and after every write the server-made snapshot and timestamp.
 *
 * The same scenario runs against the reference notary-server (docker-reference.test.ts) and
 * against Countersign (docker-cli.test.ts): every assertion below holds for both, which is the
 * claim "docker works against Countersign exactly as against notary-server".
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import { DEFAULT_DOCKER_PASSPHRASE, DockerClient } from '../helpers/docker-cli.js';
import { DockerEngineStandIn, type EngineCall } from '../helpers/docker-engine.js';
import { NotaryClient } from '../helpers/notary-cli.js';
import type { Service } from '../helpers/proc.js';
import type { StartedServer } from '../helpers/server-under-test.js';
import { assertServerSigned, type ServerSignedState } from './docker-metadata.js';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const digestOf = (label: string): string => 'sha256:' + sha256(`${label} manifest`);
const hex = (digest: string): string => digest.slice('sha256:'.length);

/** The canonical id of the key `docker trust key generate NAME` stored (PEM header `role: NAME`). */
function generatedKeyId(docker: DockerClient, name: string): string {
  const dir = join(docker.configDir, 'trust', 'private');
  const ids = readdirSync(dir)
    .filter((f) => f.endsWith('.key'))
    .filter((f) => new RegExp(`^role: ${name}$`, 'm').test(readFileSync(join(dir, f), 'utf8')))
    .map((f) => f.slice(0, -'.key'.length));
  assert.equal(ids.length, 1, `one private key for ${name}`);
  return ids[0]!;
}

/** Engine calls after `from`, without the pings every docker invocation starts with. */
const engineCallsSince = (engine: DockerEngineStandIn, from: number): EngineCall[] =>
  engine.calls.slice(from).filter((c) => c.path !== '/_ping');

export function dockerScenario(
  serverName: string,
  startTarget: () => Promise<StartedServer & { readonly service: Service }>
): void {
  describe(`docker CLI 28 with content trust against ${serverName}`, () => {
    const cleanup = new Cleanup();
    let server: StartedServer & { readonly service: Service };
    let engine: DockerEngineStandIn;
    /** Holds the root/targets keys of every repo below, and the signer keys alice and carol. */
    let publisher: DockerClient;
    /** Pulled 1.1 early on; keeps its trust cache to show it follows later publishes. */
    let earlyPuller: DockerClient;
    const lastSnapshotVersion = new Map<string, number>();

    const app = 'docker.io/acme/app';
    const signed = 'docker.io/acme/signed';
    const d10 = digestOf('acme/app:1.0');
    const d11 = digestOf('acme/app:1.1');
    const d11b = digestOf('acme/app:1.1 rebuilt');
    const d20 = digestOf('acme/app:2.0');

    /** A client with nothing cached and no keys: what it sees is what the server serves. */
    const freshDocker = async (withEngine = false): Promise<DockerClient> =>
      cleanup.add(
        await DockerClient.create({
          server: server.sut,
          ...(withEngine ? { dockerHost: engine.dockerHost } : {}),
        })
      );

    /**
     * After a docker write: the server signed a new snapshot (version went up) and timestamp
     * with its own keys, and they pin the metadata it serves.
     */
    async function serverSignedAfterWrite(gun: string): Promise<ServerSignedState> {
      const state = await assertServerSigned(server.sut, gun);
      const previous = lastSnapshotVersion.get(gun) ?? 0;
      assert.ok(
        state.snapshot.signed.version > previous,
        `snapshot of ${gun} re-signed (v${state.snapshot.signed.version} after v${previous})`
      );
      lastSnapshotVersion.set(gun, state.snapshot.signed.version);
      return state;
    }

    before(async () => {
      server = cleanup.add(await startTarget());
      engine = cleanup.add(await DockerEngineStandIn.start());
      publisher = cleanup.add(
        await DockerClient.create({
          server: server.sut,
          dockerHost: engine.dockerHost,
          logins: [{ image: app, username: 'acme', password: 'secret' }],
        })
      );
      engine.addImage(`${app}:1.0`, { digest: d10, size: 528 });
      engine.addImage(`${app}:1.1`, { digest: d11, size: 1024 });
      engine.addImage(`${app}:2.0`, { digest: d20, size: 99 });
    });
    // A server that dies mid-scenario shows up as its own log, not as later "connection refused".
    afterEach(() => {
      assert.ok(
        server.service.running,
        `${serverName} exited during the test:\n${server.service.output()}`
      );
    });
    after(() => cleanup.run());

    it('trust key generate + signer add on a new repo: root+targets published, snapshot key held by the server', async () => {
      const pub = await publisher.trustKeyGenerate('alice');
      assert.match(readFileSync(pub, 'utf8'), /-----BEGIN PUBLIC KEY-----/);
      const aliceKeyId = generatedKeyId(publisher, 'alice');

      const r = await publisher.trustSignerAdd('alice', signed, [pub]);
      assert.match(r.stdout, /Initializing signed repository for docker\.io\/acme\/signed/);
      assert.match(r.stdout, /Successfully added signer: alice to docker\.io\/acme\/signed/);

      const state = await serverSignedAfterWrite(signed);
      assert.equal(state.root.signed.version, 1);
      // docker never holds the snapshot key it initialised the repo with.
      assert.ok(
        !readdirSync(join(publisher.configDir, 'trust', 'private')).includes(
          `${state.snapshotKeyId}.key`
        )
      );
      // The delegations live inside targets.json: alice and releases, both with alice's key.
      assert.deepEqual(
        state.targets.signed.delegations?.roles.map((d) => [d.name, d.keyids]),
        [
          ['targets/alice', [aliceKeyId]],
          ['targets/releases', [aliceKeyId]],
        ]
      );

      const reader = await freshDocker();
      const [info] = await reader.trustInspect(signed);
      assert.deepEqual(info, {
        Name: signed,
        SignedTags: [],
        Signers: [{ Name: 'alice', Keys: [{ ID: aliceKeyId }] }],
        AdministrativeKeys: [
          { Name: 'Root', Keys: [{ ID: state.root.signed.roles.root!.keyids[0] }] },
          { Name: 'Repository', Keys: [{ ID: state.root.signed.roles.targets!.keyids[0] }] },
        ],
      });
      const pretty = await reader.trustInspectPretty(signed);
      assert.match(pretty, /No signatures for docker\.io\/acme\/signed/);
      assert.match(pretty, new RegExp(`alice\\s+${aliceKeyId.slice(0, 12)}\\n`));
      assert.match(pretty, new RegExp(`Root Key:\\s+${state.root.signed.roles.root!.keyids[0]}`));
    });

    it('signer add of a second signer to the existing repo adds its key to targets/releases', async () => {
      const pub = await publisher.trustKeyGenerate('bob');
      const bobKeyId = generatedKeyId(publisher, 'bob');
      const aliceKeyId = generatedKeyId(publisher, 'alice');
      const r = await publisher.trustSignerAdd('bob', signed, [pub]);
      assert.doesNotMatch(r.stdout, /Initializing/);
      assert.match(r.stdout, /Successfully added signer: bob to docker\.io\/acme\/signed/);
      const state = await serverSignedAfterWrite(signed);
      assert.deepEqual(
        state.targets.signed.delegations?.roles.map((d) => [d.name, [...d.keyids].sort()]).sort(),
        [
          ['targets/alice', [aliceKeyId]],
          ['targets/bob', [bobKeyId]],
          ['targets/releases', [aliceKeyId, bobKeyId].sort()],
        ]
      );
      const [info] = await (await freshDocker()).trustInspect(signed);
      // docker lists signers in map order.
      const byName = (a: { Name: string }, b: { Name: string }): number =>
        a.Name.localeCompare(b.Name);
      assert.deepEqual([...(info?.Signers ?? [])].sort(byName), [
        { Name: 'alice', Keys: [{ ID: aliceKeyId }] },
        { Name: 'bob', Keys: [{ ID: bobKeyId }] },
      ]);
    });

    it('docker verifies the server certificate: without the CA under $DOCKER_CONFIG/tls it gets nothing', async () => {
      const noCa = cleanup.add(
        await DockerClient.create({ server: { ...server.sut, caFile: undefined }, debug: true })
      );
      const r = await noCa.run(['trust', 'inspect', signed]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /x509: certificate signed by unknown authority/);
      assert.match(r.stderr, /no signatures or cannot access docker\.io\/acme\/signed/);
    });

    it('DCT push of a new repo signs the digest and size the engine reported', async () => {
      const r = await publisher.push(`${app}:1.0`);
      assert.match(r.stdout, new RegExp(`1\\.0: digest: ${d10} size: 528`));
      assert.match(r.stdout, /Signing and pushing trust metadata/);
      assert.match(r.stdout, /Successfully signed docker\.io\/acme\/app:1\.0/);
      assert.deepEqual(engine.pushes(), [{ repo: app, tag: '1.0' }]);

      const state = await serverSignedAfterWrite(app);
      assert.deepEqual(state.targets.signed.targets, {
        '1.0': { length: 528, hashes: { sha256: Buffer.from(hex(d10), 'hex').toString('base64') } },
      });
      const [info] = await (await freshDocker()).trustInspect(app);
      assert.deepEqual(info?.SignedTags, [
        { SignedTag: '1.0', Digest: hex(d10), Signers: ['Repo Admin'] },
      ]);
      assert.deepEqual(info?.Signers, []);
    });

    it('DCT push of a second tag adds to the existing repo; notary CLI lists the same digests and sizes', async () => {
      const r = await publisher.push(`${app}:1.1`);
      assert.match(r.stdout, /Successfully signed docker\.io\/acme\/app:1\.1/);
      assert.deepEqual(engine.pushes().at(-1), { repo: app, tag: '1.1' });
      const state = await serverSignedAfterWrite(app);
      assert.equal(state.root.signed.version, 1, 'no root change for a second tag');

      const [info] = await (await freshDocker()).trustInspect(app);
      assert.deepEqual(info?.SignedTags, [
        { SignedTag: '1.0', Digest: hex(d10), Signers: ['Repo Admin'] },
        { SignedTag: '1.1', Digest: hex(d11), Signers: ['Repo Admin'] },
      ]);
      const notary = cleanup.add(await NotaryClient.create({ server: server.sut }));
      assert.deepEqual(await notary.list(app), [
        { name: '1.0', digestHex: hex(d10), size: 528, role: 'targets' },
        { name: '1.1', digestHex: hex(d11), size: 1024, role: 'targets' },
      ]);
      assert.deepEqual(await notary.lookup(app, '1.1'), {
        name: '1.1',
        digestHex: hex(d11),
        size: 1024,
      });
    });

    it('DCT pull from a fresh config: the engine gets exactly the signed digest, then the tag', async () => {
      earlyPuller = await freshDocker(true);
      const from = engine.calls.length;
      const r = await earlyPuller.pull(`${app}:1.1`);
      assert.match(r.stdout, new RegExp(`Pull \\(1 of 1\\): acme/app:1\\.1@${d11}`));
      assert.deepEqual(
        engineCallsSince(engine, from).map((c) => [c.method, c.path, c.query]),
        [
          ['POST', '/images/create', { fromImage: app, tag: d11 }],
          ['POST', `/images/acme/app@${d11}/tag`, { repo: app, tag: '1.1' }],
        ]
      );
    });

    it('DCT pull of an unsigned tag fails before reaching the engine', async () => {
      const puller = await freshDocker(true);
      const from = engine.calls.length;
      const r = await puller.pull(`${app}:2.0`, { check: false });
      assert.equal(r.code, 1);
      // Worded apart from the signed-elsewhere case below, by docker itself.
      assert.match(r.stderr, /^No valid trust data for 2\.0$/m);
      assert.deepEqual(engineCallsSince(engine, from), []);

      // A repository the server has no trust data for at all (404 on root.json).
      const none = await puller.pull('docker.io/acme/nothere:1.0', { check: false });
      assert.equal(none.code, 1);
      assert.match(
        none.stderr,
        new RegExp(
          `remote trust data does not exist for docker\\.io/acme/nothere: ` +
            `${server.sut.hostPort.replace(/\./g, '\\.')} does not have trust data for docker\\.io/acme/nothere`
        )
      );
      assert.deepEqual(engineCallsSince(engine, from), []);
    });

    it('trust sign of an already signed tag re-signs it into the signer roles, no engine push', async () => {
      const pub = await publisher.trustKeyGenerate('carol');
      const carolKeyId = generatedKeyId(publisher, 'carol');
      await publisher.trustSignerAdd('carol', app, [pub]);
      await serverSignedAfterWrite(app);

      const from = engine.calls.length;
      const r = await publisher.trustSign(`${app}:1.0`);
      assert.match(r.stdout, /Successfully signed docker\.io\/acme\/app:1\.0/);
      assert.deepEqual(engineCallsSince(engine, from), []);
      const state = await serverSignedAfterWrite(app);
      assert.deepEqual(Object.keys(state.snapshot.signed.meta).sort(), [
        'root',
        'targets',
        'targets/carol',
        'targets/releases',
      ]);

      const reader = await freshDocker();
      const [info] = await reader.trustInspect(app);
      // A tag in targets/releases is attributed to its delegation signers only.
      assert.deepEqual(info?.SignedTags, [
        { SignedTag: '1.0', Digest: hex(d10), Signers: ['carol'] },
        { SignedTag: '1.1', Digest: hex(d11), Signers: ['Repo Admin'] },
      ]);
      assert.deepEqual(info?.Signers, [{ Name: 'carol', Keys: [{ ID: carolKeyId }] }]);
      const pretty = await reader.trustInspectPretty(app);
      assert.match(pretty, /Signatures for docker\.io\/acme\/app/);
      assert.match(pretty, new RegExp(`1\\.0\\s+${hex(d10)}\\s+carol\\n`));
      assert.match(pretty, new RegExp(`1\\.1\\s+${hex(d11)}\\s+\\(Repo Admin\\)\\n`));
      assert.match(pretty, new RegExp(`carol\\s+${carolKeyId.slice(0, 12)}\\n`));

      const notary = cleanup.add(await NotaryClient.create({ server: server.sut }));
      for (const role of ['targets/releases', 'targets/carol']) {
        assert.deepEqual(await notary.list(app, { roles: [role] }), [
          { name: '1.0', digestHex: hex(d10), size: 528, role },
        ]);
      }
    });

    it('docker pull refuses a tag signed only in targets/<signer>', async () => {
      // notary CLI on docker's own trust dir: carol's key signs straight into targets/carol.
      const carolOnly = cleanup.add(
        await NotaryClient.create({
          server: server.sut,
          trustDir: join(publisher.configDir, 'trust'),
          passphrase: DEFAULT_DOCKER_PASSPHRASE,
        })
      );
      await carolOnly.addHash(app, '2.0', 99, hex(d20), {
        roles: ['targets/carol'],
        publish: true,
      });
      const state = await serverSignedAfterWrite(app);
      assert.ok(!('2.0' in state.targets.signed.targets));

      // The server serves it (a notary client sees it in targets/carol) …
      const notary = cleanup.add(await NotaryClient.create({ server: server.sut }));
      assert.deepEqual(await notary.list(app, { roles: ['targets/carol'] }), [
        { name: '1.0', digestHex: hex(d10), size: 528, role: 'targets/carol' },
        { name: '2.0', digestHex: hex(d20), size: 99, role: 'targets/carol' },
      ]);
      // … but docker only believes targets/releases and targets, in inspect as in pull.
      const [info] = await (await freshDocker()).trustInspect(`${app}:2.0`);
      assert.deepEqual(info?.SignedTags, []);

      const puller = await freshDocker(true);
      const from = engine.calls.length;
      const r = await puller.pull(`${app}:2.0`, { check: false });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^No trust data for 2\.0$/m);
      assert.deepEqual(engineCallsSince(engine, from), []);
    });

    it('docker pull takes targets/releases before targets when both sign a tag', async () => {
      // 1.1 stays in targets (d11); the rebuilt image pushed now is signed into the delegations.
      engine.addImage(`${app}:1.1`, { digest: d11b, size: 2048 });
      await publisher.push(`${app}:1.1`);
      await serverSignedAfterWrite(app);
      const notary = cleanup.add(await NotaryClient.create({ server: server.sut }));
      assert.deepEqual(
        (await notary.list(app, { roles: ['targets'] })).filter((t) => t.name === '1.1'),
        [{ name: '1.1', digestHex: hex(d11), size: 1024, role: 'targets' }]
      );
      assert.deepEqual(
        (await notary.list(app, { roles: ['targets/releases'] })).filter((t) => t.name === '1.1'),
        [{ name: '1.1', digestHex: hex(d11b), size: 2048, role: 'targets/releases' }]
      );

      const puller = await freshDocker(true);
      const from = engine.calls.length;
      const r = await puller.pull(`${app}:1.1`);
      assert.match(r.stdout, new RegExp(`Pull \\(1 of 1\\): acme/app:1\\.1@${d11b}`));
      assert.deepEqual(
        engineCallsSince(engine, from).map((c) => [c.method, c.path, c.query]),
        [
          ['POST', '/images/create', { fromImage: app, tag: d11b }],
          ['POST', `/images/acme/app@${d11b}/tag`, { repo: app, tag: '1.1' }],
        ]
      );
      // A client that cached the repo when 1.1 was only in targets follows the new snapshot.
      const again = engine.calls.length;
      await earlyPuller.pull(`${app}:1.1`);
      assert.deepEqual(
        engineCallsSince(engine, again).map((c) => c.query),
        [
          { fromImage: app, tag: d11b },
          { repo: app, tag: '1.1' },
        ]
      );
    });

    it('trust sign of a new tag inspects and pushes through the engine, then signs the delegations', async () => {
      const d30 = digestOf('acme/app:3.0');
      engine.addImage(`${app}:3.0`, { digest: d30, size: 3000 });
      const from = engine.calls.length;
      const r = await publisher.trustSign(`${app}:3.0`);
      assert.match(r.stdout, /Successfully signed docker\.io\/acme\/app:3\.0/);
      const calls = engineCallsSince(engine, from);
      assert.ok(calls.some((c) => c.method === 'GET' && c.path === `/images/${app}:3.0/json`));
      assert.deepEqual(
        calls.filter((c) => c.method === 'POST').map((c) => [c.path, c.query]),
        [[`/images/${app}/push`, { tag: '3.0' }]]
      );
      const state = await serverSignedAfterWrite(app);
      assert.ok(!('3.0' in state.targets.signed.targets), 'not signed into top-level targets');

      const notary = cleanup.add(await NotaryClient.create({ server: server.sut }));
      for (const role of ['targets/releases', 'targets/carol']) {
        assert.deepEqual(
          (await notary.list(app, { roles: [role] })).filter((t) => t.name === '3.0'),
          [{ name: '3.0', digestHex: hex(d30), size: 3000, role }]
        );
      }
      const [info] = await (await freshDocker()).trustInspect(`${app}:3.0`);
      assert.deepEqual(info?.SignedTags, [
        { SignedTag: '3.0', Digest: hex(d30), Signers: ['carol'] },
      ]);
    });

    it('trust revoke removes tags from the signer roles; an admin signature in targets stays', async () => {
      await publisher.trustRevoke(`${app}:2.0`);
      await serverSignedAfterWrite(app);
      await publisher.trustRevoke(`${app}:1.0`);
      await serverSignedAfterWrite(app);
      const r = await publisher.trustRevoke(`${app}:3.0`);
      assert.match(r.stdout, /Successfully deleted signature for docker\.io\/acme\/app:3\.0/);
      await serverSignedAfterWrite(app);

      const [info] = await (await freshDocker()).trustInspect(app);
      // One row per (tag, digest); docker's sort leaves the order of equal tags open.
      assert.deepEqual(
        info?.SignedTags.map((t) => [t.SignedTag, t.Digest, t.Signers]).sort(),
        [
          ['1.0', hex(d10), ['Repo Admin']],
          ['1.1', hex(d11), ['Repo Admin']],
          ['1.1', hex(d11b), ['carol']],
        ].sort()
      );
      const notary = cleanup.add(await NotaryClient.create({ server: server.sut }));
      // 3.0 was only ever in the delegations: gone from inspect above and from every role.
      assert.deepEqual(
        (await notary.list(app, { roles: ['targets/releases'] })).map((t) => t.name),
        ['1.1']
      );
      assert.deepEqual(
        (await notary.list(app, { roles: ['targets/carol'] })).map((t) => t.name),
        ['1.1']
      );

      // 1.0 now resolves to the admin signature again.
      const puller = await freshDocker(true);
      const from = engine.calls.length;
      await puller.pull(`${app}:1.0`);
      assert.deepEqual(
        engineCallsSince(engine, from).map((c) => c.query),
        [
          { fromImage: app, tag: d10 },
          { repo: app, tag: '1.0' },
        ]
      );
    });
  });
}
