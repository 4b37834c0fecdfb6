/**
 * Configuration: notary-server's config file format (JSON) plus a `countersign` section of our
 * own, then command-line flags over it (docs/interfaces.md "Serving"). Every value is checked here, and
 * an invalid one stops the server at start with a message naming the key.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { fail } from '../errors.js';
import { readConfigDocument, type ConfigDocument } from './document.js';
import { parseDuration } from '../util/duration.js';
import { ipRangeProblem } from '../util/ip-ranges.js';
import type { LogFormat, LogLevel } from '../util/log.js';
import { parseZones } from '../auth/zones.js';
import { parseStoreSettings } from '../store/settings.js';
import { PREPARE_MIN_BYTES } from '../notary/validate-worker.js';
import { parseStoreReview } from '../store/registry/settings.js';
import { parseWebhookSettings } from '../webhooks/settings.js';
import { parseJobSettings } from '../jobs/settings.js';
import type {
  BuiltinAuthConfig,
  Config,
  ExternalTokenAuth,
  LoginLimit,
  StorageConfig,
  TlsConfig,
} from './types.js';

export interface ServeFlags {
  config?: string;
  listen?: string;
  dataDir?: string;
  tlsCert?: string;
  tlsKey?: string;
  plainHttp?: boolean;
  tlsHostnames?: string[];
  publicUrl?: string;
  workers?: number;
  logLevel?: string;
  /** `--db-url`: a postgres:// or postgresql:// URL selects PostgreSQL, anything else is an SQLite path. */
  dbUrl?: string;
  /** notary-server's `-logf`: json (default) or logfmt. */
  logFormat?: LogFormat;
}

type Json = Record<string, unknown>;

const ONE_YEAR = 31_536_000;

export interface LoadedConfig {
  readonly config: Config;
  /** The checked document (file + environment), for `config check`. */
  readonly document: ConfigDocument;
  /** To print at start: notary-server keys Countersign ignores. */
  readonly warnings: readonly string[];
}

/** Reads, checks and resolves the configuration; the document and warnings come along. */
export function readConfig(
  flags: ServeFlags,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd()
): LoadedConfig {
  const document = readConfigDocument(flags.config, env, cwd);
  const config = resolveConfig(document, flags, env, cwd);
  return { config, document, warnings: document.warnings };
}

export function loadConfig(
  flags: ServeFlags,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd()
): Config {
  return readConfig(flags, env, cwd).config;
}

