/**
 * `countersign audit list [--since TIME] [--gun GUN] [--json]`: the store's audit log over
 * `GET /api/v1/audit`, page by page (the server answers at most 1000 entries at a time, after an
 * id), as a table or one JSON array. `--since` takes an RFC 3339 time or a duration back from now
 * (`24h`, `7d`).
 */
import { fail } from '../errors.js';
import type { Clock } from '../util/clock.js';
import { parseDuration } from '../util/duration.js';
import type { StoreClient } from './store-client.js';
import { formatTable } from './table.js';

export interface AuditEntry {
  readonly id: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
}

const PAGE = 1000;
/** A million entries: a server that keeps answering full pages is not followed forever. */
const MAX_PAGES = 1000;

/** `--since` as the ISO time the server filters on; a bad value is a usage error. */
export function sinceTime(text: string, clock: Clock): string {
  if (/^\d{1,9}[smhd]$/.test(text))
    return new Date(clock.now().getTime() - parseDuration(text, '--since')).toISOString();
  const rfc3339 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;
  const at = new Date(text);
  if (!rfc3339.test(text) || Number.isNaN(at.getTime()))
    fail(
      'USAGE',
      `--since must be an RFC 3339 time (2026-12-01T00:00:00Z) or a duration back from now (24h, 7d), not ${JSON.stringify(text)}`
    );
  return at.toISOString();
}

/** Every entry matching the filters, oldest first, following the server's pages. */
export async function fetchAudit(
  client: StoreClient,
  filters: { since?: string; gun?: string }
): Promise<AuditEntry[]> {
  const all: AuditEntry[] = [];
  let after = 0;
  for (let page = 0; page < MAX_PAGES; page++) {
    const { entries } = await client.get<{ entries: AuditEntry[] }>('/audit', {
      ...filters,
      after: String(after),
      limit: String(PAGE),
    });
    if (!Array.isArray(entries))
      fail('NETWORK', 'the server answered an audit page without entries');
    const last = entries.at(-1);
    if (last !== undefined && !(last.id > after))
      fail('NETWORK', `the server's audit page after entry ${after} went back to entry ${last.id}`);
    all.push(...entries);
    if (entries.length < PAGE || last === undefined) return all;
    after = last.id;
  }
  return fail(
    'NETWORK',
    `the audit log has more than ${MAX_PAGES * PAGE} entries; narrow it with --since or --gun`
  );
}

/** One line per entry: id, time, actor, action, subject. */
export function auditTable(entries: readonly AuditEntry[]): string {
  return formatTable([
    ['ID', 'AT', 'ACTOR', 'ACTION', 'SUBJECT'],
    ...entries.map((e) => [String(e.id), e.at, e.actor, e.action, e.subject]),
  ]);
}
