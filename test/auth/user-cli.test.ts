/**
 * `countersign user add|list|remove` as operators run it (bin/countersign.js, password on stdin),
 * against the database `serve` uses; the stored hash must verify the password given.
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
      's3cret pass\n'
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
    assert.equal(await verifyPassword('s3cret pass', a.passwordHash), true);
    assert.equal(await verifyPassword('s3cret pass\n', a.passwordHash), false);
  });

  it('add again updates role, namespaces and password', async () => {
    const r = await cli(
      ['add', 'acme', '--role', 'admin', '--password-stdin', '--data-dir', dataDir],
      'new pass'
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'updated account acme: admin\n');
    const a = await stored('acme');
    assert.equal(a?.role, 'admin');
    assert.deepEqual(a?.namespaces, []);
    assert.equal(await verifyPassword('new pass', a.passwordHash), true);
    assert.equal(await verifyPassword('s3cret pass', a.passwordHash), false);
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
      'pw'
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
});
