/**
 * Connection defaults (src/cli/profile.ts): flag > COUNTERSIGN_* (> DOCKER_CONTENT_TRUST_SERVER for
 * the trust commands) > profile, and the profile file's strict reading.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withDefaults } from '../../../src/cli/profile.js';
import type { Parsed } from '../../../src/cli/args.js';
import { isCountersignError } from '../../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'countersign-profile-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function profile(name: string, content: string): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

const parsed = (flags: Parsed['flags'] = {}): Parsed => ({ flags, positionals: ['x'] });
/** No profile at the default place: HOME points at an empty directory. */
const EMPTY_HOME = { HOME: mkdtempSync(join(tmpdir(), 'countersign-home-unit-')) };
after(() => rmSync(EMPTY_HOME.HOME, { recursive: true, force: true }));

describe('connection defaults', () => {
  const file = profile('p.json', JSON.stringify({ server: 'https://p', user: 'pu', ca: 'ca.pem' }));

  it('takes the flag, then the environment, then the profile, key by key', () => {
    const env = { ...EMPTY_HOME, COUNTERSIGN_PROFILE: file, COUNTERSIGN_USER: 'eu' };
    const p = withDefaults(parsed({ server: 'https://flag' }), env);
    assert.deepEqual(p.flags, { server: 'https://flag', user: 'eu', ca: join(dir, 'ca.pem') });
    assert.deepEqual(p.positionals, ['x']);
    const none = withDefaults(parsed(), EMPTY_HOME);
    assert.deepEqual(none.flags, {});
  });

  it('--profile beats COUNTERSIGN_PROFILE, and is not passed on as a flag', () => {
    const other = profile('other.json', JSON.stringify({ server: 'https://other' }));
    const p = withDefaults(parsed({ profile: other }), {
      ...EMPTY_HOME,
      COUNTERSIGN_PROFILE: file,
    });
    assert.deepEqual(p.flags, { server: 'https://other' });
  });

  it('the trust commands: DOCKER_CONTENT_TRUST_SERVER before the profile; NOTARY_AUTH keeps the user out', () => {
    const o = {
      moreEnv: { server: ['DOCKER_CONTENT_TRUST_SERVER'] },
      skipWhenSet: { user: 'NOTARY_AUTH' },
    } as const;
    const env = {
      ...EMPTY_HOME,
      COUNTERSIGN_PROFILE: file,
      DOCKER_CONTENT_TRUST_SERVER: 'https://dct',
    };
    assert.equal(withDefaults(parsed(), env, o).flags.server, 'https://dct');
    assert.equal(
      withDefaults(parsed(), { ...env, COUNTERSIGN_SERVER: 'https://cs' }, o).flags.server,
      'https://cs'
    );
    assert.equal(withDefaults(parsed(), env, o).flags.user, 'pu');
    assert.equal(withDefaults(parsed(), { ...env, NOTARY_AUTH: 'eDp5' }, o).flags.user, undefined);
  });

  it('reads the default profile under XDG_CONFIG_HOME when it exists', () => {
    const xdg = join(dir, 'xdg');
    assert.deepEqual(withDefaults(parsed(), { ...EMPTY_HOME, XDG_CONFIG_HOME: xdg }).flags, {});
    mkdirSync(join(xdg, 'countersign'), { recursive: true });
    writeFileSync(join(xdg, 'countersign', 'profile.json'), '{"user": "xdg"}');
    assert.deepEqual(withDefaults(parsed(), { ...EMPTY_HOME, XDG_CONFIG_HOME: xdg }).flags, {
      user: 'xdg',
    });
  });

  it('refuses a profile that is not an object of non-empty strings, or too big, naming the file', () => {
    for (const [content, message] of [
      ['[1]', /must be a JSON object/],
      ['{"server": ""}', /server must be a non-empty string/],
      ['{"user": 7}', /user must be a non-empty string/],
      ['{"password": "x"}', /unknown key "password" \(it takes server, user, ca\)/],
      [' '.repeat(64 * 1024 + 1), /larger than 65536 bytes/],
    ] as const) {
      const bad = profile('bad.json', content);
      assert.throws(
        () =>
          withDefaults(parsed({ server: 'https://flag', user: 'u', ca: 'c' }), {
            ...EMPTY_HOME,
            COUNTERSIGN_PROFILE: bad,
          }),
        (e: unknown) =>
          isCountersignError(e) &&
          e.code === 'USAGE' &&
          e.message.startsWith(`profile ${bad}: `) &&
          message.test(e.message),
        content.slice(0, 20)
      );
    }
  });
});
