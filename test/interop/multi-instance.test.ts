/**
 * Several Countersign instances on one PostgreSQL database, as operators run them behind a load
 * balancer: two `countersign serve` processes (own data dirs, own ports, one throwaway database,
 * one key passphrase) driven by the real notary CLI and by raw HTTP.
 *
 * What must hold (the issue "PostgreSQL, several instances"): whatever one instance accepted, the
 * other serves at once; racing publishers on one repository each either win or are told VERSION,
 * never both lose an update or duplicate a version; the database afterwards is a consistent
 * notary store (every timestamp and snapshot names files that exist, one changefeed record per
 * timestamp); and a read on one instance right after a publish on the other never returns an
 * older timestamp than that publish produced.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { PublicKey } from '../../src/crypto/keys.js';
import { openPostgres } from '../../src/storage/postgres.js';
import type { Storage } from '../../src/storage/types.js';
import { multipart } from '../helpers/app.js';
import { Cleanup } from '../helpers/cleanup.js';
import { startCountersign, type StartedCountersign } from '../helpers/countersign.js';
import { NotaryClient } from '../helpers/notary-cli.js';
import { getOk, tufPath } from '../helpers/notary-http.js';
import { repoRoot } from '../helpers/paths.js';
import { startPostgres, type StartedPostgres } from '../helpers/postgres.js';
import { run } from '../helpers/proc.js';
import type { ServerUnderTest } from '../helpers/server-under-test.js';
import { makeServerTls, type ServerTlsFiles } from '../helpers/tls.js';
import {
  plainKey,
  rootSigned,
  sign,
  targetsSigned,
  x509Key,
  type TestKey,
} from '../helpers/tuf-builder.js';

const PASSPHRASE = 'one passphrase for every instance';
/** Small on purpose: ten publishers per instance must queue for connections, not open more. */
const POOL_SIZE = 4;

const cleanup = new Cleanup();
let cluster: StartedPostgres;
let dbUrl: string;
let a: StartedCountersign;
let b: StartedCountersign;

/**
 * `countersign serve --db-url URL`, the pool size from the config file; plain HTTP, or TLS with
 * the given certificate (the same for every instance, as behind a load balancer: a generated
 * one would differ per instance, each data dir getting its own CA).
 */
async function instance(
  url: string,
  extra: { tls?: ServerTlsFiles; countersign?: Record<string, unknown> } = {}
): Promise<StartedCountersign> {
  let dataDir: string | undefined;
  if (extra.tls) {
    // Where the helper looks for the CA to check health with and to hand to clients.
    dataDir = join(cleanup.tempDir('countersign-multi-data-'), 'data');
    mkdirSync(join(dataDir, 'tls'), { recursive: true });
    copyFileSync(extra.tls.caFile, join(dataDir, 'tls', 'ca.crt'));
  }
  return cleanup.add(
    await startCountersign({
      tls: extra.tls !== undefined,
      ...(dataDir !== undefined ? { dataDir } : {}),
      config: {
        storage: { pool_size: POOL_SIZE },
        ...(extra.countersign ? { countersign: extra.countersign } : {}),
      },
      env: { COUNTERSIGN_KEY_PASSPHRASE: PASSPHRASE },
      extraArgs: [
        '--db-url',
        url,
        ...(extra.tls ? ['--tls-cert', extra.tls.certFile, '--tls-key', extra.tls.keyFile] : []),
      ],
    })
  );
}

before(async () => {
  cluster = await startPostgres();
  cleanup.add(cluster);
  dbUrl = await cluster.createDatabase();
  [a, b] = await Promise.all([instance(dbUrl), instance(dbUrl)]);
});
after(() => cleanup.run());

const sha256Hex = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const b64ToHex = (s: string): string => Buffer.from(s, 'base64').toString('hex');
const names = (targets: { name: string }[]): string[] => targets.map((t) => t.name).sort();

interface Meta {
  signed: {
    version: number;
    meta?: Record<string, { hashes: { sha256: string }; length: number }>;
  };
}
const parse = (data: Buffer): Meta => JSON.parse(data.toString('utf8')) as Meta;

