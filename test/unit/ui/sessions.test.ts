import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryRefreshTokenStore, refreshTokenId } from '../../../src/auth/refresh-tokens.js';
import { UI_SESSION_SERVICE, UiSessions } from '../../../src/ui/sessions.js';
import { ManualClock } from '../../../src/util/clock.js';

const MINUTE = 60_000;

function setup(o: { idleMs?: number; absoluteMs?: number } = {}) {
  const clock = new ManualClock('2031-03-04T05:06:07Z');
  const store = new MemoryRefreshTokenStore();
  const sessions = new UiSessions({
    store,
    clock,
    idleMs: 30 * MINUTE,
    absoluteMs: 8 * 60 * MINUTE,
    ...o,
  });
  return { clock, store, sessions };
}

describe('ui sessions', () => {
  it('store only the hash of the token, under the UI service', async () => {
    const { store, sessions } = setup();
    const s = await sessions.start('rev1');
    const record = await store.find(refreshTokenId(s.token));
    assert.equal(record?.account, 'rev1');
    assert.equal(record?.service, UI_SESSION_SERVICE);
    assert.equal(record?.id.includes(s.token), false);
    assert.equal(record?.clientId.includes(s.token), false);
  });

  it('end after the idle timeout, measured on the injected clock', async () => {
    const { clock, store, sessions } = setup();
    const s = await sessions.start('rev1');
    clock.advance(30 * MINUTE - 1);
    const alive = await sessions.resume(s.token);
    assert.equal(alive?.account, 'rev1');
    assert.equal(alive?.csrf, s.csrf, 'the CSRF token survives a rotation');
    // Activity slid the deadline: 29 more minutes from the last request are fine…
    clock.advance(29 * MINUTE);
    const again = await sessions.resume(alive.token);
    assert.equal(again?.account, 'rev1');
    // …but 30 idle minutes are not, and the record is gone afterwards.
    clock.advance(30 * MINUTE);
    assert.equal(await sessions.resume(again.token), null);
    assert.equal(store.size, 0);
  });

  it('rotate the token on activity, so the old one stops working', async () => {
    const { clock, sessions } = setup();
    const s = await sessions.start('rev1');
    const soon = await sessions.resume(s.token);
    assert.equal(soon?.rotated, false);
    assert.equal(soon?.token, s.token);
    clock.advance(2 * MINUTE);
    const later = await sessions.resume(s.token);
    assert.equal(later?.rotated, true);
    assert.notEqual(later?.token, s.token);
    assert.equal(await sessions.resume(s.token), null);
    assert.equal((await sessions.resume(later.token))?.account, 'rev1');
  });

  it('end at the absolute limit however active', async () => {
    const { clock, sessions } = setup({ absoluteMs: 60 * MINUTE });
    let token = (await sessions.start('rev1')).token;
    for (let i = 0; i < 5; i++) {
      clock.advance(10 * MINUTE);
      token = (await sessions.resume(token))!.token;
    }
    clock.advance(10 * MINUTE);
    assert.equal(await sessions.resume(token), null);
  });

  it('end on logout, and refuse malformed tokens and other services\u2019 refresh tokens', async () => {
    const { clock, store, sessions } = setup();
    const s = await sessions.start('rev1');
    await sessions.end(s.token);
    assert.equal(await sessions.resume(s.token), null);
    assert.equal(await sessions.resume('not a token'), null);
    assert.equal(await sessions.resume(undefined), null);
    const docker = 'A'.repeat(43);
    await store.save({
      id: refreshTokenId(docker),
      account: 'rev1',
      service: 'notary.example.com',
      clientId: 'docker',
      issuedAt: clock.now(),
      expiresAt: new Date(clock.now().getTime() + 60 * MINUTE),
    });
    assert.equal(await sessions.resume(docker), null);
    await sessions.end(docker);
    assert.equal(store.size, 1, 'logout never removes another service\u2019s token');
  });
});
