/**
 * Builds the auth runtime from the configuration (docs/interfaces.md "Accounts"):
 *   - external: notary-server's `auth.type: token` — tokens from another service, verified
 *     against `rootcertbundle`; no token endpoint here;
 *   - built-in: our own token service at `/auth/token`, signing with the server token key;
 *   - off: no `auth` section and no store — everyone may do everything, as notary-server.
 * In every mode the store API authenticates local accounts with Basic credentials, and accepts
 * the mode's Bearer tokens for the account their `sub` names.
 */
import { readFileSync } from 'node:fs';
import type { Config } from '../config/types.js';
import { fail } from '../errors.js';
import { openAccess, type AccessControl } from './access.js';
import type { Signer } from '../signer/types.js';
import type { Storage } from '../storage/types.js';
import { Zones } from './zones.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { BuiltinEndpoint, externalEndpoint, type ChallengeEndpoint } from './endpoint.js';
import { HashSlots } from './hash-slots.js';
import { PasswordLogin } from './login.js';
import { BearerVerifier, TokenAccessControl } from './notary-access.js';
import { prepareDummyPassword } from './passwords.js';
import { AccessPolicy } from './policy.js';
import { LoginRateLimiter } from './rate-limit.js';
import { RefreshTokens } from './refresh-tokens.js';
import { KeyHolderTokenIssuer } from './token-issuer.js';
import { serverTokenKey, trustRootsForKeys } from './token-key.js';
import { trustRootsFromPem } from './trust-roots.js';

export type AuthMode = 'off' | 'builtin' | 'external';

/** What the built-in token endpoint needs. */
export interface TokenService {
  readonly issuer: KeyHolderTokenIssuer;
  readonly refreshTokens: RefreshTokens;
  readonly endpoint: BuiltinEndpoint;
}

export interface AuthRuntime {
  readonly mode: AuthMode;
  readonly zones: Zones;
  readonly policy: AccessPolicy;
  /** The Notary API's access control. */
  readonly access: AccessControl;
  /** Realm and service of the challenge; undefined when auth is off. */
  readonly endpoint?: ChallengeEndpoint;
  /** Bearer tokens of this mode (built-in or external); undefined when auth is off. */
  readonly verifier?: BearerVerifier;
  readonly login: PasswordLogin;
  /** Present in built-in mode only. */
  readonly tokenService?: TokenService;
  /** Tells the built-in realm where the server really listens (called by `serve` after listen). */
  setListeningUrl(url: string): void;
  /**
   * Whether anonymous `/metrics` may name `gun`: only a public-zone GUN anonymous clients may
   * pull (built-in mode with anonymousPull). Never with auth off — a drop-in notary-server
   * names no GUN there, and its access control may live in a proxy in front of us — nor with
   * an external token service, which alone knows what anonymous clients get.
   */
  metricsMayName(gun: string): boolean;
}

export interface AuthSetupOptions {
  readonly storage: Storage;
  readonly signer: Signer;
  readonly clock: Clock;
  readonly log: Logger;
}

export async function setupAuth(config: Config, o: AuthSetupOptions): Promise<AuthRuntime> {
  const zones = new Zones(config.zones);
  const policy = new AccessPolicy({ zones, anonymousPull: config.anonymousPull });
  const limiter = new LoginRateLimiter({
    clock: o.clock,
    store: o.storage.loginAttempts,
    perAccount: config.loginLimits.perAccount,
    perAddress: config.loginLimits.perAddress,
  });
  const login = new PasswordLogin({
    accounts: o.storage.accounts,
    limiter,
    slots: new HashSlots(),
    clock: o.clock,
    log: o.log,
  });
  // With token auth on, the dummy hash for unknown names is made now, so the first such login
  // costs no more than others (with auth off only the store API's Basic logins need it).
  if (config.externalAuth !== undefined || config.builtinAuth !== undefined) {
    await prepareDummyPassword();
  }
  const base = { zones, policy, login };

  if (config.externalAuth !== undefined) {
    const ext = config.externalAuth;
    let pem: string;
    try {
      pem = readFileSync(ext.rootCertBundle, 'utf8');
    } catch (err) {
      return fail(
        'CONFIG_INVALID',
        `auth.options.rootcertbundle ${ext.rootCertBundle} cannot be read`,
        { cause: err }
      );
    }
    const endpoint = externalEndpoint(ext);
    const verifier = new BearerVerifier({
      issuer: ext.issuer,
      service: () => ext.service,
      roots: trustRootsFromPem(pem),
      clock: o.clock,
    });
    return {
      ...base,
      mode: 'external',
      access: new TokenAccessControl({ endpoint, verifier, policy }),
      endpoint,
      verifier,
      setListeningUrl: () => undefined,
      metricsMayName: () => false,
    };
  }

  if (config.builtinAuth !== undefined) {
    const b = config.builtinAuth;
    const key = await serverTokenKey(o.signer);
    const issuer = new KeyHolderTokenIssuer({
      issuer: b.issuer,
      key,
      lifetimeSeconds: b.tokenLifetimeSeconds,
      clock: o.clock,
    });
    await issuer.selfTest();
    const endpoint = new BuiltinEndpoint({ publicUrl: config.publicUrl, service: b.service });
    const verifier = new BearerVerifier({
      issuer: b.issuer,
      service: () => endpoint.service(),
      roots: trustRootsForKeys([key.publicKey]),
      clock: o.clock,
    });
    const refreshTokens = new RefreshTokens({
      store: o.storage.refreshTokens,
      clock: o.clock,
      lifetimeMs: b.refreshTokenLifetimeMs,
    });
    return {
      ...base,
      mode: 'builtin',
      access: new TokenAccessControl({ endpoint, verifier, policy }),
      endpoint,
      verifier,
      tokenService: { issuer, refreshTokens, endpoint },
      setListeningUrl: (url) => endpoint.setListeningUrl(url),
      metricsMayName: (gun) =>
        zones.isPublic(gun) && policy.anonymousAllows('repository', gun, 'pull'),
    };
  }

  return {
    ...base,
    mode: 'off',
    access: openAccess,
    setListeningUrl: () => undefined,
    metricsMayName: () => false,
  };
}
