/**
 * `check` and `verify` with credentials (issue 16) against a Countersign store whose staging
 * repositories anonymous pull cannot read: the publisher's repository, signed with the real
 * notary CLI, is refused (4) without credentials, read through the Docker token flow with
 * NOTARY_AUTH (as the notary CLI takes it) or `--user` + COUNTERSIGN_PASSWORD, and a wrong
 * password is refused (4) naming the account, never printing the password.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import {
  countersignCli,
  startCountersign,
  type StartedCountersign,
} from '../helpers/countersign.js';
import { NotaryClient } from '../helpers/notary-cli.js';

const ZONES = [{ staging: 'staging.store.test/', public: 'store.test/' }];
const ACME = { username: 'acme', password: 'acme publisher password' };
const GUN = 'staging.store.test/acme/web';
const notaryAuth = (user: string, password: string) =>
  Buffer.from(`${user}:${password}`).toString('base64');

describe('check and verify with credentials against a staging repository', () => {
  const cleanup = new Cleanup();
  let server: StartedCountersign;
  let serverArgs: string[];

  before(async () => {
    const base = cleanup.tempDir('client-credentials-');
    const dataDir = join(base, 'data');
    const add = await countersignCli(
      [
        'user',
        'add',
        ACME.username,
        '--role',
        'publisher',
        '--namespace',
        'staging.store.test/acme/',
        '--password-stdin',
        '--data-dir',
        dataDir,
      ],
      {},
      `${ACME.password}\n`
    );
    assert.equal(add.code, 0, add.stderr);
    server = cleanup.add(
      await startCountersign({
        tls: false,
        dataDir,
        config: { countersign: { store: { zones: ZONES } } },
      })
    );
    serverArgs = ['--server', server.sut.url];
    const acme = cleanup.add(await NotaryClient.create({ server: server.sut, auth: ACME }));
    const file = join(base, 'v1.bin');
    writeFileSync(file, randomBytes(77));
    await acme.init(GUN);
    await acme.add(GUN, 'v1', file);
    await acme.publish(GUN);
  });
  after(() => cleanup.run());

  it('anonymous reads are refused with 4 and a hint', async () => {
    const r = await countersignCli(['check', ...serverArgs, '--gun', GUN]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(
      r.stderr,
      /not authorized to read .*\(401; give credentials with NOTARY_AUTH or --user\)/
    );
  });

  it('NOTARY_AUTH reads it through the token flow', async () => {
    const env = { NOTARY_AUTH: notaryAuth(ACME.username, ACME.password) };
    const r = await countersignCli(['check', ...serverArgs, '--gun', GUN], env);
    assert.equal(r.code, 0, r.stderr);
    const v = await countersignCli(['verify', ...serverArgs, `${GUN}:v1`], env);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /^sha256:[0-9a-f]{64} 77\n$/);
  });

  it('--user with COUNTERSIGN_PASSWORD reads it; a wrong password is refused with 4', async () => {
    const r = await countersignCli(
      ['check', ...serverArgs, '--gun', GUN, '--user', ACME.username],
      {
        COUNTERSIGN_PASSWORD: ACME.password,
      }
    );
    assert.equal(r.code, 0, r.stderr);
    const wrong = await countersignCli(['verify', ...serverArgs, '--user', 'acme', `${GUN}:v1`], {
      COUNTERSIGN_PASSWORD: 'not the password',
    });
    assert.equal(wrong.code, 4);
    assert.match(wrong.stderr, /token service .* refused the credentials of "acme" \(401\)/);
    assert.doesNotMatch(wrong.stderr + wrong.stdout, /not the password/);
  });

  it('refuses --user without COUNTERSIGN_PASSWORD and a NOTARY_AUTH that is not user:password', async () => {
    const r = await countersignCli(['check', ...serverArgs, '--gun', GUN, '--user', 'acme']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--user needs the password in COUNTERSIGN_PASSWORD/);
    const bad = await countersignCli(['check', ...serverArgs, '--gun', GUN], {
      NOTARY_AUTH: Buffer.from('no-colon-secret').toString('base64'),
    });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /NOTARY_AUTH must be the base64 of user:password/);
    assert.doesNotMatch(bad.stderr, /no-colon-secret/);
  });
});
