/** `countersign.jobs`: when a running job counts as interrupted (docs/store.md "Jobs"). */
import { fail } from '../errors.js';
import { parseDuration } from '../util/duration.js';

export interface JobSettings {
  /** A running job whose heartbeat is older than this was interrupted: it is marked failed. */
  readonly staleAfterMs: number;
}

export function parseJobSettings(value: unknown): JobSettings {
  const o = (value ?? {}) as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || Array.isArray(o))
    fail('CONFIG_INVALID', 'countersign.jobs must be an object');
  for (const k of Object.keys(o))
    if (k !== 'staleAfter') fail('CONFIG_INVALID', `unknown key countersign.jobs.${k}`);
  const v = o.staleAfter ?? '60s';
  if (typeof v !== 'string')
    fail('CONFIG_INVALID', 'countersign.jobs.staleAfter must be a DURATION');
  const ms = parseDuration(v, 'countersign.jobs.staleAfter');
  if (ms < 2000) fail('CONFIG_INVALID', 'countersign.jobs.staleAfter must be at least 2s');
  return { staleAfterMs: ms };
}
