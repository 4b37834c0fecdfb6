/** DURATION values of docs/interfaces.md: an integer and a unit s, m, h or d (`20s`, `24h`, `400d`). */
import { fail } from '../errors.js';

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function parseDuration(text: string, what = 'duration'): number {
  const m = /^(\d{1,9})([smhd])$/.exec(text.trim());
  if (!m)
    fail(
      'CONFIG_INVALID',
      `${what} must be an integer and a unit s, m, h or d (got ${JSON.stringify(text)})`
    );
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s % 86400 === 0 && s !== 0) return `${s / 86400}d`;
  if (s % 3600 === 0 && s !== 0) return `${s / 3600}h`;
  if (s % 60 === 0 && s !== 0) return `${s / 60}m`;
  return `${s}s`;
}

export const DAY_MS = UNIT_MS.d;
