/**
 * `expires` values: any RFC 3339 time Go can parse (any offset, 0–9 fractional digits, years
 * 0000–9999; docs/protocol.md §4.2) in, and Go's own format out (nanoseconds, trailing zeros trimmed).
 */
import { fail } from '../errors.js';

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-](\d{2}):(\d{2}))$/;

/** Parses `text`; throws META_SHAPE naming `field` when it is not an RFC 3339 time. */
export function parseExpires(text: unknown, field: string): Date {
  if (typeof text !== 'string') fail('META_SHAPE', `${field} must be an RFC 3339 string`);
  const m = RFC3339.exec(text);
  if (!m)
    fail('META_SHAPE', `${field} is not an RFC 3339 time: ${JSON.stringify(text.slice(0, 64))}`);
  const [, y, mo, d, h, mi, s, frac, zone, zh, zm] = m;
  const year = Number(y),
    month = Number(mo),
    day = Number(d),
    hour = Number(h),
    minute = Number(mi),
    second = Number(s);
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    fail('META_SHAPE', `${field} is not a valid date: ${text}`);
  }
  let offsetMin = 0;
  if (zone !== 'Z') {
    if (Number(zh) > 23 || Number(zm) > 59)
      fail('META_SHAPE', `${field} has an invalid zone offset: ${text}`);
    offsetMin = (Number(zh) * 60 + Number(zm)) * (zone?.startsWith('-') ? -1 : 1);
  }
  const ms = frac ? Math.floor(Number(frac.padEnd(9, '0')) / 1e6) : 0;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // setUTCFullYear keeps years 0–99 as written
  date.setUTCHours(hour, minute, second, ms);
  return new Date(date.getTime() - offsetMin * 60_000);
}

/** Go's time.Time JSON form for a UTC time: RFC 3339 with nanoseconds, trailing zeros trimmed. */
export function formatExpires(at: Date): string {
  const iso = at.toISOString(); // 2026-12-11T05:37:17.246Z
  const [base, msZ] = iso.split('.') as [string, string];
  const ms = msZ.slice(0, 3).replace(/0+$/, '');
  return ms ? `${base}.${ms}Z` : `${base}Z`;
}

/** Go's time.Time.String()-like text used in notary's "expired at" messages. */
export function goTimeText(at: Date): string {
  // notary formats with "Mon Jan 2 15:04:05 MST 2006"
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = [
    'Jan',
    'Feb',
    'Mar',
    'Apr',
    'May',
    'Jun',
    'Jul',
    'Aug',
    'Sep',
    'Oct',
    'Nov',
    'Dec',
  ];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[at.getUTCDay()]} ${months[at.getUTCMonth()]} ${at.getUTCDate()} ${p(at.getUTCHours())}:${p(at.getUTCMinutes())}:${p(at.getUTCSeconds())} UTC ${at.getUTCFullYear()}`;
}