/** A payload file in the client's directory. */
function payload(client: NotaryClient, text: string): string {
  const file = join(client.dir, 'payload.txt');
  writeFileSync(file, text);
  return file;
}

/** Runs `fn` for 0..n-1 all at once. */
const all = <T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> =>
  Promise.all(Array.from({ length: n }, (_, i) => fn(i)));

interface Row {
  id: number;
  gun: string;
  role: string;
  version: number;
  sha256: string;
  data: Buffer;
}

/**
 * Reads the whole database and checks it is a consistent notary store. Returns the rows per GUN
 * for further assertions.
 */
async function auditDatabase(): Promise<Map<string, Row[]>> {
  const rows = await cluster.query<Row>(
    'SELECT id::int AS id, gun, role, version::int AS version, sha256, data FROM tuf_files ORDER BY gun, role, version',
    [],
    dbUrl
  );
  const feed = await cluster.query<{
    id: number;
    gun: string;
    version: number;
    sha256: string;
    category: string;
  }>(
    'SELECT id::int AS id, gun, version::int AS version, sha256, category FROM changefeed ORDER BY id',
    [],
    dbUrl
  );
  const byGun = new Map<string, Row[]>();
  const seen = new Set<string>();
  for (const r of rows) {
    const key = `${r.gun}\u0000${r.role}\u0000${r.version}`;
    assert.ok(!seen.has(key), `${r.gun} ${r.role} version ${r.version} is stored twice`);
    seen.add(key);
    assert.equal(
      r.sha256,
      sha256Hex(r.data),
      `${r.gun} ${r.role} v${r.version}: sha256 column does not match the bytes`
    );
    byGun.set(r.gun, [...(byGun.get(r.gun) ?? []), r]);
  }
  const find = (
    gun: string,
    role: string,
    b64: string | undefined,
    length: number | undefined
  ): Row | undefined =>
    b64 === undefined
      ? undefined
      : byGun
          .get(gun)
          ?.find((r) => r.role === role && r.sha256 === b64ToHex(b64) && r.data.length === length);

  for (const [gun, files] of byGun) {
    // One changefeed record per timestamp version, in commit order, with that timestamp's hash.
    const timestamps = files.filter((r) => r.role === 'timestamp');
    const records = feed.filter((c) => c.gun === gun && c.category === 'update');
    assert.deepEqual(
      records.map((c) => [c.version, c.sha256]),
      timestamps.map((t) => [t.version, t.sha256]),
      `${gun}: the changefeed does not list each timestamp version exactly once, in order`
    );
    for (const t of timestamps) {
      const snap = parse(t.data).signed.meta?.snapshot;
      assert.ok(
        find(gun, 'snapshot', snap?.hashes.sha256, snap?.length),
        `${gun}: timestamp v${t.version} names a snapshot that is not stored`
      );
    }
    for (const s of files.filter((r) => r.role === 'snapshot')) {
      const meta = parse(s.data).signed.meta ?? {};
      assert.ok(meta.root && meta.targets, `${gun}: snapshot v${s.version} lacks root or targets`);
      for (const [role, m] of Object.entries(meta)) {
        assert.ok(
          find(gun, role, m.hashes.sha256, m.length),
          `${gun}: snapshot v${s.version} names ${role} bytes that are not stored`
        );
      }
    }
    // The current state (newest timestamp → its snapshot → its files) is the newest of everything.
    const ts = timestamps.at(-1);
    assert.ok(ts, `${gun}: no timestamp`);
    const snapMeta = parse(ts.data).signed.meta?.snapshot;
    const snapshot = find(gun, 'snapshot', snapMeta?.hashes.sha256, snapMeta?.length)!;
    const newest = (role: string) =>
      Math.max(...files.filter((r) => r.role === role).map((r) => r.version));
    assert.equal(
      snapshot.version,
      newest('snapshot'),
      `${gun}: the current timestamp does not name the newest snapshot`
    );
    for (const role of ['root', 'targets']) {
      const m = parse(snapshot.data).signed.meta?.[role];
      assert.equal(
        find(gun, role, m?.hashes.sha256, m?.length)?.version,
        newest(role),
        `${gun}: the current snapshot does not name the newest ${role}`
      );
    }
  }
  const stray = feed.filter((c) => !byGun.has(c.gun));
  assert.deepEqual(stray, [], 'changefeed records for repositories that hold no files');
  return byGun;
}

