/**
 * Twenty real notary CLI publishers at once, on one GUN (every one races for the next version)
 * and on twenty GUNs, against `serve --workers 2` on SQLite and against two instances sharing
 * PostgreSQL. A publisher that loses the race gets notary's answer for it (400 VERSION, "a newer
 * version of metadata is already available") and runs `notary publish` again, as a person would;
 * its staged change is still in its changelist. Afterwards: every target is there, the
 * changefeed holds each version once and none skipped, and no request got a 5xx.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import { startCountersign, type StartedCountersign } from '../helpers/countersign.js';
import { NotaryClient } from '../helpers/notary-cli.js';
import { changefeed } from '../helpers/notary-http.js';
import { startPostgres } from '../helpers/postgres.js';

const PUBLISHERS = 20;
const MAX_ATTEMPTS = 40;

interface Deployment {
  readonly name: string;
  /** Publishers are spread over these (one URL with --workers, two instances on PostgreSQL). */
  servers: StartedCountersign[];
}

/** `notary publish` until it succeeds; returns the attempts it took. */
async function publishUntilAccepted(client: NotaryClient, gun: string): Promise<number> {
  let last = '';
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const r = await client.publish(gun, { check: false });
    if (r.code === 0) return attempt;
    last = `${r.stdout}\n${r.stderr}`;
    // Only losing the race is expected. The notary CLI prints any 400 (here VERSION: another
    // publisher took the version) as "trust server rejected operation"; an upload that is
    // refused for another reason would be refused every time and run out of attempts below.
    if (!/trust server rejected operation/.test(last)) {
      throw new Error(`notary publish failed for another reason: ${last.slice(0, 500)}`);
    }
  }
  throw new Error(`notary publish still refused after ${MAX_ATTEMPTS} attempts: ${last}`);
}

/** Lines the servers logged at error level: a 5xx answer is always logged there. */
function serverErrors(d: Deployment): string[] {
  return d.servers.flatMap((s) =>
    s.service
      .output()
      .split('\n')
      .filter((l) => l.includes('"level":"error"') || l.includes('"level":50'))
  );
}

function describeDeployment(name: string, start: (cleanup: Cleanup) => Promise<Deployment>) {
  describe(`${PUBLISHERS} concurrent notary CLI publishers: ${name}`, () => {
    const cleanup = new Cleanup();
    let d: Deployment;
    let payloadDir: string;
    const payload = (name: string) => {
      const p = join(payloadDir, name);
      writeFileSync(p, randomBytes(64));
      return p;
    };
    before(async () => {
      d = await start(cleanup);
      payloadDir = cleanup.tempDir('concurrency-payload-');
    });
    after(() => cleanup.run());

    it('on one GUN: every target lands, each version once and none skipped, no 5xx', async () => {
      const gun = `example.com/concurrency/one`;
      const owner = cleanup.add(await NotaryClient.create({ server: d.servers[0]!.sut }));
      await owner.init(gun, { publish: true });
      await owner.keyRotate(gun, 'snapshot', { serverManaged: true });
      const clients = await Promise.all(
        Array.from({ length: PUBLISHERS }, async (_, i) =>
          cleanup.add(await owner.cloneTrustDir({ server: d.servers[i % d.servers.length]!.sut }))
        )
      );
      await Promise.all(clients.map((c, i) => c.add(gun, `t${i}`, payload(`one-${i}`))));
      const attempts = await Promise.all(clients.map((c) => publishUntilAccepted(c, gun)));
      // With twenty racing, most lose at least once; otherwise the test raced nothing.
      assert.ok(
        attempts.some((a) => a > 1),
        `attempts: ${attempts.join(',')}`
      );

      for (const s of d.servers) {
        const fresh = cleanup.add(await NotaryClient.create({ server: s.sut }));
        const names = (await fresh.list(gun)).map((t) => t.name).sort();
        assert.deepEqual(names, Array.from({ length: PUBLISHERS }, (_, i) => `t${i}`).sort());
        const versions = (await changefeed(s.sut, 'records=1000', gun)).records.map(
          (r) => r.Version
        );
        assert.deepEqual(
          versions,
          versions.map((_, i) => i + 1),
          `changefeed versions via ${s.sut.url}`
        );
      }
      assert.deepEqual(serverErrors(d), []);
    });

    it(`on ${PUBLISHERS} GUNs: every repository is created and lists its target, no 5xx`, async () => {
      const guns = Array.from(
        { length: PUBLISHERS },
        (_, i) => `example.com/concurrency/many-${i}`
      );
      const clients = await Promise.all(
        guns.map(async (_, i) =>
          cleanup.add(await NotaryClient.create({ server: d.servers[i % d.servers.length]!.sut }))
        )
      );
      await Promise.all(guns.map((g, i) => clients[i]!.init(g, { publish: true })));
      await Promise.all(
        guns.map((g, i) => clients[i]!.add(g, 'tag', payload(`many-${i}`), { publish: true }))
      );
      const checker = d.servers[d.servers.length - 1]!;
      for (const gun of guns) {
        const fresh = cleanup.add(await NotaryClient.create({ server: checker.sut }));
        assert.deepEqual(
          (await fresh.list(gun)).map((t) => t.name),
          ['tag']
        );
      }
      assert.deepEqual(serverErrors(d), []);
    });
  });
}

describeDeployment('SQLite, serve --workers 2', async (cleanup) => ({
  name: 'workers',
  servers: [cleanup.add(await startCountersign({ tls: false, extraArgs: ['--workers', '2'] }))],
}));

describeDeployment('two instances on one PostgreSQL database', async (cleanup) => {
  const cluster = await startPostgres();
  cleanup.add({ stop: () => cluster.stop() });
  const config = { storage: { backend: 'postgres', db_url: await cluster.createDatabase() } };
  const env = { COUNTERSIGN_KEY_PASSPHRASE: 'concurrency on postgres' };
  const a = cleanup.add(await startCountersign({ config, env, tls: false }));
  const b = cleanup.add(await startCountersign({ config, env, tls: false }));
  return { name: 'postgres', servers: [a, b] };
});
