/**
 * The store commands' habits (issue 16), as processes against a store on a local port: quorum
 * progress in approve and submission get, `audit list` with its filters, connection defaults from
 * COUNTERSIGN_SERVER / COUNTERSIGN_USER and a profile file (flag > env > profile), and waiting on
 * a slow server with a heartbeat instead of a fixed timeout.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Cleanup } from '../helpers/cleanup.js';
import { repoRoot } from '../helpers/paths.js';
import { run, type RunResult } from '../helpers/proc.js';
import { image, PASSWORD, StagingRepo, startStore, type StoreApp } from '../store/fixture.js';

const GUN = 'staging.store.test/acme/habits';
const OTHER = 'staging.store.test/acme/other';
/** Nothing listens here: a default that wins when it should not makes the command fail. */
const DEAD = 'http://127.0.0.1:9';

const cleanup = new Cleanup();
after(() => cleanup.run());

function countersign(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return run(process.execPath, [join(repoRoot, 'bin/countersign.js'), ...args], {
    env: { PATH: process.env.PATH, HOME: cleanup.tempDir('countersign-home-'), ...env },
    timeoutMs: 90_000,
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('store commands: quorum, audit list, defaults', () => {
  let s: StoreApp;
  let server: Server;
  let url: string;
  let id: string;

  before(async () => {
    s = await startStore({ approvals: 2, autoPublish: false });
    await (await StagingRepo.create(s.app.storage, GUN)).push({ releases: [image('1.0', 'q')] });
    await (await StagingRepo.create(s.app.storage, OTHER)).push({ releases: [image('1.0', 'o')] });
    server = createServer(s.app.handle);
    url = await listen(server);
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await s.close();
  });

  const as = (user: string, args: string[]) =>
    countersign([...args, '--server', url, '--user', user], { COUNTERSIGN_PASSWORD: PASSWORD });

  it('approve and submission get say how many approvals are still missing', async () => {
    const submitted = await as('acme', ['submit', `${GUN}:1.0`]);
    assert.equal(submitted.code, 0, submitted.stderr);
    id = /^submission (\S+) verified$/m.exec(submitted.stdout)?.[1] as string;
    assert.ok(id, submitted.stdout);
    assert.match(submitted.stdout, /^ {2}approvals 0\/2: waiting for two more reviewers$/m);
    const first = await as('rev1', ['approve', id]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^ {2}approvals 1\/2: waiting for one more reviewer$/m);
    const shown = await as('acme', ['submission', 'get', id]);
    assert.match(shown.stdout, /^ {2}approvals 1\/2: waiting for one more reviewer$/m);
    const json = await as('acme', ['submission', 'get', id, '--json']);
    assert.equal((JSON.parse(json.stdout) as { approvalsRequired: number }).approvalsRequired, 2);
    const second = await as('rev2', ['approve', id]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /^submission \S+ approved$/m);
    assert.match(second.stdout, /^ {2}approvals 2\/2: quorum reached$/m);
  });

  it('audit list prints the log, filtered by GUN and time; --json is one array', async () => {
    s.clock.advance(60_000);
    const other = await as('acme', ['submit', `${OTHER}:1.0`]);
    assert.equal(other.code, 0, other.stderr);
    const all = await as('admin', ['audit', 'list', '--json']);
    assert.equal(all.code, 0, all.stderr);
    const entries = JSON.parse(all.stdout) as { id: number; at: string; subject: string }[];
    assert.ok(entries.length >= 4, all.stdout);
    assert.deepEqual(
      entries.map((e) => e.id),
      [...entries.map((e) => e.id)].sort((a, b) => a - b)
    );
    const mine = await as('admin', ['audit', 'list', '--gun', GUN]);
    assert.equal(mine.code, 0, mine.stderr);
    assert.match(mine.stdout, /^ID\s+AT\s+ACTOR\s+ACTION\s+SUBJECT$/m);
    assert.match(mine.stdout, /\bsubmission\.created\b/);
    assert.match(mine.stdout, /\brev2\b/);
    assert.ok(!mine.stdout.includes(OTHER), mine.stdout);
    assert.ok(all.stdout.includes(OTHER));
    // --since the newest entry's time: the entries older than that are left out.
    const newest = entries.at(-1) as { at: string };
    const older = entries.filter((e) => e.at < newest.at).length;
    assert.ok(older > 0 && older < entries.length, 'the store clock moved between entries');
    const since = await as('admin', ['audit', 'list', '--since', newest.at, '--json']);
    assert.equal(since.code, 0, since.stderr);
    assert.equal((JSON.parse(since.stdout) as unknown[]).length, entries.length - older);
  });

  it('audit list refuses a bad --since, and a reviewer', async () => {
    const bad = await as('admin', ['audit', 'list', '--since', 'yesterday']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--since must be an RFC 3339 time .* not "yesterday"/);
    const reviewer = await as('rev1', ['audit', 'list']);
    assert.equal(reviewer.code, 1);
    assert.match(reviewer.stderr, /forbidden: /);
    const typo = await as('admin', ['audit', 'lst']);
    assert.equal(typo.code, 2);
    assert.match(
      typo.stderr,
      /unknown audit command "lst" \(verify or list\) \(did you mean "list"\?\)/
    );
  });

  it('takes --server and --user from COUNTERSIGN_SERVER and COUNTERSIGN_USER; a flag wins', async () => {
    const env = {
      COUNTERSIGN_PASSWORD: PASSWORD,
      COUNTERSIGN_SERVER: url,
      COUNTERSIGN_USER: 'rev1',
    };
    const fromEnv = await countersign(['submission', 'get', id], env);
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.match(fromEnv.stdout, new RegExp(`^submission ${id} approved$`, 'm'));
    const flagWins = await countersign(['submission', 'get', id, '--server', url], {
      ...env,
      COUNTERSIGN_SERVER: DEAD,
    });
    assert.equal(flagWins.code, 0, flagWins.stderr);
    const envUsed = await countersign(['submission', 'get', id], {
      ...env,
      COUNTERSIGN_SERVER: DEAD,
    });
    assert.equal(envUsed.code, 1);
    assert.match(envUsed.stderr, /cannot reach http:\/\/127\.0\.0\.1:9/);
  });

  it('reads a profile (named, or the default location); the environment beats it', async () => {
    const dir = cleanup.tempDir('countersign-profile-');
    const profile = join(dir, 'profile.json');
    writeFileSync(profile, JSON.stringify({ server: url, user: 'rev2' }));
    const base = { COUNTERSIGN_PASSWORD: PASSWORD };
    const named = await countersign(['submission', 'get', id, '--profile', profile], base);
    assert.equal(named.code, 0, named.stderr);
    const viaEnv = await countersign(['submission', 'get', id], {
      ...base,
      COUNTERSIGN_PROFILE: profile,
    });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    const xdg = cleanup.tempDir('countersign-xdg-');
    mkdirSync(join(xdg, 'countersign'));
    writeFileSync(
      join(xdg, 'countersign', 'profile.json'),
      JSON.stringify({ server: DEAD, user: 'rev2' })
    );
    const defaultFile = await countersign(['submission', 'get', id], {
      ...base,
      XDG_CONFIG_HOME: xdg,
    });
    assert.equal(defaultFile.code, 1, 'the default profile was read: its dead server was used');
    assert.match(defaultFile.stderr, /cannot reach http:\/\/127\.0\.0\.1:9/);
    const envBeats = await countersign(['submission', 'get', id], {
      ...base,
      XDG_CONFIG_HOME: xdg,
      COUNTERSIGN_SERVER: url,
    });
    assert.equal(envBeats.code, 0, envBeats.stderr);
  });

  it('refuses a profile with an unknown key or that is not JSON, naming the file', async () => {
    const dir = cleanup.tempDir('countersign-profile-');
    const typo = join(dir, 'typo.json');
    writeFileSync(typo, JSON.stringify({ sever: url }));
    const r1 = await countersign(['submission', 'get', id, '--profile', typo], {
      COUNTERSIGN_PASSWORD: PASSWORD,
    });
    assert.equal(r1.code, 2);
    assert.ok(
      r1.stderr.includes(`profile ${typo}: unknown key "sever" (did you mean "server"?)`),
      r1.stderr
    );
    const garbage = join(dir, 'garbage.json');
    writeFileSync(garbage, '{ server: ');
    const r2 = await countersign(['submission', 'get', id, '--server', url, '--user', 'rev1'], {
      COUNTERSIGN_PASSWORD: PASSWORD,
      COUNTERSIGN_PROFILE: garbage,
    });
    assert.equal(r2.code, 2);
    assert.ok(r2.stderr.includes(`profile ${garbage}: not JSON`), r2.stderr);
    const missing = await countersign([
      'submission',
      'get',
      id,
      '--profile',
      join(dir, 'none.json'),
    ]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read the profile .*none\.json/);
  });

  it('refuses a repeated --note, a mistyped flag and a missing value before asking the server', async () => {
    const env = {
      COUNTERSIGN_PASSWORD: PASSWORD,
      COUNTERSIGN_SERVER: DEAD,
      COUNTERSIGN_USER: 'rev1',
    };
    for (const [args, message] of [
      [
        ['approve', id, '--note', 'a', '--note', 'b'],
        /^countersign: --note was given twice; it takes one value$/m,
      ],
      [
        ['approve', id, '--nte', 'a'],
        /^countersign: unknown flag --nte \(did you mean --note\?\)$/m,
      ],
      [['audit', 'list', '--since'], /^countersign: --since needs a value$/m],
      [['submission', 'get', id, '--json=yes'], /^countersign: --json takes no value$/m],
    ] as const) {
      const r = await countersign([...args], env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /cannot reach/);
    }
  });

  it('check takes its server from COUNTERSIGN_SERVER too', async () => {
    const none = await countersign(['check', '--gun', GUN]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--server is required/);
    const fromEnv = await countersign(['check', '--gun', GUN], { COUNTERSIGN_SERVER: DEAD });
    assert.equal(fromEnv.code, 4, fromEnv.stderr + fromEnv.stdout);
    assert.match(fromEnv.stdout + fromEnv.stderr, /127\.0\.0\.1:9/);
  });
});

describe('a slow store answer', () => {
  let server: Server;
  let url: string;
  const view = {
    id: 'slowslowslowslowslow01',
    gun: GUN,
    publicGun: 'store.test/acme/habits',
    tag: '1.0',
    state: 'verified',
    submitter: 'acme',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    target: null,
    staging: null,
    verification: { checks: [], at: null },
    policy: { checks: [] },
    reviews: [],
    approvalsRequired: 1,
  };

  before(async () => {
    // A stand-in that answers /slow after 6 s and never answers /never.
    server = createServer((req, res) => {
      if (req.url?.includes('slow'))
        setTimeout(
          () => res.setHeader('Content-Type', 'application/json').end(JSON.stringify(view)),
          6000
        );
    });
    url = await listen(server);
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const env = () => ({
    COUNTERSIGN_PASSWORD: 'x',
    COUNTERSIGN_SERVER: url,
    COUNTERSIGN_USER: 'acme',
  });

  it('waits past any fixed limit, saying so on standard error', async () => {
    const r = await countersign(['submission', 'get', view.id], env());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^submission slowslowslowslowslow01 verified$/m);
    assert.match(
      r.stderr,
      /^countersign: still waiting for GET \/api\/v1\/submissions\/slowslowslowslowslow01 \(5 s\)$/m
    );
  });

  it('gives up after --timeout of silence, and refuses a bad --timeout', async () => {
    const r = await countersign(
      ['submission', 'get', 'neverneverneverneverne', '--timeout', '1s'],
      env()
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nothing from the server for 1000 ms \(--timeout\)/);
    const bad = await countersign(['submission', 'get', view.id, '--timeout', 'soon'], env());
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--timeout must be an integer and a unit/);
  });
});
