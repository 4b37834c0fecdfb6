/**
 * Zones (docs/design.md "Zones"): every GUN is staging, public or plain, decided by the configured
 * prefixes of `countersign.store.zones`. A staging prefix maps to one public prefix; a staging
 * GUN's public GUN is the same GUN with the prefix swapped (`staging.store.test/acme/web` →
 * `store.test/acme/web`). With no zones configured, every GUN is plain.
 *
 * Prefixes end in '/' and never nest inside one another, so a GUN has at most one matching
 * prefix and the answer never depends on the order of the configuration.
 */
import { fail } from '../errors.js';

export interface StoreZone {
  /** GUN prefix of the staging zone, ending in '/', e.g. `staging.store.test/`. */
  readonly staging: string;
  /** GUN prefix of the public zone, ending in '/', e.g. `store.test/`. */
  readonly public: string;
}

export type ZoneKind = 'staging' | 'public' | 'plain';

export type GunZone =
  { readonly kind: 'staging' | 'public'; readonly zone: StoreZone } | { readonly kind: 'plain' };

const PLAIN: GunZone = { kind: 'plain' };

/** Why `prefix` cannot be a zone prefix, or null. The rules of `repositories.gun_prefixes`. */
function prefixProblem(prefix: string): string | null {
  if (prefix === '' || !prefix.endsWith('/')) return 'must end in /';
  if (prefix.startsWith('/') || prefix.includes('//')) return 'must be a clean relative path';
  if (prefix.split('/').some((s) => s === '.' || s === '..')) return 'must not contain . or ..';
  if (/[\s*]/.test(prefix)) return 'must not contain spaces or *';
  return null;
}

/**
 * Checks a `countersign.store.zones` value and returns it typed. `key` names the setting in
 * messages (CONFIG_INVALID).
 */
export function parseZones(value: unknown, key = 'countersign.store.zones'): StoreZone[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail('CONFIG_INVALID', `${key} must be a list`);
  const zones = value.map((entry: unknown, i): StoreZone => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      return fail('CONFIG_INVALID', `${key}[${i}] must be an object`);
    }
    const { staging, public: pub } = entry as Record<string, unknown>;
    for (const [name, v] of [
      ['staging', staging],
      ['public', pub],
    ] as const) {
      if (typeof v !== 'string') fail('CONFIG_INVALID', `${key}[${i}].${name} must be a string`);
      const problem = prefixProblem(v);
      if (problem !== null) {
        fail('CONFIG_INVALID', `${key}[${i}].${name} ${JSON.stringify(v)} ${problem}`);
      }
    }
    return { staging: staging as string, public: pub as string };
  });
  const all = zones.flatMap((z) => [z.staging, z.public]);
  for (const [i, a] of all.entries()) {
    for (const [j, b] of all.entries()) {
      if (i !== j && b.startsWith(a)) {
        fail(
          'CONFIG_INVALID',
          `${key}: prefix ${JSON.stringify(b)} lies inside ${JSON.stringify(a)}; zone prefixes must not nest or repeat`
        );
      }
    }
  }
  return zones;
}

export class Zones {
  readonly list: readonly StoreZone[];

  constructor(zones: readonly StoreZone[]) {
    // Validated again here so a Zones can never hold overlapping prefixes.
    this.list = Object.freeze(parseZones(zones, 'zones'));
  }

  /** True when a store is configured (at least one zone). */
  get configured(): boolean {
    return this.list.length > 0;
  }

  zoneOf(gun: string): GunZone {
    for (const zone of this.list) {
      if (gun.startsWith(zone.staging)) return { kind: 'staging', zone };
      if (gun.startsWith(zone.public)) return { kind: 'public', zone };
    }
    return PLAIN;
  }

  kindOf(gun: string): ZoneKind {
    return this.zoneOf(gun).kind;
  }

  isPublic(gun: string): boolean {
    return this.kindOf(gun) === 'public';
  }

  isStaging(gun: string): boolean {
    return this.kindOf(gun) === 'staging';
  }

  /** The public GUN a staging GUN publishes to; null when `gun` is not in a staging zone. */
  publicGunFor(gun: string): string | null {
    const z = this.zoneOf(gun);
    return z.kind === 'staging' ? z.zone.public + gun.slice(z.zone.staging.length) : null;
  }

  /** The staging GUN a public GUN comes from; null when `gun` is not in a public zone. */
  stagingGunFor(gun: string): string | null {
    const z = this.zoneOf(gun);
    return z.kind === 'public' ? z.zone.staging + gun.slice(z.zone.public.length) : null;
  }
}

/** No store: every GUN is plain. */
export const NO_ZONES = new Zones([]);