function resolveConfig(
  document: ConfigDocument,
  flags: ServeFlags,
  env: NodeJS.ProcessEnv,
  cwd: string
): Config {
  const file = document.doc as Json;
  const base = document.file === undefined ? cwd : dirname(document.file);
  const rel = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const server = optObj(file.server, 'server');
  const cs = optObj(file.countersign, 'countersign');

  const dataDir = resolve(
    cwd,
    flags.dataDir ?? optStr(cs.dataDir, 'countersign.dataDir') ?? './data'
  );
  const listenText =
    flags.listen ?? optStr(server.http_addr, 'server.http_addr') ?? '127.0.0.1:4443';
  const listen = parseListen(listenText);

  const certFile =
    flags.tlsCert ??
    (optStr(server.tls_cert_file, 'server.tls_cert_file') && rel(server.tls_cert_file as string));
  const keyFile =
    flags.tlsKey ??
    (optStr(server.tls_key_file, 'server.tls_key_file') && rel(server.tls_key_file as string));
  if ((certFile && !keyFile) || (!certFile && keyFile))
    fail('CONFIG_INVALID', 'TLS needs both a certificate and a key file');
  let tls: TlsConfig;
  if (flags.plainHttp) tls = { mode: 'plain' };
  else if (certFile && keyFile) {
    const clientCa = optStr(server.client_ca_file, 'server.client_ca_file');
    tls = {
      mode: 'files',
      certFile: resolve(cwd, certFile),
      keyFile: resolve(cwd, keyFile),
      ...(clientCa ? { clientCaFile: rel(clientCa) } : {}),
    };
  } else
    tls = {
      mode: 'self-signed',
      dir: resolve(dataDir, 'tls'),
      hostnames: flags.tlsHostnames ?? [],
    };

  const storage = storageConfig(
    optObj(file.storage, 'storage'),
    optObj(cs.storage, 'countersign.storage'),
    flags.dbUrl,
    cwd,
    dataDir,
    rel
  );
  const caching = optObj(optObj(file.caching, 'caching').max_age, 'caching.max_age');
  const trust = optObj(file.trust_service, 'trust_service');
  refuseRemoteSigner(trust);
  const keyAlg = optStr(trust.key_algorithm, 'trust_service.key_algorithm') ?? 'ecdsa';
  if (keyAlg !== 'ecdsa' && keyAlg !== 'ed25519')
    fail('CONFIG_INVALID', `trust_service.key_algorithm must be ecdsa or ed25519 (got ${keyAlg})`);
  const repos = optObj(file.repositories, 'repositories');
  const gunPrefixes =
    repos.gun_prefixes === undefined
      ? undefined
      : strList(repos.gun_prefixes, 'repositories.gun_prefixes');
  for (const p of gunPrefixes ?? []) {
    if (
      !p.endsWith('/') ||
      p.startsWith('/') ||
      p.startsWith('..') ||
      p.includes('//') ||
      p.split('/').some((s) => s === '.' || s === '..')
    ) {
      fail(
        'CONFIG_INVALID',
        `repositories.gun_prefixes entry ${JSON.stringify(p)} must end in / and be a clean relative path`
      );
    }
  }
  const logging = optObj(file.logging, 'logging');
  const logLevel = (flags.logLevel ?? optStr(logging.level, 'logging.level') ?? 'info') as LogLevel;
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(logLevel))
    fail(
      'CONFIG_INVALID',
      `logging.level ${logLevel} is not one of debug, info, warn, error, silent`
    );

  const keys = optObj(cs.keys, 'countersign.keys');
  const passphrase =
    env.COUNTERSIGN_KEY_PASSPHRASE ||
    optStr(keys.passphrase, 'countersign.keys.passphrase') ||
    undefined;
  const keyFilePath = optStr(keys.keyFile, 'countersign.keys.keyFile');
  const limits = optObj(cs.limits, 'countersign.limits');
  const expiry = optObj(cs.expiry, 'countersign.expiry');
  const externalAuth = file.auth !== undefined ? authConfig(obj(file.auth, 'auth'), rel) : {};
  const publicUrl = flags.publicUrl ?? optStr(cs.publicUrl, 'countersign.publicUrl');
  if (publicUrl !== undefined && !/^https?:\/\/[^/?#]+(\/[^?#]*)?$/.test(publicUrl)) {
    fail(
      'CONFIG_INVALID',
      `public URL ${JSON.stringify(publicUrl)} must be an absolute http(s) URL without query`
    );
  }
  const access = accessConfig(cs, externalAuth.externalAuth !== undefined);

  return Object.freeze({
    listen,
    ...(publicUrl !== undefined ? { publicUrl } : {}),
    dataDir,
    tls,
    storage,
    caching: {
      currentMaxAge: maxAge(caching.current_metadata, 'caching.max_age.current_metadata', 300),
      consistentMaxAge: maxAge(
        caching.consistent_metadata,
        'caching.max_age.consistent_metadata',
        2_592_000
      ),
    },
    ...(gunPrefixes ? { gunPrefixes } : {}),
    keyAlgorithm: keyAlg,
    ...externalAuth,
    logLevel,
    ...(flags.logFormat ? { logFormat: flags.logFormat } : {}),
    keys: {
      ...(passphrase ? { passphrase } : {}),
      ...(keyFilePath ? { keyFile: rel(keyFilePath) } : {}),
    },
    limits: {
      maxBodyBytes: posInt(
        limits.maxBodyBytes,
        'countersign.limits.maxBodyBytes',
        100 * 1024 * 1024
      ),
      maxPartBytes: posInt(
        limits.maxPartBytes,
        'countersign.limits.maxPartBytes',
        100 * 1024 * 1024
      ),
      maxParts: posInt(limits.maxParts, 'countersign.limits.maxParts', 1000),
      maxTargets: posInt(limits.maxTargets, 'countersign.limits.maxTargets', 100_000),
      maxDelegations: posInt(limits.maxDelegations, 'countersign.limits.maxDelegations', 1000),
      maxUploadBytesInFlight: posInt(
        limits.maxUploadBytesInFlight,
        'countersign.limits.maxUploadBytesInFlight',
        256 * 1024 * 1024
      ),
      uploadWaitMs: posInt(limits.uploadWaitMs, 'countersign.limits.uploadWaitMs', 30_000),
      bodyGraceMs: posInt(limits.bodyGraceMs, 'countersign.limits.bodyGraceMs', 20_000),
      minBodyBytesPerSecond: posInt(
        limits.minBodyBytesPerSecond,
        'countersign.limits.minBodyBytesPerSecond',
        500
      ),
      parseInWorkerBytes: nonNegInt(
        limits.parseInWorkerBytes,
        'countersign.limits.parseInWorkerBytes',
        PREPARE_MIN_BYTES
      ),
    },
    expiry: expiryConfig(expiry),
    countersign: cs,
    workers: flags.workers ?? posInt(cs.workers, 'countersign.workers', 1),
    requestLog: optBool(logging.requests, 'logging.requests') ?? true,
    ...access,
    store: parseStoreSettings(optObj(cs.store, 'countersign.store')),
    review: parseStoreReview(optObj(cs.store, 'countersign.store'), rel, access.zones.length > 0),
    webhooks: parseWebhookSettings(cs.webhooks, cs.webhookDelivery),
    jobs: parseJobSettings(cs.jobs),
  } satisfies Config);
}

