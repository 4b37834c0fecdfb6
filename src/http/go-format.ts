/** Byte formats of Go's standard library that notary-server's responses carry. */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/**
 * Go's time.RFC1123 layout for a UTC time, as notary writes Last-Modified: `UTC`, not `GMT`
 * (docs/protocol.md §1.2). Clients ignore it; proxies parse either.
 */
export function goRfc1123(at: Date): string {
  return `${DAYS[at.getUTCDay()]}, ${pad(at.getUTCDate())} ${MONTHS[at.getUTCMonth()]} ${at.getUTCFullYear()} ${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())} UTC`;
}

/**
 * Go's encoding/json output: HTML-escaped (`<>&` and U+2028/9 as \u escapes) with a trailing
 * newline when written by an Encoder, as notary's error bodies are.
 */
export function goJson(value: unknown, trailingNewline = true): string {
  const s = JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')
  );
  return trailingNewline ? s + '\n' : s;
}

/** RFC 3339 with nanoseconds as Go prints time.Time in JSON (changefeed CreatedAt). */
export function goRfc3339Nano(at: Date): string {
  const iso = at.toISOString();
  const [base, frac] = iso.split('.') as [string, string];
  const ms = frac.slice(0, 3).replace(/0+$/, '');
  return ms ? `${base}.${ms}Z` : `${base}Z`;
}
