/**
 * The built-in token service's signing half: tokens that notary-server (and our verifier) accept.
 *
 * Header: `{"typ":"JWT","alg":"ES256","kid":<libtrust ID of the key>}` plus, when the caller
 * gives the key's certificate chain, `x5c` (standard base64 DER, leaf first). distribution tries
 * x5c before kid, so a chain up to a bundle CA lets the signing key rotate without touching the
 * verifiers' bundle; with kid alone the key's own certificate must be in the bundle.
 *
 * Claims are docker/distribution's `ClaimSet`: iss, sub, aud (a single string: notary-server
 * ≤2.8 refuses an array), exp, nbf, iat, jti, access.
 */
import { X509Certificate, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { fail } from '../errors.js';
import type { Clock } from '../util/clock.js';
import {
  algorithmForKey,
  base64UrlEncode,
  jwsSigningInput,
  signCompactJws,
  verifyJwsSignature,
  type JwsAlgorithm,
} from './jws.js';
import { libtrustKeyId } from './libtrust.js';
import type { Access } from './scope.js';

export const DEFAULT_TOKEN_LIFETIME_SECONDS = 300;

export interface TokenIssuerOptions {
  /** `iss`: must equal the verifiers' configured issuer. */
  readonly issuer: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The signing key's certificate, then any intermediates; adds `x5c` to every header. */
  readonly certificateChain?: readonly X509Certificate[];
  readonly lifetimeSeconds?: number;
  readonly clock: Clock;
  /** For tests: the `jti` source. */
  readonly randomId?: () => string;
}

export interface TokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly exp: number;
  readonly nbf: number;
  readonly iat: number;
  readonly jti: string;
  readonly access: Access[];
}

export interface IssueTokenRequest {
  /** `sub`: the account name, or '' for an anonymous token. */
  readonly subject: string;
  /** `aud`: the `service` the client asked for. */
  readonly audience: string;
  /** What the account is granted: already the intersection of what it asked for and may have. */
  readonly access: readonly Access[];
}

export interface IssuedToken {
  readonly token: string;
  readonly claims: TokenClaims;
  readonly issuedAt: Date;
  readonly expiresIn: number;
}

/** The JSON body of a token response (distribution's getTokenResponse / postTokenResponse). */
export interface TokenResponseBody {
  token: string;
  access_token: string;
  expires_in: number;
  /** RFC 3339, whole seconds. */
  issued_at: string;
  refresh_token?: string;
}

function sameKey(a: KeyObject, b: KeyObject): boolean {
  return libtrustKeyId(a) === libtrustKeyId(b);
}

/** Copies access entries into the claim's shape: type, [class,] name, actions. */
function accessClaim(access: readonly Access[]): Access[] {
  return access.map((a) =>
    a.class === undefined
      ? { type: a.type, name: a.name, actions: [...a.actions] }
      : { type: a.type, class: a.class, name: a.name, actions: [...a.actions] }
  );
}

/** The claims of one token: the same for every way of signing it. */
function buildClaims(
  issuer: string,
  lifetimeSeconds: number,
  clock: Clock,
  randomId: () => string,
  request: IssueTokenRequest
): { claims: TokenClaims; issuedAt: Date } {
  const issuedAt = new Date(Math.floor(clock.now().getTime() / 1000) * 1000);
  const iat = issuedAt.getTime() / 1000;
  const claims: TokenClaims = {
    iss: issuer,
    sub: request.subject,
    aud: request.audience,
    exp: iat + lifetimeSeconds,
    nbf: iat,
    iat,
    jti: randomId(),
    access: accessClaim(request.access),
  };
  return { claims, issuedAt };
}

function checkLifetime(lifetime: number): number {
  // The clients treat anything under 60 s as 60 s, so a shorter token would be used expired.
  if (!Number.isSafeInteger(lifetime) || lifetime < 60 || lifetime > 86_400) {
    fail('CONFIG_INVALID', 'token lifetime must be 60 s to 24 h');
  }
  return lifetime;
}

const randomJwtId = (): string => randomBytes(16).toString('base64url');

export class TokenIssuer {
  readonly issuer: string;
  readonly keyId: string;
  readonly lifetimeSeconds: number;
  private readonly privateKey: KeyObject;
  private readonly header: Readonly<Record<string, unknown>>;
  private readonly clock: Clock;
  private readonly randomId: () => string;