/**
 * notary-server's `trust_service.type: remote` keeps the timestamp and snapshot keys in a
 * notary-signer; Countersign signs with keys in its own database and cannot reach those, so a
 * start would quietly sign with new keys. Refused, with the way to bring the keys over.
 */
function refuseRemoteSigner(trust: Json): void {
  const type = optStr(trust.type, 'trust_service.type') ?? 'local';
  if (type === 'local') return;
  if (type === 'remote') {
    fail(
      'REMOTE_SIGNER',
      'trust_service.type "remote" (notary-signer) is not supported: Countersign holds the server keys itself. ' +
        "Import the keys from notary-signer's database with `countersign import-notary --signer-db DSN` " +
        '(docs/migrate.md), then remove the trust_service section or set its type to "local"'
    );
  }
  fail('CONFIG_INVALID', `trust_service.type ${JSON.stringify(type)} is not "local" or "remote"`);
}

function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  if (!m) fail('CONFIG_INVALID', `listen address ${JSON.stringify(text)} must be HOST:PORT`);
  const port = Number(m[3]);
  if (port > 65535) fail('CONFIG_INVALID', `listen port ${port} is out of range`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

const POSTGRES_URL = /^postgres(?:ql)?:\/\//i;

/**
 * `storage.backend` + `storage.db_url` as notary-server reads them, `--db-url` over both (a
 * PostgreSQL URL selects PostgreSQL whatever the file says), and the pool size, which
 * notary-server has no key for: `storage.pool_size` or `countersign.storage.poolSize`.
 */
function storageConfig(
  s: Json,
  cs: Json,
  flagUrl: string | undefined,
  cwd: string,
  dataDir: string,
  rel: (p: string) => string
): StorageConfig {
  const poolSize = storagePoolSize(s, cs);
  const consistencyWindowMs = consistencyWindow(cs.consistencyWindowMs);
  const sqlite = (url: string | undefined): StorageConfig => ({
    backend: 'sqlite',
    path: url ? rel(url.replace(/^file:/, '')) : resolve(dataDir, 'countersign.db'),
  });
  const postgres = (url: string): StorageConfig => ({
    backend: 'postgres',
    url,
    consistencyWindowMs,
    ...(poolSize !== undefined ? { poolSize } : {}),
  });
  if (flagUrl !== undefined) {
    if (flagUrl === '') fail('CONFIG_INVALID', '--db-url must not be empty');
    if (POSTGRES_URL.test(flagUrl)) return postgres(flagUrl);
    if (/^file:/i.test(flagUrl))
      return { backend: 'sqlite', path: resolve(cwd, flagUrl.replace(/^file:(\/\/)?/i, '')) };
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(flagUrl))
      fail(
        'CONFIG_INVALID',
        `--db-url must be a postgres:// or postgresql:// URL or an SQLite file path (got a ${flagUrl.split(':')[0]}: URL)`
      );
    // A path given on the command line is relative to where the command runs, not to the config.
    return { backend: 'sqlite', path: resolve(cwd, flagUrl) };
  }
  const backend = optStr(s.backend, 'storage.backend') ?? 'sqlite';
  const url = optStr(s.db_url, 'storage.db_url');
  switch (backend) {
    case 'sqlite':
    case 'sqlite3':
      return sqlite(url);
    case 'postgres':
    case 'postgresql':
      if (!url) fail('CONFIG_INVALID', 'storage.db_url is required for the postgres backend');
      return postgres(url);
    default:
      return fail(
        'CONFIG_INVALID',
        `storage.backend ${JSON.stringify(backend)} is not supported (sqlite or postgres)`
      );
  }
}

