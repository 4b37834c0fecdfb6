/**
 * The account and refresh-token stores (src/storage/types.ts) as one assertion suite, so every
 * storage backend runs the same checks (SQLite in account-store.test.ts; PostgreSQL when it
 * lands).
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isCountersignError } from '../../src/errors.js';
import { RefreshTokens, refreshTokenId } from '../../src/auth/refresh-tokens.js';
import type { Storage, StoredAccount } from '../../src/storage/types.js';
import { ManualClock } from '../../src/util/clock.js';

const T0 = new Date('2026-03-04T05:06:07.089Z');

const account = (name: string, extra: Partial<StoredAccount> = {}): StoredAccount => ({
  name,
  role: 'publisher',
  namespaces: [`staging.store.test/${name}/`],
  passwordHash: `scrypt$hash-of-${name}`,
  createdAt: T0,
  updatedAt: T0,
  ...extra,
});

const LIMITS = {
  perAccount: { maxAttempts: 3, windowMs: 60_000 },
  perAddress: { maxAttempts: 5, windowMs: 120_000 },
};
const at = (ms: number): Date => new Date(T0.getTime() + ms);

/**
 * `twin` opens a second Storage on the database the factory created last (another worker or
 * instance).
 */
export function accountStoreContract(
  backend: string,
  factory: () => Promise<Storage>,
  twin: () => Promise<Storage>
): void {
  describe(`account and refresh-token stores (${backend})`, () => {
    let s: Storage;
    beforeEach(async () => {
      s = await factory();
    });
    afterEach(() => s.close());

    it('creates, reads, updates (keeping createdAt), lists by name and removes accounts', async () => {
      assert.equal(await s.accounts.get('acme'), null);
      assert.equal(await s.accounts.upsert(account('acme')), 'created');
      assert.equal(
        await s.accounts.upsert(account('zed', { role: 'admin', namespaces: [] })),
        'created'
      );
      assert.equal(
        await s.accounts.upsert(account('bob', { role: 'reviewer', namespaces: [] })),
        'created'
      );
      assert.deepEqual(await s.accounts.get('acme'), account('acme'));
      const later = new Date(T0.getTime() + 60_000);
      const changed = account('acme', {
        namespaces: ['staging.store.test/acme/', 'staging.store.test/acme-2/'],
        passwordHash: 'scrypt$new',
        createdAt: later,
        updatedAt: later,
      });
      assert.equal(await s.accounts.upsert(changed), 'updated');
      assert.deepEqual(await s.accounts.get('acme'), { ...changed, createdAt: T0 });
      assert.deepEqual(
        (await s.accounts.list()).map((a) => [a.name, a.role]),
        [
          ['acme', 'publisher'],
          ['bob', 'reviewer'],
          ['zed', 'admin'],
        ]
      );
      await s.accounts.setPasswordHash('bob', 'scrypt$bob-2', later);
      assert.equal((await s.accounts.get('bob'))?.passwordHash, 'scrypt$bob-2');
      await assert.rejects(s.accounts.setPasswordHash('nobody', 'x', later), (e) =>
        isCountersignError(e, 'STORAGE_NOT_FOUND')
      );
      assert.equal(await s.accounts.remove('bob'), true);
      assert.equal(await s.accounts.remove('bob'), false);
      assert.equal(await s.accounts.get('bob'), null);
    });

    it('names compare exactly', async () => {
      await s.accounts.upsert(account('Acme'));
      assert.equal(await s.accounts.get('acme'), null);
      assert.equal((await s.accounts.get('Acme'))?.name, 'Acme');
    });

    it('stores refresh tokens by hash only, bound to an existing account, removed with it', async () => {
      await s.accounts.upsert(account('acme'));
      await s.accounts.upsert(account('other'));
      const clock = new ManualClock(T0);
      const tokens = new RefreshTokens({ store: s.refreshTokens, clock, lifetimeMs: 3_600_000 });
      const binding = { service: 'notary', clientId: 'docker' };
      const a1 = await tokens.issue('acme', binding);
      const a2 = await tokens.issue('acme', binding);
      const o1 = await tokens.issue('other', binding);
      assert.equal((await tokens.redeem(a1, binding)).account, 'acme');
      assert.equal((await tokens.redeem(o1, binding)).account, 'other');
      // Only the hash is a key: the token itself finds nothing.
      assert.equal(await s.refreshTokens.find(a1), undefined);
      assert.equal((await s.refreshTokens.find(refreshTokenId(a1)))?.account, 'acme');
      await assert.rejects(tokens.issue('ghost', binding), (e) =>
        isCountersignError(e, 'STORAGE_NOT_FOUND')
      );
      // Removing the account removes its tokens, and only its tokens.
      assert.equal(await s.accounts.remove('acme'), true);
      await assert.rejects(tokens.redeem(a1, binding), (e) =>
        isCountersignError(e, 'UNAUTHORIZED')
      );
      await assert.rejects(tokens.redeem(a2, binding), (e) =>
        isCountersignError(e, 'UNAUTHORIZED')
      );
      assert.equal((await tokens.redeem(o1, binding)).account, 'other');
      assert.equal(await s.refreshTokens.removeForAccount('other'), 1);
      await assert.rejects(tokens.redeem(o1, binding), (e) =>
        isCountersignError(e, 'UNAUTHORIZED')
      );
    });

    it('round-trips a refresh record and refuses a duplicate id', async () => {
      await s.accounts.upsert(account('acme'));
      const record = {
        id: 'ab'.repeat(32),
        account: 'acme',
        service: 'svc',
        clientId: 'docker',
        issuedAt: T0,
        expiresAt: new Date(T0.getTime() + 1000),
      };
      await s.refreshTokens.save(record);
      assert.deepEqual(await s.refreshTokens.find(record.id), record);
      await assert.rejects(s.refreshTokens.save(record), (e) =>
        isCountersignError(e, 'STORAGE_CONFLICT')
      );
      await s.refreshTokens.remove(record.id);
      assert.equal(await s.refreshTokens.find(record.id), undefined);
    });

    it('login counters: per (account, address) and per address, reserved before the check', async () => {
      const attempt = (account: string, address: string, ms: number) =>
        s.loginAttempts.reserve({ account, address, at: at(ms) }, LIMITS);
      for (let i = 0; i < 3; i++) assert.equal((await attempt('acme', '192.0.2.1', i)).ok, true);
      // The pair is full: refused until its oldest attempt (at 0) leaves the 60 s window.
      assert.deepEqual(await attempt('acme', '192.0.2.1', 10_000), {
        ok: false,
        limitedBy: 'account',
        retryAfterMs: 50_000,
      });
      // The same account from another address, another account from this one: still allowed.
      assert.equal((await attempt('acme', '192.0.2.2', 10_000)).ok, true);
      assert.equal((await attempt('bob', '192.0.2.1', 10_000)).ok, true);
      assert.equal((await attempt('carol', '192.0.2.1', 20_000)).ok, true);
      // Five from 192.0.2.1 now: the address is full until its oldest leaves the 120 s window.
      assert.deepEqual(await attempt('dave', '192.0.2.1', 30_000), {
        ok: false,
        limitedBy: 'address',
        retryAfterMs: 90_000,
      });
      assert.equal(await s.loginAttempts.count({ address: '192.0.2.1' }), 5);
      // Refusals record nothing; the window slides.
      assert.equal((await attempt('acme', '192.0.2.1', 60_001)).ok, false);
      assert.equal((await attempt('dave', '192.0.2.1', 120_001)).ok, true);
      // Everything older than the longest window is dropped on the way.
      assert.equal((await attempt('erin', '192.0.2.9', 400_000)).ok, true);
      assert.equal(await s.loginAttempts.count({}), 1);
    });

    it('login counters: success clears its pair, unlock clears an account or an address', async () => {
      const ids: number[] = [];
      for (const [account, address] of [
        ['acme', '192.0.2.1'],
        ['acme', '192.0.2.1'],
        ['acme', '192.0.2.2'],
        ['bob', '192.0.2.1'],
      ] as const) {
        const r = await s.loginAttempts.reserve({ account, address, at: T0 }, LIMITS);
        assert.ok(r.ok);
        ids.push(r.id);
      }
      await s.loginAttempts.succeeded(ids[1]!, 'acme', '192.0.2.1');
      assert.equal(await s.loginAttempts.count({ account: 'acme', address: '192.0.2.1' }), 0);
      assert.equal(await s.loginAttempts.count({ account: 'acme' }), 1);
      assert.equal(await s.loginAttempts.count({ address: '192.0.2.1' }), 1);
      assert.equal(await s.loginAttempts.clearAccount('acme'), 1);
      assert.equal(await s.loginAttempts.clearAccount('acme'), 0);
      assert.equal(await s.loginAttempts.clearAddress('192.0.2.1'), 1);
      assert.equal(await s.loginAttempts.count({}), 0);
    });

    it('login counters hold under a concurrent burst, across two openings of one database', async () => {
      const other = await twin();
      try {
        const burst = Array.from({ length: 60 }, (_, i) =>
          (i % 2 === 0 ? s : other).loginAttempts.reserve(
            { account: 'acme', address: '198.51.100.7', at: at(i) },
            { ...LIMITS, perAccount: { maxAttempts: 10, windowMs: 60_000 } }
          )
        );
        const results = await Promise.all(burst);
        assert.equal(results.filter((r) => r.ok).length, 5); // the address limit
        assert.equal(await other.loginAttempts.count({ address: '198.51.100.7' }), 5);
        assert.ok(results.every((r) => r.ok || r.limitedBy === 'address'));
      } finally {
        await other.close();
      }
    });
  });
}
