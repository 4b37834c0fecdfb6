/**
 * `countersign.ui` (docs/ui.md): how long a session may sit idle and how long it may live. Read
 * from the checked configuration document; a value out of range stops the start (a mistake must
 * never leave sessions longer than the operator meant).
 */
import { fail } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import { DEFAULT_ABSOLUTE_MS, DEFAULT_IDLE_MS } from './sessions.js';

export interface UiSettings {
  readonly idleMs: number;
  readonly absoluteMs: number;
}

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

function durationOf(value: unknown, key: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') fail('CONFIG_INVALID', `${key} must be a DURATION such as 30m`);
  return parseDuration(value, key);
}

export function uiSettings(countersign: Readonly<Record<string, unknown>>): UiSettings {
  const raw = countersign.ui;
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw)))
    fail('CONFIG_INVALID', 'countersign.ui must be an object');
  const s = (raw ?? {}) as Record<string, unknown>;
  const idleMs = durationOf(s.idleTimeout, 'countersign.ui.idleTimeout', DEFAULT_IDLE_MS);
  const absoluteMs = durationOf(
    s.sessionLifetime,
    'countersign.ui.sessionLifetime',
    DEFAULT_ABSOLUTE_MS
  );
  if (idleMs < MINUTE_MS || idleMs > DAY_MS)
    fail('CONFIG_INVALID', 'countersign.ui.idleTimeout must be from 1m to 24h');
  if (absoluteMs < idleMs || absoluteMs > 30 * DAY_MS)
    fail(
      'CONFIG_INVALID',
      'countersign.ui.sessionLifetime must be at least countersign.ui.idleTimeout and at most 30d'
    );
  return { idleMs, absoluteMs };
}