/**
 * `countersign.storage.consistencyWindowMs` (PostgreSQL): how long a write waits after COMMIT
 * so that a request it causes on any instance is served the new state (src/storage/postgres.ts);
 * only while another instance is connected to the database.
 * 0 turns the guarantee off (notifications alone, a few ms behind).
 */
function consistencyWindow(v: unknown): number {
  if (v === undefined || v === null) return 100;
  if (typeof v !== 'number' || !Number.isInteger(v) || (v !== 0 && (v < 20 || v > 10_000))) {
    fail(
      'CONFIG_INVALID',
      'countersign.storage.consistencyWindowMs must be 0 (off) or an integer number of milliseconds in 20..10000'
    );
  }
  return v;
}

function storagePoolSize(s: Json, cs: Json): number | undefined {
  const notaryStyle =
    s.pool_size === undefined ? undefined : posInt(s.pool_size, 'storage.pool_size', 0);
  const ours =
    cs.poolSize === undefined ? undefined : posInt(cs.poolSize, 'countersign.storage.poolSize', 0);
  if (notaryStyle !== undefined && ours !== undefined && notaryStyle !== ours) {
    fail(
      'CONFIG_INVALID',
      `storage.pool_size (${notaryStyle}) and countersign.storage.poolSize (${ours}) disagree: give one`
    );
  }
  return notaryStyle ?? ours;
}

function authConfig(auth: Json, rel: (p: string) => string): { externalAuth?: ExternalTokenAuth } {
  // notary-server: only type "token" installs an access controller; anything else means no auth.
  if (auth.type !== 'token') return {};
  const o = obj(auth.options, 'auth.options');
  const str = (k: string) => {
    const v = o[k];
    if (typeof v !== 'string' || v === '') fail('CONFIG_INVALID', `auth.options.${k} is required`);
    return v;
  };
  return {
    externalAuth: {
      realm: str('realm'),
      service: str('service'),
      issuer: str('issuer'),
      rootCertBundle: rel(str('rootcertbundle')),
      autoRedirect: optBool(o.autoredirect, 'auth.options.autoredirect') ?? false,
    },
  };
}

