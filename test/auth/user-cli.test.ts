/**
 * `countersign user add|list|remove|unlock` as operators run it (bin/countersign.js, password on
 * stdin or typed at a terminal that `script` provides), against the database `serve` uses; the
 * stored hash must verify the password given.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyPassword } from '../../src/auth/passwords.js';
import { openSqlite } from '../../src/storage/sqlite.js';
import { repoRoot } from '../helpers/paths.js';
import { run } from '../helpers/proc.js';
import { spawn } from 'node:child_process';

const dir = mkdtempSync(join(tmpdir(), 'countersign-user-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const dataDir = join(dir, 'data');

const cli = (args: string[], input = '') =>
  run(process.execPath, [join(repoRoot, 'bin/countersign.js'), 'user', ...args], {
    input,
    env: { PATH: process.env.PATH },
    timeoutMs: 30_000,
  });

async function stored(name: string) {
  const s = openSqlite(join(dataDir, 'countersign.db'));
  try {
    return await s.accounts.get(name);
  } finally {
    await s.close();
  }
}

describe('countersign user', () => {
  it('add creates an account whose scrypt hash verifies the password from stdin', async () => {
    const r = await cli(
      [
        'add',
        'acme',
        '--role',
        'publisher',
        '--namespace',
        'staging.store.test/acme/',
        '--namespace',
        'staging.store.test/acme-labs/',
        '--password-stdin',
        '--data-dir',
        dataDir,
      ],
      's3cret passphrase\n'
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      'created account acme: publisher (staging.store.test/acme/, staging.store.test/acme-labs/)\n'
    );
    const a = await stored('acme');
    assert.equal(a?.role, 'publisher');
    assert.deepEqual(a?.namespaces, ['staging.store.test/acme/', 'staging.store.test/acme-labs/']);
    assert.match(a.passwordHash, /^scrypt\$32768\$8\$1\$/);
    assert.ok(!a.passwordHash.includes('s3cret'));
    // One trailing newline is dropped (echo PASSWORD | …), nothing else.
    assert.equal(await verifyPassword('s3cret passphrase', a.passwordHash), true);
    assert.equal(await verifyPassword('s3cret passphrase\n', a.passwordHash), false);
  });

  it('add again updates role, namespaces and password', async () => {
    const r = await cli(
      ['add', 'acme', '--role', 'admin', '--password-stdin', '--data-dir', dataDir],
      'new passphrase 2'
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'updated account acme: admin\n');
    const a = await stored('acme');
    assert.equal(a?.role, 'admin');
    assert.deepEqual(a?.namespaces, []);
    assert.equal(await verifyPassword('new passphrase 2', a.passwordHash), true);
    assert.equal(await verifyPassword('s3cret passphrase', a.passwordHash), false);
  });

  it('reads the database from --config (storage.db_url) as serve does, and warns about public namespaces', async () => {
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        storage: { backend: 'sqlite', db_url: 'data/countersign.db' },
        countersign: {
          store: { zones: [{ staging: 'staging.store.test/', public: 'store.test/' }] },
        },
      })
    );
    const r = await cli(
      [
        'add',
        'pub',
        '--role',
        'publisher',
        '--namespace',
        'store.test/pub/',
        '--password-stdin',
        '--config',
        config,
      ],
      'publisher passphrase'
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: store\.test\/pub\/ lies in a public zone/);
    assert.equal((await stored('pub'))?.role, 'publisher');
  });

  it('list shows accounts without secrets, as a table or JSON', async () => {
    const r = await cli(['list', '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      'NAME  ROLE       NAMESPACES\nacme  admin\npub   publisher  store.test/pub/\n'
    );
    const j = await cli(['list', '--json', '--data-dir', dataDir]);
    const parsed = JSON.parse(j.stdout) as Record<string, unknown>[];
    assert.deepEqual(
      parsed.map((a) => [a.name, a.role, a.namespaces]),
      [
        ['acme', 'admin', []],
        ['pub', 'publisher', ['store.test/pub/']],
      ]
    );
    assert.ok(!j.stdout.includes('scrypt'));
  });

  it('remove deletes an account; removing it again fails', async () => {
    assert.equal(
      (await cli(['remove', 'pub', '--data-dir', dataDir])).stdout,
      'removed account pub\n'
    );
    assert.equal(await stored('pub'), null);
    const again = await cli(['remove', 'pub', '--data-dir', dataDir]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no account pub/);
  });

  it('refuses bad input with usage errors (exit 2) and stores nothing', async () => {
    const cases: [string[], string, RegExp][] = [
      [
        ['add', 'x', '--role', 'publisher', '--password-stdin'],
        'pw',
        /needs at least one --namespace/,
      ],
      [
        ['add', 'x', '--role', 'reviewer', '--namespace', 'a/', '--password-stdin'],
        'pw',
        /publishers only/,
      ],
      [
        ['add', 'x', '--role', 'owner', '--password-stdin'],
        'pw',
        /--role must be one of publisher, reviewer, admin/,
      ],
      [['add', 'x', '--role', 'admin'], 'pw', /--password-stdin/],
      [
        ['add', 'x', '--role', 'admin', '--password-stdin'],
        '',
        /password on standard input is empty/,
      ],
      [['add', 'x', '--role', 'admin', '--password-stdin'], '\n', /empty/],
      [['add', 'a:b', '--role', 'admin', '--password-stdin'], 'pw', /invalid account name/],
      [
        [
          'add',
          'x',
          '--role',
          'publisher',
          '--namespace',
          'staging.store.test/x',
          '--password-stdin',
        ],
        'pw',
        /must end in \//,
      ],
      [['add', '--role', 'admin', '--password-stdin'], 'pw', /exactly one account NAME/],
      [['frobnicate'], '', /unknown user command/],
    ];
    for (const [args, input, message] of cases) {
      const r = await cli([...args, '--data-dir', dataDir], input);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.equal(await stored('x'), null);
  });

  it('refuses a password shorter than the minimum and leaves the account as it was', async () => {
    const before = await stored('acme');
    const r = await cli(
      ['add', 'acme', '--role', 'admin', '--password-stdin', '--data-dir', dataDir],
      'elevenchars\n'
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /11 characters; at least 12 are required/);
    assert.deepEqual(await stored('acme'), before);
    // Counted in characters: twelve two-byte characters are enough.
    const wide = await cli(
      ['add', 'wide', '--role', 'admin', '--password-stdin', '--data-dir', dataDir],
      'éééééééééééé'
    );
    assert.equal(wide.code, 0, wide.stderr);
    assert.equal(await verifyPassword('éééééééééééé', (await stored('wide'))!.passwordHash), true);
  });

  it('takes the minimum from countersign.auth.minPasswordLength and refuses one below 8', async () => {
    const config = join(dir, 'min.json');
    const write = (min: number) =>
      writeFileSync(
        config,
        JSON.stringify({
          storage: { backend: 'sqlite', db_url: 'data/countersign.db' },
          countersign: { auth: { minPasswordLength: min } },
        })
      );
    write(20);
    const add = (password: string) =>
      cli(['add', 'long', '--role', 'admin', '--password-stdin', '--config', config], password);
    const short = await add('nineteen characters');
    assert.equal(short.code, 2);
    assert.match(short.stderr, /19 characters; at least 20 are required/);
    assert.equal((await add('twenty characters!!!')).code, 0);
    write(6);
    const weak = await add('twenty characters!!!');
    assert.notEqual(weak.code, 0);
    assert.match(weak.stderr, /minPasswordLength must be an integer from 8 to 1024/);
  });

  /** `user add` on a terminal (util-linux `script` gives it one), typing once the prompt shows. */
  async function typed(name: string, answers: string[]): Promise<{ code: number; out: string }> {
    const command = [process.execPath, join(repoRoot, 'bin/countersign.js'), 'user', 'add', name]
      .concat(['--role', 'admin', '--data-dir', dataDir])
      .map((a) => `'${a}'`)
      .join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, TERM: 'dumb' },
    });
    let out = '';
    const prompts = ['New password for', 'Repeat the password'];
    const exited = new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      // Answer each prompt once it is on the screen: the terminal is in raw mode by then.
      while (prompts.length > 0 && out.includes(prompts[0]!)) {
        prompts.shift();
        child.stdin.write(`${answers.shift() ?? ''}\r`);
      }
    });
    const timer = setTimeout(() => child.kill(), 30_000);
    const code = await exited;
    clearTimeout(timer);
    return { code, out };
  }

  it('asks twice on a terminal without echoing, and refuses answers that differ', async () => {
    const ok = await typed('typed', ['typed passphrase 1', 'typed passphrase 1']);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /created account typed: admin/);
    assert.ok(!ok.out.includes('typed passphrase'), `the password was echoed: ${ok.out}`);
    assert.equal(
      await verifyPassword('typed passphrase 1', (await stored('typed'))!.passwordHash),
      true
    );
    const differ = await typed('typo', ['typed passphrase 1', 'typed passphrase 2']);
    assert.equal(differ.code, 2, differ.out);
    assert.match(differ.out, /the two passwords differ/);
    assert.equal(await stored('typo'), null);
  });

  it('unlock clears the login counters of an account or an address', async () => {
    const s = openSqlite(join(dataDir, 'countersign.db'));
    const limits = {
      perAccount: { maxAttempts: 100, windowMs: 60_000 },
      perAddress: { maxAttempts: 100, windowMs: 60_000 },
    };
    try {
      const now = new Date();
      for (const [account, address] of [
        ['acme', '192.0.2.1'],
        ['acme', '192.0.2.2'],
        ['someone', '192.0.2.3'],
      ] as const)
        assert.ok((await s.loginAttempts.reserve({ account, address, at: now }, limits)).ok);
    } finally {
      await s.close();
    }
    const r = await cli(['unlock', 'acme', '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'unlocked account acme: 2 recorded login attempts cleared\n');
    const byAddress = await cli(['unlock', '--address', '::ffff:192.0.2.3', '--data-dir', dataDir]);
    assert.equal(
      byAddress.stdout,
      'unlocked address 192.0.2.3: 1 recorded login attempts cleared\n'
    );
    const check = openSqlite(join(dataDir, 'countersign.db'));
    try {
      assert.equal(await check.loginAttempts.count({}), 0);
    } finally {
      await check.close();
    }
    const unknown = await cli(['unlock', 'nobody', '--data-dir', dataDir]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no account nobody/);
    const bad = await cli(['unlock', '--address', 'not-an-ip', '--data-dir', dataDir]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not an IPv4 or IPv6 address/);
  });
});
