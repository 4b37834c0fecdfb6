/**
 * The store's own settings under `countersign.store` (docs/interfaces.md "Serving", docs/store.md):
 * the approval quorum, auto-publish, and the lifetimes and name of what the store certifies with.
 * Zones and anonymous pull are parsed with the auth settings (src/config/load.ts); registries
 * and the review policy by their own modules.
 */
import { fail } from '../errors.js';
import { DAY_MS, parseDuration } from '../util/duration.js';

export interface StoreSettings {
  /** Distinct reviewers whose approval publishes a submission (`approvals`, default 1). */
  readonly approvals: number;
  /** Publish as soon as the quorum is reached (`autoPublish`, default true). */
  readonly autoPublish: boolean;
  /** Lifetime of a public root.json and its root certificate (`rootLifetime`, default 365d). */
  readonly rootLifetimeMs: number;
  /** Lifetime of the store CA certificate, fixed when it is created (`caLifetime`, default 3650d). */
  readonly caLifetimeMs: number;
  /** Common name of the store CA certificate (`caCommonName`). */
  readonly caCommonName: string;
}

export const DEFAULT_STORE_SETTINGS: StoreSettings = {
  approvals: 1,
  autoPublish: true,
  rootLifetimeMs: 365 * DAY_MS,
  caLifetimeMs: 3650 * DAY_MS,
  caCommonName: 'Countersign store CA',
};

/** Checks the settings this module owns in a `countersign.store` object; other keys are left alone. */
export function parseStoreSettings(store: Readonly<Record<string, unknown>>): StoreSettings {
  const key = (k: string) => `countersign.store.${k}`;
  const approvals = store.approvals ?? DEFAULT_STORE_SETTINGS.approvals;
  if (
    typeof approvals !== 'number' ||
    !Number.isSafeInteger(approvals) ||
    approvals < 1 ||
    approvals > 100
  ) {
    fail('CONFIG_INVALID', `${key('approvals')} must be an integer from 1 to 100`);
  }
  const autoPublish = store.autoPublish ?? DEFAULT_STORE_SETTINGS.autoPublish;
  if (typeof autoPublish !== 'boolean')
    fail('CONFIG_INVALID', `${key('autoPublish')} must be true or false`);
  const lifetime = (k: string, dflt: number): number => {
    const v = store[k];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'string')
      fail('CONFIG_INVALID', `${key(k)} must be a DURATION such as "365d"`);
    const ms = parseDuration(v, key(k));
    if (ms < 60_000) fail('CONFIG_INVALID', `${key(k)} must be at least 1m`);
    return ms;
  };
  const rootLifetimeMs = lifetime('rootLifetime', DEFAULT_STORE_SETTINGS.rootLifetimeMs);
  const caLifetimeMs = lifetime('caLifetime', DEFAULT_STORE_SETTINGS.caLifetimeMs);
  if (caLifetimeMs < rootLifetimeMs) {
    fail(
      'CONFIG_INVALID',
      `${key('caLifetime')} must not be shorter than ${key('rootLifetime')}: the CA must outlive the root certificates it issues`
    );
  }
  const caCommonName = store.caCommonName ?? DEFAULT_STORE_SETTINGS.caCommonName;
  if (typeof caCommonName !== 'string' || caCommonName.trim() === '' || caCommonName.length > 64) {
    fail(
      'CONFIG_INVALID',
      `${key('caCommonName')} must be a non-empty string of at most 64 characters`
    );
  }
  return { approvals, autoPublish, rootLifetimeMs, caLifetimeMs, caCommonName };
}