/**
 * Zones, anonymous pull, the built-in token service and login limits. Built-in auth is on when a
 * store is configured or `countersign.auth.builtin` is true, unless notary-server's `auth`
 * section configures an external token service, which then takes its place.
 */
function accessConfig(
  cs: Json,
  external: boolean
): Pick<
  Config,
  'zones' | 'anonymousPull' | 'builtinAuth' | 'loginLimits' | 'passwordRules' | 'trustProxy'
> {
  const store = optObj(cs.store, 'countersign.store');
  const zones = parseZones(store.zones);
  const anonymousPull =
    optBool(store.anonymousPull, 'countersign.store.anonymousPull') ?? zones.length > 0;
  const auth = optObj(cs.auth, 'countersign.auth');
  const builtinFlag = optBool(auth.builtin, 'countersign.auth.builtin');
  if (external && builtinFlag === true) {
    fail(
      'CONFIG_INVALID',
      'countersign.auth.builtin cannot be combined with an auth section of type token (choose one token service)'
    );
  }
  if (!external && builtinFlag === false && zones.length > 0) {
    fail(
      'CONFIG_INVALID',
      'a store (countersign.store.zones) needs auth: leave countersign.auth.builtin on or configure an auth section of type token'
    );
  }
  const builtin = !external && (builtinFlag ?? zones.length > 0);
  const loginLimits = optObj(auth.loginLimits, 'countersign.auth.loginLimits');
  const out: Pick<
    Config,
    'zones' | 'anonymousPull' | 'builtinAuth' | 'loginLimits' | 'passwordRules' | 'trustProxy'
  > = {
    zones,
    anonymousPull,
    passwordRules: { minLength: minPasswordLength(auth.minPasswordLength) },
    loginLimits: {
      perAccount: loginLimit(loginLimits.perAccount, 'countersign.auth.loginLimits.perAccount', {
        maxFailures: 10,
        windowMs: 15 * 60_000,
      }),
      perAddress: loginLimit(loginLimits.perAddress, 'countersign.auth.loginLimits.perAddress', {
        maxFailures: 30,
        windowMs: 15 * 60_000,
      }),
    },
    trustProxy: trustProxy(auth.trustProxy),
  };
  if (!builtin) return out;
  const service = optStr(auth.service, 'countersign.auth.service');
  if (service === '') fail('CONFIG_INVALID', 'countersign.auth.service must not be empty');
  const issuer = optStr(auth.issuer, 'countersign.auth.issuer') ?? 'countersign';
  if (issuer === '') fail('CONFIG_INVALID', 'countersign.auth.issuer must not be empty');
  const lifetime = optDuration(auth.tokenLifetime, 'countersign.auth.tokenLifetime') ?? 300_000;
  if (lifetime < 60_000 || lifetime > 86_400_000)
    fail('CONFIG_INVALID', 'countersign.auth.tokenLifetime must be 60s to 24h');
  const refresh =
    optDuration(auth.refreshTokenLifetime, 'countersign.auth.refreshTokenLifetime') ??
    90 * 86_400_000;
  if (refresh < 60_000)
    fail('CONFIG_INVALID', 'countersign.auth.refreshTokenLifetime must be at least 1m');
  const builtinAuth: BuiltinAuthConfig = {
    ...(service !== undefined ? { service } : {}),
    issuer,
    tokenLifetimeSeconds: Math.floor(lifetime / 1000),
    refreshTokenLifetimeMs: refresh,
  };
  return { ...out, builtinAuth };
}

/** Passwords shorter than 8 are refused as a setting: a config mistake must not weaken logins. */
function minPasswordLength(v: unknown): number {
  const key = 'countersign.auth.minPasswordLength';
  const n = posInt(v, key, 12);
  if (n < 8 || n > 1024) fail('CONFIG_INVALID', `${key} must be 8 to 1024`);
  return n;
}

