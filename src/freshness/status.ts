/**
 * What the status routes answer (docs/freshness.md): per role its version, `expires`, seconds
 * left, who holds its key, and a state:
 * - `expired`: past its expiry (for a root: or past a root certificate's);
 * - `expiring`: a role the server re-signs that is past its re-sign time (the re-sign is late:
 *   look at the logs), or a role nobody re-signs that expires within `warnWithin`;
 * - `valid`: otherwise.
 */
import { effectiveExpiry } from './facts.js';
import type { GunEntry, RoleView } from './expiry-index.js';
import type { KeyHolder } from './resigner.js';

export type RoleState = 'valid' | 'expiring' | 'expired';

export interface RoleStatus {
  readonly role: string;
  readonly version: number;
  /** As the metadata writes it (RFC 3339). */
  readonly expires: string;
  readonly secondsLeft: number;
  readonly keyHolder: KeyHolder;
  readonly state: RoleState;
  /** When the server re-signs it (RFC 3339); only for roles the server keeps fresh. */
  readonly resignAt?: string;
  /** Root only: the earliest expiry of its certificates (RFC 3339). */
  readonly certificatesExpire?: string;
}

export interface GunStatus {
  readonly gun: string;
  readonly roles: readonly RoleStatus[];
}

export interface ExpiringRole extends RoleStatus {
  readonly gun: string;
}

export function roleState(r: RoleView, now: number, warnWithinMs: number): RoleState {
  const expires = effectiveExpiry(r);
  if (expires <= now) return 'expired';
  if (r.resignAt !== undefined) return now > r.resignAt ? 'expiring' : 'valid';
  return expires - now < warnWithinMs ? 'expiring' : 'valid';
}

export function roleStatus(r: RoleView, now: number, warnWithinMs: number): RoleStatus {
  return {
    role: r.role,
    version: r.version,
    expires: r.expiresText,
    secondsLeft: Math.floor((effectiveExpiry(r) - now) / 1000),
    keyHolder: r.keyHolder,
    state: roleState(r, now, warnWithinMs),
    ...(r.resignAt !== undefined ? { resignAt: new Date(r.resignAt).toISOString() } : {}),
    ...(r.certificatesExpire ? { certificatesExpire: r.certificatesExpire.toISOString() } : {}),
  };
}

export function gunStatus(e: GunEntry, now: Date, warnWithinMs: number): GunStatus {
  const t = now.getTime();
  return { gun: e.gun, roles: e.roles.map((r) => roleStatus(r, t, warnWithinMs)) };
}

/** Every role of these repositories that stops being valid before `now + withinMs`, soonest first. */
export function expiringRoles(
  entries: Iterable<GunEntry>,
  now: Date,
  withinMs: number,
  warnWithinMs: number,
  keyHolders?: ReadonlySet<KeyHolder>
): ExpiringRole[] {
  const t = now.getTime();
  const out: ExpiringRole[] = [];
  for (const e of entries) {
    for (const r of e.roles) {
      if (keyHolders && !keyHolders.has(r.keyHolder)) continue;
      if (effectiveExpiry(r) >= t + withinMs) continue;
      out.push({ gun: e.gun, ...roleStatus(r, t, warnWithinMs) });
    }
  }
  return out.sort(
    (a, b) =>
      a.secondsLeft - b.secondsLeft ||
      (a.gun < b.gun ? -1 : a.gun > b.gun ? 1 : 0) ||
      (a.role < b.role ? -1 : 1)
  );
}