/** Both instances serve byte-identical current metadata whose hashes chain timestamp → snapshot → root/targets. */
async function assertSameCurrentState(
  gun: string
): Promise<{ timestamp: number; targets: number }> {
  const read = async (sut: ServerUnderTest) => {
    const files = await Promise.all(
      ['timestamp', 'snapshot', 'root', 'targets'].map((r) => getOk(sut, tufPath(gun, `${r}.json`)))
    );
    return { timestamp: files[0]!, snapshot: files[1]!, root: files[2]!, targets: files[3]! };
  };
  const [onA, onB] = await Promise.all([read(a.sut), read(b.sut)]);
  for (const role of ['timestamp', 'snapshot', 'root', 'targets'] as const) {
    assert.equal(
      onA[role].toString(),
      onB[role].toString(),
      `${gun}: the instances serve different ${role}.json`
    );
  }
  const chain = (parent: Buffer, role: string, child: Buffer) => {
    const m = parse(parent).signed.meta?.[role];
    assert.equal(
      m && b64ToHex(m.hashes.sha256),
      sha256Hex(child),
      `${gun}: served ${role}.json is not the one its parent names`
    );
    assert.equal(m?.length, child.length);
  };
  chain(onA.timestamp, 'snapshot', onA.snapshot);
  chain(onA.snapshot, 'root', onA.root);
  chain(onA.snapshot, 'targets', onA.targets);
  return {
    timestamp: parse(onA.timestamp).signed.version,
    targets: parse(onA.targets).signed.version,
  };
}

/**
 * Runs one publishing notary command per entry, all at once (`notary add -p` of target
 * `t<i>`, or with `retry` a plain `notary publish` of what is still staged); returns who succeeded.
 */
async function storm(
  entries: { client: NotaryClient; gun: string; i: number }[],
  retry = false
): Promise<{ accepted: string[]; refused: string[] }> {
  const outcomes = await Promise.all(
    entries.map(async ({ client, gun, i }) => {
      const r = retry
        ? await client.publish(gun, { check: false })
        : await client.add(gun, `t${i}`, payload(client, `target ${i}\n`), {
            publish: true,
            check: false,
          });
      return { target: `t${i}`, r };
    })
  );
  const accepted = outcomes.filter((o) => o.r.code === 0).map((o) => o.target);
  const refused = outcomes.filter((o) => o.r.code !== 0);
  for (const { target, r } of refused) {
    // A 400 VERSION (someone else committed that version first) is what notary 0.7 prints this
    // way; a 500, a timeout or a validation error would say something else.
    assert.match(
      r.stdout + r.stderr,
      /trust server rejected operation/,
      `${target}: refused for another reason:\n${r.stdout}${r.stderr}`
    );
  }
  return { accepted, refused: refused.map((o) => o.target) };
}

/** Most connections the servers (application_name countersign, not the listeners) held, sampled while `work` runs. */
async function peakConnections<T>(work: Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = 0;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      const [row] = await cluster.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'countersign'",
        [],
        dbUrl
      );
      peak = Math.max(peak, row?.n ?? 0);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    return { result: await work, peak };
  } finally {
    done = true;
    await sampler;
  }
}

