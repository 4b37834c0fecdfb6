/**
 * Names: roles (docs/protocol.md §2.3) and GUNs. Role names come from multipart filenames and URLs,
 * GUNs from URLs; both end up in database keys, log lines and filesystem-like paths, so they are
 * checked here before anything else sees them.
 */

export const BASE_ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
export type BaseRole = (typeof BASE_ROLES)[number];

export function isBaseRole(name: string): name is BaseRole {
  return (BASE_ROLES as readonly string[]).includes(name);
}

const DELEGATION_CHARS = /^[-a-z0-9_/]+$/;

/**
 * notary's upload rule for delegation names: `targets/…`, lower-case `[-a-z0-9_/]`, under 256
 * bytes, and equal to its own path.Clean (no empty, `.` or `..` segments, no trailing slash).
 */
export function isDelegationName(name: string): boolean {
  if (!name.startsWith('targets/') || name.length >= 256 || !DELEGATION_CHARS.test(name))
    return false;
  return name.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

/** A role a client may upload or a server may store: a base role or a valid delegation. */
export function isValidRole(name: string): boolean {
  return isBaseRole(name) || isDelegationName(name);
}

export function isTargetsRole(name: string): boolean {
  return name === 'targets' || isDelegationName(name);
}

/** `targets/a/b` → `targets/a`; `targets/a` → `targets`. */
export function parentRole(delegation: string): string {
  return delegation.slice(0, delegation.lastIndexOf('/'));
}

/** Number of path segments; parents sort before children (docs/protocol.md §2.4 step 4). */
export function roleDepth(name: string): number {
  return name.split('/').length;
}

export const MAX_GUN_LENGTH = 255;

/**
 * Unicode's bidirectional controls (ALM, LRM, RLM, the embeddings and overrides, the isolates):
 * invisible, and able to make a GUN display as another one (`U+202E` reverses what follows).
 */
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/**
 * GUNs: notary accepts anything without `*` (the route regex) up to the 255-character column.
 * Countersign also refuses what can only be a path trick or a log-injection attempt: empty,
 * `.` or `..` segments, leading or trailing slashes, whitespace, control characters and
 * bidirectional controls.
 */
export function gunProblem(gun: string): string | undefined {
  if (gun.length === 0) return 'empty GUN';
  if (Buffer.byteLength(gun) > MAX_GUN_LENGTH) return `GUN longer than ${MAX_GUN_LENGTH} bytes`;
  if (gun.includes('*')) return 'GUN contains *';
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  if (/[\s\u0000-\u001f\u007f\u0080-\u009f\u2028\u2029\\]/.test(gun))
    return 'GUN contains whitespace, control characters or backslashes';
  if (BIDI_CONTROLS.test(gun))
    return 'GUN contains a bidirectional control character (it would display as another name)';
  if (gun.split('/').some((seg) => seg === '' || seg === '.' || seg === '..'))
    return 'GUN has an empty, "." or ".." segment';
  return undefined;
}
