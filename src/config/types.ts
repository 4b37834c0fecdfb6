/** The validated, frozen configuration every other module receives (built by src/config/load.ts). */
import type { KeyAlgorithm } from '../storage/types.js';
import type { LogLevel } from '../util/log.js';

export type StorageConfig = { readonly backend: 'sqlite'; readonly path: string } | { readonly backend: 'postgres'; readonly url: string; readonly poolSize?: number };

export type TlsConfig =
  | { readonly mode: 'plain' }
  /** Generated on first start into DATA/tls (CA + server certificate) and reused after. */
  | { readonly mode: 'self-signed'; readonly dir: string; readonly hostnames: readonly string[] }
  | { readonly mode: 'files'; readonly certFile: string; readonly keyFile: string; readonly clientCaFile?: string };

/** notary-server's `auth.type: token` options (PROTOCOL.md §7.1). */
export interface ExternalTokenAuth {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  readonly rootCertBundle: string;
  readonly autoRedirect: boolean;
}

export interface StoreZone {
  readonly staging: string;
  readonly public: string;
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
  readonly keys: { readonly passphrase?: string; readonly keyFile?: string };
  readonly limits: { readonly maxBodyBytes: number; readonly maxPartBytes: number; readonly maxParts: number; readonly maxTargets: number; readonly maxDelegations: number };
  readonly expiry: {
    readonly timestamp?: number;
    readonly snapshot?: number;
    readonly targets?: number;
    readonly resignBefore?: number;
    readonly gunPrefixes?: Readonly<Record<string, { timestamp?: number; snapshot?: number; targets?: number }>>;
  };
  /** The `countersign` section's raw value of parts owned by later modules (store, policy, registries, accounts). */
  readonly countersign: Readonly<Record<string, unknown>>;
  readonly workers: number;
  readonly requestLog: boolean;
}
