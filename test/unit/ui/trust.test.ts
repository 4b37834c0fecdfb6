import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { GunStatus } from '../../../src/freshness/status.js';
import { expiryTimeline } from '../../../src/ui/trust.js';
import { repositoryPage } from '../../../src/ui/pages/trust.js';

const status: GunStatus = {
  gun: 'store.test/acme/web',
  roles: [
    {
      role: 'root',
      version: 1,
      expires: '2032-01-01T00:00:00Z',
      secondsLeft: 400 * 86400,
      keyHolder: 'store',
      state: 'valid',
    },
    {
      role: 'targets/releases',
      version: 3,
      expires: '2031-01-20T00:00:00Z',
      secondsLeft: 10 * 86400,
      keyHolder: 'client',
      state: 'expiring',
    },
    {
      role: 'timestamp',
      version: 9,
      expires: '2031-01-01T00:00:00Z',
      secondsLeft: -5,
      keyHolder: 'server',
      state: 'expired',
    },
  ],
};

describe('ui trust browser', () => {
  it('puts every role on the timeline, red when expired or within the warning window', () => {
    const rows = expiryTimeline(status);
    assert.deepEqual(
      rows.map((r) => [r.role, r.soon, r.percent]),
      [
        ['root', false, 100],
        ['targets/releases', true, 3],
        ['timestamp', true, 0],
      ]
    );
  });

  it('renders the timeline with hostile role names escaped and the red class on soon roles', () => {
    const hostile: GunStatus = {
      gun: 'g',
      roles: [{ ...status.roles[1]!, role: 'targets/<img src=x onerror=alert(1)>' }],
    };
    const out = repositoryPage({
      gun: 'g',
      tags: [],
      history: [],
      diff: null,
      timeline: expiryTimeline(hostile),
    }).toString();
    assert.equal(out.includes('<img'), false);
    assert.ok(out.includes('targets/&lt;img src=x onerror=alert(1)&gt;'));
    assert.match(out, /class="w20 soon"/);
    assert.ok(out.includes('within the warning window'));
  });
});