/** `countersign.auth.trustProxy`: addresses or CIDR ranges whose X-Forwarded-For is believed. */
function trustProxy(v: unknown): readonly string[] {
  const key = 'countersign.auth.trustProxy';
  if (v === undefined || v === null) return [];
  const entries = strList(v, key);
  for (const entry of entries) {
    const problem = ipRangeProblem(entry);
    if (problem !== null) fail('CONFIG_INVALID', `${key}: ${JSON.stringify(entry)} ${problem}`);
  }
  return entries;
}

function loginLimit(v: unknown, key: string, dflt: LoginLimit): LoginLimit {
  if (v === undefined || v === null) return dflt;
  const o = obj(v, key);
  return {
    maxFailures: posInt(o.maxFailures, `${key}.maxFailures`, dflt.maxFailures),
    windowMs: optDuration(o.window, `${key}.window`) ?? dflt.windowMs,
  };
}

function optDuration(v: unknown, key: string): number | undefined {
  const text = optStr(v, key);
  return text === undefined ? undefined : parseDuration(text, key);
}

function expiryConfig(e: Json): Config['expiry'] {
  const dur = (v: unknown, key: string) => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string')
      fail('CONFIG_INVALID', `${key} must be a DURATION string such as "14d"`);
    return parseDuration(v, key);
  };
  const out: { -readonly [K in keyof Config['expiry']]: Config['expiry'][K] } = {};
  const t = dur(e.timestamp, 'countersign.expiry.timestamp');
  const s = dur(e.snapshot, 'countersign.expiry.snapshot');
  const g = dur(e.targets, 'countersign.expiry.targets');
  if (t !== undefined) out.timestamp = t;
  if (s !== undefined) out.snapshot = s;
  if (g !== undefined) out.targets = g;
  if (e.resignBefore !== undefined) {
    if (typeof e.resignBefore !== 'number' || !(e.resignBefore > 0 && e.resignBefore < 1))
      fail('CONFIG_INVALID', 'countersign.expiry.resignBefore must be a fraction between 0 and 1');
    out.resignBefore = e.resignBefore;
  }
  if (e.gunPrefixes !== undefined) {
    const prefixes: Record<string, { timestamp?: number; snapshot?: number; targets?: number }> =
      {};
    for (const [p, v] of Object.entries(obj(e.gunPrefixes, 'countersign.expiry.gunPrefixes'))) {
      const o = obj(v, `countersign.expiry.gunPrefixes.${p}`);
      prefixes[p] = {};
      for (const k of ['timestamp', 'snapshot', 'targets'] as const) {
        const d = dur(o[k], `countersign.expiry.gunPrefixes.${p}.${k}`);
        if (d !== undefined) prefixes[p][k] = d;
      }
    }
    out.gunPrefixes = prefixes;
  }
  return out;
}

function maxAge(v: unknown, key: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > ONE_YEAR)
    fail('CONFIG_INVALID', `${key} must be an integer number of seconds in 0..${ONE_YEAR}`);
  return v;
}

function nonNegInt(v: unknown, key: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    fail('CONFIG_INVALID', `${key} must be an integer of at least 0`);
  return v;
}

function posInt(v: unknown, key: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
    fail('CONFIG_INVALID', `${key} must be a positive integer`);
  return v;
}

function obj(v: unknown, key: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    fail('CONFIG_INVALID', `${key} must be an object`);
  return v as Json;
}

function optObj(v: unknown, key: string): Json {
  return v === undefined || v === null ? {} : obj(v, key);
}

function optStr(v: unknown, key: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail('CONFIG_INVALID', `${key} must be a string`);
  return v;
}

function optBool(v: unknown, key: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') fail('CONFIG_INVALID', `${key} must be true or false`);
  return v;
}

function strList(v: unknown, key: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    fail('CONFIG_INVALID', `${key} must be a list of strings`);
  return v;
}
