import { describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import {
  DEFAULT_SCRYPT,
  MAX_PASSWORD_BYTES,
  hashPassword,
  isPasswordHash,
  needsRehash,
  prepareDummyPassword,
  verifyDummyPassword,
  verifyPassword,
  verifyPasswordOrDummy,
} from '../../../src/auth/passwords.js';
import { isCountersignError } from '../../../src/errors.js';

const FORMAT = /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/;

/** Replaces a node:crypto export for the duration of `fn` (ESM named imports follow via syncBuiltinESMExports). */
async function spyOn<K extends 'timingSafeEqual' | 'scrypt'>(name: K, fn: () => Promise<void>) {
  const spy = mock.method(crypto, name);
  syncBuiltinESMExports();
  try {
    await fn();
  } finally {
    spy.mock.restore();
    syncBuiltinESMExports();
  }
  return spy.mock.calls;
}

describe('passwords', () => {
  it('hashes as scrypt$N$r$p$salt$hash with a fresh 16-byte salt and N = 2^15', async () => {
    const a = await hashPassword('secret');
    const b = await hashPassword('secret');
    assert.match(a, FORMAT);
    assert.notEqual(a, b);
    assert.equal(Buffer.from(a.split('$')[4]!, 'base64').length, 16);
    assert.equal(DEFAULT_SCRYPT.N, 2 ** 15);
    assert.equal(isPasswordHash(a), true);
  });

  it('verifies the right password only', async () => {
    const h = await hashPassword('correct horse');
    assert.equal(await verifyPassword('correct horse', h), true);
    assert.equal(await verifyPassword('correct hors', h), false);
    assert.equal(await verifyPassword('', h), false);
    assert.equal(await verifyPassword('correct horse ', h), false);
  });

  it('refuses weak parameters and over-long passwords', async () => {
    await assert.rejects(hashPassword('x', { N: 2 ** 14, r: 8, p: 1 }), (e) =>
      isCountersignError(e, 'CONFIG_INVALID')
    );
    await assert.rejects(hashPassword('x', { N: 3 * 2 ** 14, r: 8, p: 1 }), (e) =>
      isCountersignError(e, 'CONFIG_INVALID')
    );
    await assert.rejects(hashPassword('x'.repeat(MAX_PASSWORD_BYTES + 1)), (e) =>
      isCountersignError(e, 'USAGE')
    );
    const h = await hashPassword('x');
    assert.equal(await verifyPassword('x'.repeat(MAX_PASSWORD_BYTES + 1), h), false);
  });

  it('treats malformed or tampered stored hashes as a mismatch', async () => {
    const h = await hashPassword('pw');
    const parts = h.split('$');
    const flipped = Buffer.from(parts[5]!, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    const cases = [
      '',
      'bcrypt$...',
      h.replace('scrypt$', 'scrypt2$'),
      h.replace('$32768$', '$16384$'), // below the floor
      h.replace('$32768$', '$032768$'),
      [...parts.slice(0, 5), flipped.toString('base64')].join('$'),
      `${h}$extra`,
    ];
    for (const stored of cases) assert.equal(await verifyPassword('pw', stored), false, stored);
  });

  it('compares the derived key with crypto.timingSafeEqual', async () => {
    const h = await hashPassword('pw');
    const calls = await spyOn('timingSafeEqual', async () => {
      assert.equal(await verifyPassword('wrong', h), false);
      assert.equal(await verifyPassword('pw', h), true);
    });
    assert.equal(calls.length, 2);
    const expected = Buffer.from(h.split('$')[5]!, 'base64');
    for (const call of calls) {
      const [a, b] = call.arguments as [Buffer, Buffer];
      assert.equal(a.length, 32);
      assert.deepEqual(b, expected);
    }
  });

  it('runs the same scrypt for an unknown account and always fails', async () => {
    await prepareDummyPassword();
    const h = await hashPassword('pw');
    const calls = await spyOn('scrypt', async () => {
      assert.equal(await verifyDummyPassword('pw'), false);
      assert.equal(await verifyPasswordOrDummy('pw', undefined), false);
      assert.equal(await verifyPasswordOrDummy('pw', h), true);
    });
    assert.equal(calls.length, 3, 'one scrypt per verification, dummy or real');
    const params = calls.map((c) => {
      const [, salt, len, opts] = c.arguments as unknown as [
        string,
        Buffer,
        number,
        { N: number; r: number; p: number },
      ];
      return { saltLength: salt.length, len, N: opts.N, r: opts.r, p: opts.p };
    });
    assert.deepEqual(params[0], params[2]);
    assert.deepEqual(params[1], params[2]);
  });

  it('says when a stored hash should be upgraded', async () => {
    const h = await hashPassword('pw');
    assert.equal(needsRehash(h), false);
    assert.equal(needsRehash(h, { N: 2 ** 16, r: 8, p: 1 }), true);
    assert.equal(needsRehash('garbage'), true);
  });
});
