/** `audit list`'s pieces: --since (an RFC 3339 time or a duration back from the clock) and paging. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fetchAudit, sinceTime, type AuditEntry } from '../../../src/cli/audit-list.js';
import type { StoreClient } from '../../../src/cli/store-client.js';
import { isCountersignError } from '../../../src/errors.js';
import { ManualClock } from '../../../src/util/clock.js';

const clock = new ManualClock('2030-05-01T12:00:00.000Z');

/** The server side of GET /audit over `total` entries, recording each query; optionally broken. */
function pagedServer(total: number, ignoreAfter = false) {
  const queries: Record<string, string | undefined>[] = [];
  const client = {
    get: async (_path: string, query: Record<string, string | undefined>) => {
      queries.push(query);
      const after = ignoreAfter ? 0 : Number(query.after);
      const limit = Number(query.limit);
      const entries: AuditEntry[] = [];
      for (let id = after + 1; id <= Math.min(total, after + limit); id++)
        entries.push({ id, at: 'x', actor: 'a', action: 'b', subject: 'c' });
      return { entries };
    },
  } as unknown as StoreClient;
  return { client, queries };
}

describe('audit list', () => {
  it('reads --since as RFC 3339 or as a duration back from the clock', () => {
    assert.equal(sinceTime('24h', clock), '2030-04-30T12:00:00.000Z');
    assert.equal(sinceTime('2026-12-01T00:00:00Z', clock), '2026-12-01T00:00:00.000Z');
    assert.equal(sinceTime('2026-12-01T01:00:00+01:00', clock), '2026-12-01T00:00:00.000Z');
    for (const bad of ['yesterday', '2026-13-01', '12/01/2026', '24', '-1h'])
      assert.throws(
        () => sinceTime(bad, clock),
        (e: unknown) => isCountersignError(e) && e.code === 'USAGE',
        bad
      );
  });

  it('follows the pages after the last id until a short page, with the filters on each', async () => {
    const { client, queries } = pagedServer(2500);
    const entries = await fetchAudit(client, { gun: 'g' });
    assert.equal(entries.length, 2500);
    assert.deepEqual(
      queries.map((q) => [q.after, q.gun]),
      [
        ['0', 'g'],
        ['1000', 'g'],
        ['2000', 'g'],
      ]
    );
  });

  it('refuses a page that does not move forward (a server that ignores after)', async () => {
    const { client } = pagedServer(5000, true);
    await assert.rejects(fetchAudit(client, {}), /went back to entry/);
  });
});