  constructor(options: TokenIssuerOptions) {
    const { privateKey, publicKey, certificateChain } = options;
    if (privateKey.type !== 'private')
      fail('KEY_INVALID', 'the token signing key must be a private key');
    if (!sameKey(createPublicKey(privateKey), publicKey)) {
      fail('KEY_INVALID', 'the token signing key pair does not match');
    }
    const leaf = certificateChain?.[0];
    if (leaf !== undefined && !sameKey(leaf.publicKey, publicKey)) {
      fail('CERT_INVALID', 'the token signing certificate holds another key');
    }
    this.issuer = options.issuer;
    this.keyId = libtrustKeyId(publicKey);
    this.lifetimeSeconds = checkLifetime(options.lifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS);
    this.privateKey = privateKey;
    this.clock = options.clock;
    this.randomId = options.randomId ?? randomJwtId;
    this.header = {
      typ: 'JWT',
      alg: algorithmForKey(privateKey),
      kid: this.keyId,
      ...(certificateChain === undefined || certificateChain.length === 0
        ? {}
        : { x5c: certificateChain.map((c) => c.raw.toString('base64')) }),
    };
  }

  async issue(request: IssueTokenRequest): Promise<IssuedToken> {
    const { claims, issuedAt } = buildClaims(
      this.issuer,
      this.lifetimeSeconds,
      this.clock,
      this.randomId,
      request
    );
    const token = await signCompactJws(this.header, { ...claims }, this.privateKey);
    return { token, claims, issuedAt, expiresIn: this.lifetimeSeconds };
  }
}

/**
 * A signing key whose private half lives elsewhere (the server's Signer, a KMS): it returns the
 * raw JWS signature of a signing input (for ES256, r‖s over SHA-256 of the input).
 */
export interface JwsSigningKey {
  readonly publicKey: KeyObject;
  readonly algorithm: JwsAlgorithm;
  sign(signingInput: Uint8Array): Promise<Uint8Array>;
}

export interface KeyHolderTokenIssuerOptions {
  readonly issuer: string;
  readonly key: JwsSigningKey;
  readonly lifetimeSeconds?: number;
  readonly clock: Clock;
  readonly randomId?: () => string;
}

/**
 * TokenIssuer's twin for a key the process does not hold itself: the same header (typ, alg,
 * libtrust kid) and claims, signed asynchronously through `key.sign`.
 */
export class KeyHolderTokenIssuer {
  readonly issuer: string;
  readonly keyId: string;
  readonly publicKey: KeyObject;
  readonly lifetimeSeconds: number;
  private readonly key: JwsSigningKey;
  private readonly header: Readonly<Record<string, unknown>>;
  private readonly clock: Clock;
  private readonly randomId: () => string;

  constructor(options: KeyHolderTokenIssuerOptions) {
    this.issuer = options.issuer;
    this.key = options.key;
    this.publicKey = options.key.publicKey;
    this.keyId = libtrustKeyId(options.key.publicKey);
    this.lifetimeSeconds = checkLifetime(options.lifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS);
    this.clock = options.clock;
    this.randomId = options.randomId ?? randomJwtId;
    this.header = { typ: 'JWT', alg: options.key.algorithm, kid: this.keyId };
  }

  async issue(request: IssueTokenRequest): Promise<IssuedToken> {
    const { claims, issuedAt } = buildClaims(
      this.issuer,
      this.lifetimeSeconds,
      this.clock,
      this.randomId,
      request
    );
    const signingInput = jwsSigningInput(this.header, { ...claims });
    const signature = await this.key.sign(Buffer.from(signingInput, 'ascii'));
    const token = `${signingInput}.${base64UrlEncode(signature)}`;
    return { token, claims, issuedAt, expiresIn: this.lifetimeSeconds };
  }

  /**
   * Signs and verifies one throw-away token: a key holder that signs in another format (DER
   * instead of r‖s, say) is caught at start, not by the first client.
   */
  async selfTest(): Promise<void> {
    const { token } = await this.issue({ subject: '', audience: 'self-test', access: [] });
    const [h, p, s] = token.split('.') as [string, string, string];
    const ok = await verifyJwsSignature(
      {
        header: { alg: this.key.algorithm },
        payload: {},
        signingInput: `${h}.${p}`,
        signature: Buffer.from(s, 'base64url'),
      },
      this.publicKey
    );
    if (!ok) fail('KEY_INVALID', 'the token signing key produces signatures that do not verify');
  }
}

/** The response body for a token; `token` and `access_token` carry the same JWT. */
export function tokenResponseBody(issued: IssuedToken, refreshToken?: string): TokenResponseBody {
  return {
    token: issued.token,
    access_token: issued.token,
    expires_in: issued.expiresIn,
    issued_at: issued.issuedAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
  };
}