describe('two Countersign instances on one PostgreSQL database', () => {
  it('serves at once through one instance what the notary CLI published through the other, both ways', async () => {
    const gun = 'example.com/multi/both-ways';
    const alice = cleanup.add(await NotaryClient.create({ server: a.sut }));
    await alice.init(gun, { publish: true });
    await alice.add(gun, 'from-a', payload(alice, 'published through A\n'), { publish: true });
    const bobOnB = cleanup.add(await NotaryClient.create({ server: b.sut }));
    assert.deepEqual(names(await bobOnB.list(gun)), ['from-a']);

    // Alice moves to B; a client that read A before (and so warmed A's cache) sees B's publish on A.
    const aliceOnB = cleanup.add(await alice.sharingTrustDir({ server: b.sut }));
    await aliceOnB.add(gun, 'from-b', payload(alice, 'published through B\n'), { publish: true });
    const carolOnA = cleanup.add(await NotaryClient.create({ server: a.sut }));
    assert.deepEqual(names(await carolOnA.list(gun)), ['from-a', 'from-b']);
    assert.deepEqual(names(await bobOnB.list(gun)), ['from-a', 'from-b']);
    assert.deepEqual(await carolOnA.lookup(gun, 'from-b'), {
      name: 'from-b',
      digestHex: sha256Hex('published through B\n'),
      size: 'published through B\n'.length,
    });
    await assertSameCurrentState(gun);
  });

  it('hands out one snapshot key and one timestamp key per new repository, whichever instance is asked, however many at once', async () => {
    const gun = 'example.com/multi/new-keys';
    const handedOut = new Map<string, string>();
    for (const role of ['snapshot', 'timestamp']) {
      const bodies = await all(16, (i) =>
        getOk(i % 2 === 0 ? a.sut : b.sut, tufPath(gun, `${role}.key`))
      );
      const distinct = new Set(bodies.map((x) => x.toString()));
      assert.equal(
        distinct.size,
        1,
        `${role}.key: ${distinct.size} different keys handed out:\n${[...distinct].join('\n')}`
      );
      handedOut.set(role, [...distinct][0]!);
    }
    const [keys] = await cluster.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM server_keys WHERE gun = $1',
      [gun],
      dbUrl
    );
    assert.equal(keys?.n, 2, 'more server keys were created than handed out');

    // The notary CLI (through B) publishes a root listing the timestamp key; it keeps the
    // snapshot key itself, so the server's stays pending and is still the one handed out.
    const client = cleanup.add(await NotaryClient.create({ server: b.sut }));
    await client.init(gun, { publish: true });
    const root = JSON.parse((await getOk(a.sut, tufPath(gun, 'root.json'))).toString()) as {
      signed: {
        keys: Record<string, { keyval: { public: string } }>;
        roles: Record<string, { keyids: string[] }>;
      };
    };
    const listed = root.signed.roles.timestamp!.keyids.map(
      (id) => root.signed.keys[id]!.keyval.public
    );
    const served = JSON.parse(handedOut.get('timestamp')!) as { keyval: { public: string } };
    assert.deepEqual(
      listed,
      [served.keyval.public],
      'root.json does not list the timestamp key the instances handed out'
    );
    for (const role of ['snapshot', 'timestamp']) {
      for (const sut of [a.sut, b.sut]) {
        assert.equal(
          (await getOk(sut, tufPath(gun, `${role}.key`))).toString(),
          handedOut.get(role),
          `${role}.key through ${sut.url} after the publish`
        );
      }
    }
  });

  it('keeps every accepted update of 20 racing notary CLI publishers on one repository, split across both instances', async () => {
    const gun = 'example.com/multi/one-repo';
    const owner = cleanup.add(await NotaryClient.create({ server: a.sut }));
    await owner.init(gun, { publish: true });
    const newest = async (role: string) =>
      (
        await cluster.query<{ v: number }>(
          'SELECT max(version)::int AS v FROM tuf_files WHERE gun = $1 AND role = $2',
          [gun, role],
          dbUrl
        )
      )[0]!.v;
    const initial = new Map(
      await Promise.all(
        ['targets', 'snapshot', 'timestamp'].map(async (r) => [r, await newest(r)] as const)
      )
    );
    // Twenty copies of the owner's trust dir (same keys, same cached metadata), half on each instance.
    const entries = await all(20, async (i) => ({
      client: cleanup.add(await owner.cloneTrustDir({ server: i % 2 === 0 ? a.sut : b.sut })),
      gun,
      i,
    }));
    const { result, peak } = await peakConnections(storm(entries));
    const { accepted, refused } = result;
    process.stderr.write(
      `one repository: ${accepted.length} of 20 publishes accepted, ${refused.length} refused (VERSION); peak server connections ${peak}\n`
    );
    assert.ok(accepted.length >= 1, 'no publish was accepted');
    assert.ok(
      refused.length >= 1,
      'no publish was refused: the publishers did not race, so this proves nothing'
    );
    assert.ok(
      peak <= 2 * POOL_SIZE,
      `the instances held ${peak} connections, more than storage.pool_size ${POOL_SIZE} each`
    );

    // Exactly the accepted targets, as a client that knows nothing sees them through either instance.
    const listedBy = async (sut: ServerUnderTest) =>
      names(await cleanup.add(await NotaryClient.create({ server: sut })).list(gun));
    const expectWritten = async (count: number) => {
      // One new targets, snapshot and timestamp version per accepted publish; refused ones left nothing.
      const files = (await auditDatabase()).get(gun)!;
      for (const role of ['targets', 'snapshot', 'timestamp']) {
        const versions = files
          .filter((r) => r.role === role && r.version > initial.get(role)!)
          .map((r) => r.version);
        assert.deepEqual(
          versions,
          Array.from({ length: count }, (_, i) => initial.get(role)! + 1 + i),
          `${role} versions written by the publishers`
        );
      }
      assert.equal((await assertSameCurrentState(gun)).targets, initial.get('targets')! + count);
    };
    for (const sut of [a.sut, b.sut])
      assert.deepEqual(await listedBy(sut), [...accepted].sort(), `listed through ${sut.url}`);
    await expectWritten(accepted.length);

    // The refused publishers try again (their change is still staged), racing each other, until
    // every one got through: no update is lost however often a publisher is refused.
    const waves = [`${accepted.length}/20`];
    for (let left = entries.filter((e) => refused.includes(`t${e.i}`)); left.length > 0;) {
      assert.ok(
        waves.length < 40,
        `publishers still refused after ${waves.length} waves: ${waves.join(' ')}`
      );
      const wave = await storm(left, true);
      waves.push(`${wave.accepted.length}/${left.length}`);
      accepted.push(...wave.accepted);
      left = left.filter((e) => wave.refused.includes(`t${e.i}`));
    }
    process.stderr.write(
      `one repository, refused publishers retrying together: accepted per wave ${waves.join(' ')}\n`
    );
    const everyTarget = Array.from({ length: 20 }, (_, i) => `t${i}`).sort();
    assert.deepEqual([...accepted].sort(), everyTarget);
    for (const sut of [a.sut, b.sut])
      assert.deepEqual(await listedBy(sut), everyTarget, `listed through ${sut.url}`);
    await expectWritten(20);
  });

  it('accepts all of 20 notary CLI publishers on 20 repositories at once, split across both instances', async () => {
    const guns = Array.from({ length: 20 }, (_, i) => `example.com/multi/many-${i}`);
    const clients = await all(20, async (i) =>
      cleanup.add(await NotaryClient.create({ server: i % 2 === 0 ? a.sut : b.sut }))
    );
    // Each publisher creates its repository and publishes to it, all at once.
    const { result, peak } = await peakConnections(
      all(20, async (i) => {
        await clients[i]!.init(guns[i]!, { publish: true });
        return storm([{ client: clients[i]!, gun: guns[i]!, i: 0 }]);
      })
    );
    const accepted = result.reduce((n, r) => n + r.accepted.length, 0);
    process.stderr.write(
      `twenty repositories: ${accepted} of 20 publishes accepted; peak server connections ${peak}\n`
    );
    assert.equal(accepted, 20);
    assert.ok(
      peak <= 2 * POOL_SIZE,
      `the instances held ${peak} connections, more than storage.pool_size ${POOL_SIZE} each`
    );
    await auditDatabase();
    await all(20, async (i) => {
      // Read through the other instance than the one that published.
      const fresh = cleanup.add(await NotaryClient.create({ server: i % 2 === 0 ? b.sut : a.sut }));
      assert.deepEqual(names(await fresh.list(guns[i]!)), ['t0'], guns[i]);
      await assertSameCurrentState(guns[i]!);
    });
  });

  it('never serves an older timestamp on one instance right after the other answered a publish', async () => {
    const gun = 'example.com/multi/read-after-write';
    const repo = await RawPublisher.create(gun, a.sut);
    const rounds = 40;
    const readsPerRound = 10;
    let stale = 0;
    const failures: string[] = [];
    for (let round = 1; round <= rounds; round++) {
      const [writer, reader] = round % 2 === 0 ? [b.sut, a.sut] : [a.sut, b.sut];
      // The reader has the current timestamp in its cache (a second GET is a cache hit).
      const before = await getVersion(reader, gun, 'timestamp');
      assert.equal(await getVersion(reader, gun, 'timestamp'), before);
      await repo.publish(writer);
      // Read on the other instance the moment the writer's answer arrived, many times.
      const seen: number[] = [];
      for (let i = 0; i < readsPerRound; i++) seen.push(await getVersion(reader, gun, 'timestamp'));
      const produced = await getVersion(writer, gun, 'timestamp');
      assert.equal(produced, before + 1, 'someone else wrote to this repository');
      const old = seen.filter((v) => v < produced);
      if (old.length > 0) {
        stale += old.length;
        failures.push(
          `round ${round}: publish on ${writer.url} produced v${produced}, then ${reader.url} served ${seen.join(',')}`
        );
      }
    }
    process.stderr.write(
      `read after write: ${rounds} publishes, ${rounds * readsPerRound} reads on the other instance, ${stale} older than the publish\n`
    );
    assert.deepEqual(
      failures,
      [],
      'a read right after another instance answered a publish returned an older timestamp'
    );
  });
});

