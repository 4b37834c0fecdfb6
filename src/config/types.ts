/** The validated, frozen configuration every other module receives (built by src/config/load.ts). */
import type { KeyAlgorithm } from '../crypto/signing.js';
import type { WebhookSettings } from '../webhooks/settings.js';
import type { JobSettings } from '../jobs/settings.js';
import type { LogFormat, LogLevel } from '../util/log.js';
import type { StoreZone } from '../auth/zones.js';
import type { StoreSettings } from '../store/settings.js';
import type { StoreReview } from '../store/registry/settings.js';

export type StorageConfig =
  | { readonly backend: 'sqlite'; readonly path: string }
  | {
      readonly backend: 'postgres';
      readonly url: string;
      readonly poolSize?: number;
      /** Read-after-write across instances (src/storage/postgres.ts `consistencyWindowMs`); 0 = off. */
      readonly consistencyWindowMs: number;
    };

export type TlsConfig =
  | { readonly mode: 'plain' }
  /** Generated on first start into DATA/tls (CA + server certificate) and reused after. */
  | { readonly mode: 'self-signed'; readonly dir: string; readonly hostnames: readonly string[] }
  | {
      readonly mode: 'files';
      readonly certFile: string;
      readonly keyFile: string;
      readonly clientCaFile?: string;
    };

/** notary-server's `auth.type: token` options (docs/protocol.md §7.1). */
export interface ExternalTokenAuth {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  readonly rootCertBundle: string;
  readonly autoRedirect: boolean;
}

export type { StoreZone } from '../auth/zones.js';

/** The built-in token service (`countersign.auth`), on when a store is configured or `builtin: true`. */
export interface BuiltinAuthConfig {
  /** `countersign.auth.service`; when absent the public URL's host, else the listening host:port. */
  readonly service?: string;
  /** `countersign.auth.issuer`, default `countersign`. */
  readonly issuer: string;
  /** `countersign.auth.tokenLifetime`, default 5m (60 s to 24 h). */
  readonly tokenLifetimeSeconds: number;
  /** `countersign.auth.refreshTokenLifetime`, default 90d. */
  readonly refreshTokenLifetimeMs: number;
}

export interface LoginLimit {
  readonly maxFailures: number;
  readonly windowMs: number;
}

export interface Config {
  readonly listen: { readonly host: string; readonly port: number };
  readonly publicUrl?: string;
  readonly dataDir: string;
  readonly tls: TlsConfig;
  readonly storage: StorageConfig;
  readonly caching: { readonly currentMaxAge: number; readonly consistentMaxAge: number };
  readonly gunPrefixes?: readonly string[];
  readonly keyAlgorithm: KeyAlgorithm;
  readonly externalAuth?: ExternalTokenAuth;
  readonly logLevel: LogLevel;
  /** `-logf`: the log line format; JSON when absent. */
  readonly logFormat?: LogFormat;
  readonly keys: { readonly passphrase?: string; readonly keyFile?: string };
  readonly limits: {
    readonly maxBodyBytes: number;
    readonly maxPartBytes: number;
    readonly maxParts: number;
    readonly maxTargets: number;
    readonly maxDelegations: number;
    /** Bytes of Notary uploads in flight at once, over all requests (src/http/upload-budget.ts). */
    readonly maxUploadBytesInFlight: number;
    /** How long an upload waits for room in that budget before a 503 with Retry-After. */
    readonly uploadWaitMs: number;
    /** The minimum pace of an upload body (src/http/body-pace.ts). */
    readonly bodyGraceMs: number;
    readonly minBodyBytesPerSecond: number;
    /** Parts at least this large are parsed in a worker thread; 0: none (src/notary/validate-worker.ts). */
    readonly parseInWorkerBytes: number;
  };
  readonly expiry: {
    readonly timestamp?: number;
    readonly snapshot?: number;
    readonly targets?: number;
    readonly resignBefore?: number;
    readonly gunPrefixes?: Readonly<
      Record<string, { timestamp?: number; snapshot?: number; targets?: number }>
    >;
  };
  /** The `countersign` section's raw value of parts owned by later modules (store, policy, registries, accounts). */
  readonly countersign: Readonly<Record<string, unknown>>;
  readonly workers: number;
  readonly requestLog: boolean;
  /** `countersign.store.zones`; empty without a store (every GUN plain). */
  readonly zones: readonly StoreZone[];
  /** `countersign.store.anonymousPull`: default true with a store; meaningless without public zones. */
  readonly anonymousPull: boolean;
  /** Present when the built-in token service is on (never together with externalAuth). */
  readonly builtinAuth?: BuiltinAuthConfig;
  /** `countersign.store` settings of the certification chain (quorum, auto-publish, CA and root lifetimes). */
  readonly store: StoreSettings;
  /** `countersign.store.registries` and `.policy`: registry checks and copy, the review policy. */
  readonly review: StoreReview;
  /** `countersign.auth.loginLimits`: failed password logins allowed per window. */
  readonly loginLimits: {
    /** Attempts of one account from one client address. */
    readonly perAccount: LoginLimit;
    readonly perAddress: LoginLimit;
  };
  /** `countersign.auth.trustProxy`: proxies (addresses, CIDRs) whose X-Forwarded-For is believed. */
  readonly trustProxy: readonly string[];
  /** `countersign.auth.minPasswordLength` (default 12) for `user add`. */
  readonly passwordRules: { readonly minLength: number };
  /** `countersign.webhooks` and `countersign.webhookDelivery` (docs/webhooks.md). */
  readonly webhooks: WebhookSettings;
  /** `countersign.jobs`. */
  readonly jobs: JobSettings;
}
