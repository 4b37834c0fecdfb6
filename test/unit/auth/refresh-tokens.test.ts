import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_REFRESH_LIFETIME_MS,
  MemoryRefreshTokenStore,
  RefreshTokens,
  refreshTokenId,
  type RefreshTokenRecord,
} from '../../../src/auth/refresh-tokens.js';
import { isBearerChallengeError } from '../../../src/auth/token-error.js';
import { isCountersignError } from '../../../src/errors.js';
import { ManualClock } from '../../../src/util/clock.js';

const binding = { service: 'countersign', clientId: 'docker' };
const refused = (pattern: RegExp) => (e: unknown) =>
  isBearerChallengeError(e) && e.bearerError === 'invalid_token' && pattern.test(e.message);

function setup() {
  const clock = new ManualClock('2025-01-01T00:00:00Z');
  const store = new MemoryRefreshTokenStore();
  const saved: RefreshTokenRecord[] = [];
  const spy = {
    save: async (r: RefreshTokenRecord) => {
      saved.push(r);
      return store.save(r);
    },
    find: (id: string) => store.find(id),
    remove: (id: string) => store.remove(id),
    removeForAccount: (a: string) => store.removeForAccount(a),
  };
  return { clock, store, saved, tokens: new RefreshTokens({ store: spy, clock }) };
}

describe('refresh tokens', () => {
  it('issues an opaque token bound to the account and redeems it', async () => {
    const { tokens, saved, clock } = setup();
    const token = await tokens.issue('alice', binding);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    const record = await tokens.redeem(token, binding);
    assert.equal(record.account, 'alice');
    assert.equal(record.expiresAt.getTime() - clock.now().getTime(), DEFAULT_REFRESH_LIFETIME_MS);
    // Only the hash is stored.
    assert.equal(saved.length, 1);
    assert.equal(saved[0]!.id, refreshTokenId(token));
    assert.ok(!JSON.stringify(saved).includes(token));
    // and it can be redeemed again (docker keeps using its identity token)
    assert.equal((await tokens.redeem(token, binding)).account, 'alice');
  });

  it('refuses unknown, malformed and expired tokens', async () => {
    const { tokens, store, clock } = setup();
    const token = await tokens.issue('alice', binding);
    await assert.rejects(tokens.redeem('x'.repeat(43), binding), refused(/unknown/));
    await assert.rejects(tokens.redeem('short', binding), refused(/malformed/));
    await assert.rejects(tokens.redeem(`${token}=`, binding), refused(/malformed/));
    clock.advance(DEFAULT_REFRESH_LIFETIME_MS);
    await assert.rejects(tokens.redeem(token, binding), refused(/expired/));
    assert.equal(store.size, 0, 'the expired record is removed');
  });

  it('refuses a token presented for another service or client', async () => {
    const { tokens } = setup();
    const token = await tokens.issue('alice', binding);
    await assert.rejects(
      tokens.redeem(token, { ...binding, service: 'other' }),
      refused(/service/)
    );
    await assert.rejects(
      tokens.redeem(token, { ...binding, clientId: 'registry-client' }),
      refused(/client/)
    );
  });

  it('revokes one token or all of an account', async () => {
    const { tokens } = setup();
    const a1 = await tokens.issue('alice', binding);
    const a2 = await tokens.issue('alice', binding);
    const b = await tokens.issue('bob', binding);
    await tokens.revoke(a1);
    await assert.rejects(tokens.redeem(a1, binding), refused(/unknown/));
    assert.equal(await tokens.revokeAccount('alice'), 1);
    await assert.rejects(tokens.redeem(a2, binding), refused(/unknown/));
    assert.equal((await tokens.redeem(b, binding)).account, 'bob');
  });

  it('gives anonymous clients none', async () => {
    const { tokens } = setup();
    await assert.rejects(tokens.issue('', binding), (e) => isCountersignError(e, 'USAGE'));
  });
});