describe('the consistency window of the PostgreSQL storage (what the read-after-write guarantee rests on)', () => {
  const WINDOW = 100;
  const opened: Storage[] = [];
  after(() => Promise.all(opened.map((s) => s.close())));
  const open = async (
    url: string,
    options: Parameters<typeof openPostgres>[1]
  ): Promise<Storage> => {
    const s = await openPostgres(url, options);
    opened.push(s);
    return s;
  };
  const timestampFile = (version: number) => {
    const data = Buffer.from(`{"signed":{"version":${version}}}`);
    return { role: 'timestamp', version, data, sha256: sha256Hex(data) };
  };

  it('makes a write return only once an instance that hears no notifications has stopped trusting what it read before', async () => {
    const url = await cluster.createDatabase();
    const writer = await open(url, { consistencyWindowMs: WINDOW });
    // Deaf: without the window it would notice a commit only by its fallback check, a minute later.
    const deaf = await open(url, {
      consistencyWindowMs: WINDOW,
      listen: false,
      pollIntervalMs: 60_000,
    });
    for (let v = 1; v <= 10; v++) {
      const before = deaf.generation();
      const start = performance.now();
      await writer.meta.updateMany('example.com/window', [timestampFile(v)], new Date());
      const took = performance.now() - start;
      assert.ok(
        took >= WINDOW,
        `the write returned after ${took.toFixed(1)} ms, inside the ${WINDOW} ms window`
      );
      assert.notEqual(
        deaf.generation(),
        before,
        `write ${v}: the deaf instance would still serve what it cached`
      );
      assert.equal((await deaf.meta.getLatest('example.com/window', 'timestamp'))?.version, v);
    }
  });

  it('lets a lone instance write without waiting, and waits again as soon as a second one connects', async () => {
    const url = await cluster.createDatabase();
    const window = 2_000; // far above a write's own time, so the two cases cannot be confused
    const lone = await open(url, { consistencyWindowMs: window });
    const timed = async (v: number) => {
      const start = performance.now();
      await lone.meta.updateMany('example.com/lone', [timestampFile(v)], new Date());
      return performance.now() - start;
    };
    const alone = await timed(1);
    assert.ok(alone < window / 2, `a lone write took ${alone.toFixed(1)} ms`);
    const other = await open(url, { consistencyWindowMs: window });
    const cached = other.generation();
    const together = await timed(2);
    assert.ok(together >= window, `with a second instance, a write took ${together.toFixed(1)} ms`);
    assert.notEqual(other.generation(), cached);
    assert.equal((await other.meta.getLatest('example.com/lone', 'timestamp'))?.version, 2);
    // The second instance gone, writes are quick again.
    opened.splice(opened.indexOf(other), 1);
    await other.close();
    const after = await timed(3);
    assert.ok(after < window / 2, `after the other closed, a write took ${after.toFixed(1)} ms`);
  });

  it('keeps the generation (and so the cache) while nothing is written, and gives it up when the check is held up', async () => {
    const url = await cluster.createDatabase();
    // A wider window than the server's, so a busy test machine cannot hold the check up by chance.
    const window = 400;
    const s = await open(url, { consistencyWindowMs: window });
    const g0 = s.generation();
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 5));
      assert.equal(s.generation(), g0, `changed after ${(i + 1) * 5} ms with nothing written`);
    }
    // A stalled event loop (a long GC pause, say) holds up the check: memory is no longer trusted.
    const stall = performance.now();
    while (performance.now() - stall < window + 20);
    assert.notEqual(s.generation(), g0);
    // ... and is again once the check has run.
    const start = performance.now();
    for (;;) {
      await new Promise((r) => setTimeout(r, 1));
      if (s.generation() === s.generation()) break;
      assert.ok(performance.now() - start < 1_000, 'the generation did not settle after the stall');
    }
  });

  it('adds nothing to transactions that only read', async () => {
    const url = await cluster.createDatabase();
    const s = await open(url, { consistencyWindowMs: 2_000 });
    const start = performance.now();
    await s.transaction(async (tx) => tx.meta.getLatest('example.com/none', 'timestamp'), {
      lockGun: 'example.com/none',
    });
    assert.ok(performance.now() - start < 1_000);
  });
});

