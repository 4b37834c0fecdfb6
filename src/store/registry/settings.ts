/**
 * `countersign.store.registries` and `countersign.store.policy` (docs/interfaces.md "Registries and
 * review policy"): where the staging and public images live, and what the review policy checks.
 * Checked at start, so a bad value stops the server with a message naming the key.
 */
import { readFileSync } from 'node:fs';
import { CountersignError, fail, isCountersignError } from '../../errors.js';
import { hygieneChecks } from '../../policy/hygiene.js';
import { budgetEnabled, parsePolicy, type ReviewPolicy } from '../../policy/types.js';
import { parseRunHealthcheck, type HealthcheckRunSettings } from '../../sandbox/settings.js';

export interface RegistryEndpoint {
  /** `http://host:port` or `https://host:port`. */
  readonly url: string;
  /** Prepended to a GUN's path (the GUN without its host) to name the registry repository. */
  readonly repositoryPrefix: string;
  /** The PEM the `ca` file holds (read at start). */
  readonly ca?: string;
  readonly username?: string;
  readonly password?: string;
}

export interface StoreReview {
  /** Verification adds `registry-manifest` and `registry-blobs`; hygiene checks inspect it. */
  readonly staging?: RegistryEndpoint;
  /** Publish copies the image here before it writes the public metadata. */
  readonly public?: RegistryEndpoint;
  readonly policy: ReviewPolicy;
  /** `policy.runHealthcheck`: the image run in a sandbox (src/sandbox); absent = off. */
  readonly runHealthcheck?: HealthcheckRunSettings;
}

type Json = Readonly<Record<string, unknown>>;

/**
 * Reads `registries` and `policy` of a `countersign.store` object. `resolvePath` turns a `ca`
 * path into an absolute one (relative to the configuration file). `zones` says whether a store
 * is configured at all: registries and a policy mean nothing without one.
 */
export function parseStoreReview(
  store: Json,
  resolvePath: (p: string) => string,
  hasZones: boolean
): StoreReview {
  const key = (k: string) => `countersign.store.${k}`;
  const registries = optionalObject(store.registries, key('registries'));
  for (const k of Object.keys(registries)) {
    if (k !== 'staging' && k !== 'public')
      fail('CONFIG_INVALID', `${key('registries')}.${k}: only "staging" and "public" are known`);
  }
  const staging =
    registries.staging === undefined
      ? undefined
      : parseEndpoint(registries.staging, key('registries.staging'), resolvePath);
  const pub =
    registries.public === undefined
      ? undefined
      : parseEndpoint(registries.public, key('registries.public'), resolvePath);
  let policy: ReviewPolicy;
  try {
    policy = parsePolicy(store.policy === null ? undefined : store.policy);
  } catch (err) {
    // parsePolicy names keys from `store.`; the configuration names them in full.
    if (!isCountersignError(err, 'CONFIG_INVALID')) throw err;
    throw new CountersignError('CONFIG_INVALID', err.message.replace(/^store\./, key('')));
  }
  const policyObject = store.policy as Json | null | undefined;
  const runHealthcheck = parseRunHealthcheck(
    policyObject?.runHealthcheck,
    key('policy.runHealthcheck'),
    resolvePath
  );
  const hygiene = hygieneNames(policy);
  if (runHealthcheck) hygiene.push('healthcheck-run');
  const anything = staging !== undefined || pub !== undefined || hygiene.length > 0;
  if ((anything || budgetEnabled(policy.vulnerabilityBudget)) && !hasZones) {
    fail(
      'CONFIG_INVALID',
      `${key('registries')} and ${key('policy')} need a store: set ${key('zones')}`
    );
  }
  if (pub && !staging) {
    fail(
      'CONFIG_INVALID',
      `${key('registries.public')} needs ${key('registries.staging')}: the image is copied from there`
    );
  }
  if (hygiene.length > 0 && !staging) {
    fail(
      'CONFIG_INVALID',
      `${key('policy')} checks ${hygiene.join(', ')} of the image, which needs ${key('registries.staging')} to read it from`
    );
  }
  return {
    ...(staging ? { staging } : {}),
    ...(pub ? { public: pub } : {}),
    policy,
    ...(runHealthcheck ? { runHealthcheck } : {}),
  };
}

/** The names of the hygiene checks the policy enables (size, healthcheck, user, labels, layers). */
export function hygieneNames(policy: ReviewPolicy): string[] {
  return hygieneChecks(policy, { digest: '', mediaType: '', platforms: [], attachments: [] }).map(
    (c) => c.name
  );
}

function parseEndpoint(
  value: unknown,
  where: string,
  resolvePath: (p: string) => string
): RegistryEndpoint {
  const o = optionalObject(value, where);
  for (const k of Object.keys(o)) {
    if (!['url', 'repositoryPrefix', 'ca', 'username', 'password'].includes(k))
      fail('CONFIG_INVALID', `${where}.${k} is not a registry setting`);
  }
  const url = string(o.url, `${where}.url`);
  if (url === undefined) fail('CONFIG_INVALID', `${where}.url is required`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    fail('CONFIG_INVALID', `${where}.url ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    fail('CONFIG_INVALID', `${where}.url must start with http:// or https://`);
  if (parsed.username || parsed.password || parsed.search || parsed.hash)
    fail(
      'CONFIG_INVALID',
      `${where}.url must not carry credentials, a query or a fragment (use username and password)`
    );
  const repositoryPrefix = string(o.repositoryPrefix, `${where}.repositoryPrefix`) ?? '';
  if (
    repositoryPrefix !== '' &&
    !/^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*\/$/.test(
      repositoryPrefix
    )
  ) {
    fail(
      'CONFIG_INVALID',
      `${where}.repositoryPrefix ${JSON.stringify(repositoryPrefix)} must be empty or lower-case repository path components ending in "/" (such as "staging/")`
    );
  }
  const caPath = string(o.ca, `${where}.ca`);
  let ca: string | undefined;
  if (caPath !== undefined) {
    const file = resolvePath(caPath);
    try {
      ca = readFileSync(file, 'utf8');
    } catch (err) {
      fail(
        'CONFIG_INVALID',
        `${where}.ca: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`
      );
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----'))
      fail('CONFIG_INVALID', `${where}.ca: ${file} holds no PEM certificate`);
  }
  const username = string(o.username, `${where}.username`);
  const password = string(o.password, `${where}.password`);
  if (password !== undefined && username === undefined)
    fail('CONFIG_INVALID', `${where}.password needs ${where}.username`);
  return {
    url: url.replace(/\/+$/, ''),
    repositoryPrefix,
    ...(ca !== undefined ? { ca } : {}),
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}

function optionalObject(v: unknown, key: string): Json {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) fail('CONFIG_INVALID', `${key} must be an object`);
  return v as Json;
}

function string(v: unknown, key: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail('CONFIG_INVALID', `${key} must be a string`);
  return v;
}