describe('two Countersign instances on one PostgreSQL database, over TLS with one certificate', () => {
  it('publishes through one and serves through the other, the notary CLI trusting one CA for both', async () => {
    const tlsDir = cleanup.tempDir('countersign-multi-tls-');
    const tls = await makeServerTls(tlsDir);
    const url = await cluster.createDatabase();
    const [one, two] = await Promise.all([instance(url, { tls }), instance(url, { tls })]);
    const [sutOne, sutTwo] = [one.sut, two.sut];
    assert.match(sutOne.url, /^https:/);
    assert.equal(
      sutTwo.caFile && readFileSync(sutTwo.caFile, 'utf8'),
      readFileSync(tls.caFile, 'utf8')
    );
    const gun = 'example.com/multi/tls';
    const alice = cleanup.add(await NotaryClient.create({ server: sutOne }));
    await alice.init(gun, { publish: true });
    await alice.add(gun, 'v1', payload(alice, 'over TLS\n'), { publish: true });
    const bob = cleanup.add(await NotaryClient.create({ server: sutTwo }));
    assert.deepEqual(names(await bob.list(gun)), ['v1']);
  });
});

describe('two Countersign instances on one PostgreSQL database, with the built-in token service', () => {
  it("accepts one instance's tokens on the other when both name the same service", async () => {
    const url = await cluster.createDatabase();
    const countersign = { auth: { builtin: true, service: 'notary.multi.test' } };
    // The account goes into the shared database, as operators add it: with the instances' config.
    const dir = cleanup.tempDir('countersign-multi-auth-');
    const configFile = join(dir, 'config.json');
    writeFileSync(
      configFile,
      JSON.stringify({ storage: { backend: 'postgres', db_url: url }, countersign })
    );
    const added = await run(
      process.execPath,
      [
        join(repoRoot, 'bin/countersign.js'),
        'user',
        'add',
        'ops',
        '--role',
        'admin',
        '--password-stdin',
        '--config',
        configFile,
        '--data-dir',
        join(dir, 'data'),
      ],
      {
        input: 'ops-secret-passphrase',
        env: { ...process.env, COUNTERSIGN_KEY_PASSPHRASE: PASSPHRASE },
      }
    );
    assert.equal(added.code, 0, added.stdout + added.stderr);
    const [one, two] = await Promise.all([
      instance(url, { countersign }),
      instance(url, { countersign }),
    ]);

    const gun = 'example.com/multi/auth';
    const alice = cleanup.add(
      await NotaryClient.create({
        server: one.sut,
        auth: { username: 'ops', password: 'ops-secret-passphrase' },
      })
    );
    await alice.init(gun, { publish: true });
    await alice.add(gun, 'v1', payload(alice, 'with tokens\n'), { publish: true });

    // Behind a load balancer the token may come from one instance and the request go to the other.
    const token = async (from: ServerUnderTest) => {
      const r = await fetch(
        `${from.url}/auth/token?service=notary.multi.test&scope=repository:${gun}:pull`,
        {
          headers: {
            Authorization: `Basic ${Buffer.from('ops:ops-secret-passphrase').toString('base64')}`,
          },
        }
      );
      assert.equal(r.status, 200);
      return ((await r.json()) as { token: string }).token;
    };
    for (const [issuer, server] of [
      [one.sut, two.sut],
      [two.sut, one.sut],
    ] as const) {
      const path = `${server.url}${tufPath(gun, 'timestamp.json')}`;
      assert.equal((await fetch(path)).status, 401, 'no token');
      const r = await fetch(path, { headers: { Authorization: `Bearer ${await token(issuer)}` } });
      assert.equal(r.status, 200, `a token from ${issuer.url} on ${server.url}`);
    }
    const bob = cleanup.add(
      await NotaryClient.create({
        server: two.sut,
        auth: { username: 'ops', password: 'ops-secret-passphrase' },
      })
    );
    assert.deepEqual(names(await bob.list(gun)), ['v1']);
  });
});

/** GET …/ROLE.json through a kept-alive connection; the signed version. */
async function getVersion(sut: ServerUnderTest, gun: string, role: string): Promise<number> {
  const body = await new Promise<Buffer>((resolve, reject) => {
    const req = request(
      `${sut.url}${tufPath(gun, `${role}.json`)}`,
      { agent: keepAlive },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(Buffer.concat(chunks))
            : reject(new Error(`GET ${role}.json: ${res.statusCode}`))
        );
        res.on('error', reject);
      }
    );
    req.on('error', reject);
    req.end();
  });
  return parse(body).signed.version;
}
const keepAlive = new Agent({ keepAlive: true, maxSockets: 4 });
after(() => keepAlive.destroy());

/**
 * A repository published with raw HTTP POSTs (root and targets keys held here, snapshot and
 * timestamp keys by the server), so a publish's answer arrives with no client program around it.
 */
class RawPublisher {
  private version = 1;
  private constructor(
    readonly gun: string,
    private readonly targetsKey: TestKey
  ) {}

  static async create(gun: string, sut: ServerUnderTest): Promise<RawPublisher> {
    const serverKey = async (role: string) =>
      PublicKey.fromJSON(
        JSON.parse((await getOk(sut, tufPath(gun, `${role}.key`))).toString()),
        role
      );
    const [snapshotKey, timestampKey] = [await serverKey('snapshot'), await serverKey('timestamp')];
    const rootKey = await x509Key(gun);
    const targetsKey = plainKey('ecdsa');
    const root = sign(
      rootSigned({
        root: [rootKey],
        targets: [targetsKey],
        snapshot: [{ keyid: snapshotKey.id, key: snapshotKey }],
        timestamp: [{ keyid: timestampKey.id, key: timestampKey }],
      }),
      [rootKey]
    );
    const repo = new RawPublisher(gun, targetsKey);
    await repo.post(sut, { root, targets: repo.targets() });
    return repo;
  }

  /** A new targets version; resolves when the server answered 200. */
  async publish(sut: ServerUnderTest): Promise<void> {
    this.version++;
    await this.post(sut, { targets: this.targets() });
  }

  private targets(): Buffer {
    return sign(targetsSigned({ targets: [{ name: `v${this.version}` }], version: this.version }), [
      this.targetsKey,
    ]);
  }

  private async post(sut: ServerUnderTest, parts: Record<string, Buffer>): Promise<void> {
    const { body, contentType } = multipart(parts);
    const r = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        `${sut.url}${tufPath(this.gun, '')}`,
        {
          method: 'POST',
          agent: keepAlive,
          headers: { 'Content-Type': contentType, 'Content-Length': body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() })
          );
          res.on('error', reject);
        }
      );
      req.on('error', reject);
      req.end(body);
    });
    if (r.status !== 200) throw new Error(`POST to ${sut.url}: ${r.status} ${r.text}`);
  }
}
