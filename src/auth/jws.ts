/**
 * Compact JWS (RFC 7515) as docker/distribution tokens use it: parse, sign, and check a signature
 * against a key that the caller has already decided to trust (trust-roots.ts does that).
 * Signatures are made and checked by jose (src/crypto/jose-lib.ts); what stays here is what
 * jose does not do, or not the way distribution's tokens need:
 *
 * - Parsing is ours, and strict where distribution is lenient (it pads and decodes with Go's
 *   non-strict base64): we refuse padding, non-URL alphabets and non-canonical trailing bits,
 *   cap the size before decoding (jose has no cap), refuse `crit`, and require the header and
 *   payload to be JSON objects in valid UTF-8. Callers read the parsed header first: the key is
 *   chosen from its `kid`/`x5c` (trust-roots.ts) before any signature is checked.
 * - Algorithms are tied to key types before jose is asked, so a token can never pick how its
 *   key is used and every refusal has a precise reason: `none` and every HMAC algorithm are
 *   refused outright (the classic attack signs HS256 with the verifier's public key as the
 *   secret), ES256/384/512 need the matching curve, RS and PS need RSA of 2048 bits or more,
 *   EdDSA needs Ed25519 (jose over WebCrypto has no Ed448; neither has distribution's libtrust).
 *   jose then checks the same again, and the signature.
 * - jose is asynchronous (WebCrypto): signing and verifying return promises.
 */
import type { KeyObject } from 'node:crypto';
import { CountersignError, fail } from '../errors.js';
import { CompactSign, compactVerify } from '../crypto/jose-lib.js';
import { invalidToken } from './token-error.js';
import { parseJsonBytes } from '../canonical/parse.js';

/** Tokens are a few hundred bytes (a few KiB with an x5c chain); anything larger is refused unread. */
export const MAX_JWS_LENGTH = 8 * 1024;

export type JwsAlgorithm =
  'ES256' | 'ES384' | 'ES512' | 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'EdDSA';

type AlgorithmSpec =
  | { kind: 'ec'; curve: string; signatureLength: number }
  | { kind: 'rsa'; pss: boolean }
  | { kind: 'eddsa' };

const ALGORITHMS: Record<JwsAlgorithm, AlgorithmSpec> = {
  ES256: { kind: 'ec', curve: 'prime256v1', signatureLength: 64 },
  ES384: { kind: 'ec', curve: 'secp384r1', signatureLength: 96 },
  ES512: { kind: 'ec', curve: 'secp521r1', signatureLength: 132 },
  RS256: { kind: 'rsa', pss: false },
  RS384: { kind: 'rsa', pss: false },
  RS512: { kind: 'rsa', pss: false },
  PS256: { kind: 'rsa', pss: true },
  PS384: { kind: 'rsa', pss: true },
  PS512: { kind: 'rsa', pss: true },
  EdDSA: { kind: 'eddsa' },
};

/** Below this an RSA key is refused for tokens, whatever the algorithm. */
export const MIN_RSA_BITS = 2048;

export function isJwsAlgorithm(alg: unknown): alg is JwsAlgorithm {
  return typeof alg === 'string' && Object.prototype.hasOwnProperty.call(ALGORITHMS, alg);
}

/** The header fields we read; anything else is kept as received. */
export interface JwsHeader {
  readonly alg: string;
  readonly typ?: string;
  readonly kid?: string;
  /** Standard base64 DER certificates, leaf first (RFC 7515 §4.1.6). */
  readonly x5c?: readonly string[];
  readonly jwk?: Readonly<Record<string, unknown>>;
  readonly [field: string]: unknown;
}

export interface ParsedJws {
  readonly header: JwsHeader;
  readonly payload: Readonly<Record<string, unknown>>;
  /** `base64url(header) "." base64url(payload)`, the bytes the signature covers. */
  readonly signingInput: string;
  readonly signature: Buffer;
}

/** Strict base64url without padding; null for anything else. */
export function base64UrlDecode(text: string): Buffer | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  const bytes = Buffer.from(text, 'base64url');
  // Unused trailing bits must be zero, so one token has one spelling.
  return bytes.toString('base64url') === text ? bytes : null;
}

export function base64UrlEncode(bytes: Uint8Array | string): string {
  return (typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes)).toString(
    'base64url'
  );
}

function decodeJsonObject(part: string, what: string): Record<string, unknown> {
  const bytes = base64UrlDecode(part);
  if (bytes === null) invalidToken(`token ${what} is not base64url`);
  let value: unknown;
  try {
    value = parseJsonBytes(bytes);
  } catch (err) {
    invalidToken(`token ${what} is not JSON`, err);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    invalidToken(`token ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function checkHeader(header: Record<string, unknown>): JwsHeader {
  if (typeof header.alg !== 'string') invalidToken('token header has no alg');
  for (const field of ['typ', 'kid'] as const) {
    if (header[field] !== undefined && typeof header[field] !== 'string') {
      invalidToken(`token header ${field} must be a string`);
    }
  }
  if (header.x5c !== undefined) {
    const x5c = header.x5c;
    if (
      !Array.isArray(x5c) ||
      x5c.length === 0 ||
      !x5c.every((c) => typeof c === 'string' && c !== '')
    ) {
      invalidToken('token header x5c must be a non-empty array of certificates');
    }
  }
  if (header.jwk !== undefined) {
    if (typeof header.jwk !== 'object' || header.jwk === null || Array.isArray(header.jwk)) {
      invalidToken('token header jwk must be an object');
    }
  }
  // We implement no JWS extensions, so a token that marks one critical cannot be understood.
  if (header.crit !== undefined) invalidToken('token header lists critical extensions');
  return header as JwsHeader;
}

/** Splits and decodes a compact JWS. Verifies nothing: the result is attacker-controlled. */
export function parseCompactJws(token: string, maxLength = MAX_JWS_LENGTH): ParsedJws {
  if (token.length > maxLength) invalidToken(`token longer than ${maxLength} characters`);
  const parts = token.split('.');
  if (parts.length !== 3) invalidToken('token is not a compact JWS (three dot-separated parts)');
  const [h, p, s] = parts as [string, string, string];
  const header = checkHeader(decodeJsonObject(h, 'header'));
  const payload = decodeJsonObject(p, 'payload');
  const signature = base64UrlDecode(s);
  if (signature === null || signature.length === 0)
    invalidToken('token signature is missing or not base64url');
  return { header, payload, signingInput: `${h}.${p}`, signature };
}

/** Why `alg` cannot be used with `key`, or null when it can. */
export function algorithmMismatch(alg: string, key: KeyObject): string | null {
  if (!isJwsAlgorithm(alg)) return `algorithm ${JSON.stringify(alg)} is not accepted`;
  if (key.type === 'secret') return 'symmetric keys are not accepted';
  const spec = ALGORITHMS[alg];
  const type = key.asymmetricKeyType;
  switch (spec.kind) {
    case 'ec': {
      const curve = type === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
      return curve === spec.curve ? null : `${alg} needs an EC key on ${spec.curve}`;
    }
    case 'rsa': {
      if (type !== 'rsa' && !(spec.pss && type === 'rsa-pss')) return `${alg} needs an RSA key`;
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      return bits >= MIN_RSA_BITS ? null : `RSA keys under ${MIN_RSA_BITS} bits are not accepted`;
    }
    case 'eddsa':
      return type === 'ed25519' ? null : 'EdDSA needs an Ed25519 key';
  }
}

/** The algorithm we sign with for a private (or public) key. */
export function algorithmForKey(key: KeyObject): JwsAlgorithm {
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const alg = (['ES256', 'ES384', 'ES512'] as const).find(
      (a) => (ALGORITHMS[a] as { curve: string }).curve === curve
    );
    if (alg !== undefined) return alg;
  }
  if (type === 'rsa') return 'RS256';
  if (type === 'rsa-pss') return 'PS256';
  if (type === 'ed25519') return 'EdDSA';
  return fail('KEY_UNSUPPORTED', `no JWS algorithm for a ${type ?? key.type} key`);
}

/** True when `jws.signature` is a valid signature by `key` under the header's `alg`. */
export async function verifyJwsSignature(jws: ParsedJws, key: KeyObject): Promise<boolean> {
  const alg = jws.header.alg;
  if (algorithmMismatch(alg, key) !== null) return false;
  const spec = ALGORITHMS[alg as JwsAlgorithm];
  // Raw r‖s of the curve's exact size, as JOSE and libtrust write it; DER is not accepted.
  if (spec.kind === 'ec' && jws.signature.length !== spec.signatureLength) return false;
  try {
    await compactVerify(`${jws.signingInput}.${base64UrlEncode(jws.signature)}`, key, {
      algorithms: [alg],
    });
    return true;
  } catch {
    return false; // jose's refusal (a bad signature, a key it will not use) is an invalid token
  }
}

/**
 * Signs `payload` with `privateKey`. The header's `alg` is set from the key (see algorithmForKey)
 * unless given, and must fit the key.
 */
export async function signCompactJws(
  header: Readonly<Record<string, unknown>>,
  payload: Readonly<Record<string, unknown>>,
  privateKey: KeyObject
): Promise<string> {
  if (privateKey.type !== 'private') fail('KEY_INVALID', 'signing needs a private key');
  const alg = header.alg === undefined ? algorithmForKey(privateKey) : header.alg;
  if (typeof alg !== 'string') return fail('KEY_UNSUPPORTED', 'alg must be a string');
  const mismatch = algorithmMismatch(alg, privateKey);
  if (mismatch !== null) fail('KEY_UNSUPPORTED', mismatch);
  try {
    return await new CompactSign(Buffer.from(JSON.stringify(payload), 'utf8'))
      .setProtectedHeader({ ...header, alg })
      .sign(privateKey);
  } catch (cause) {
    throw new CountersignError('KEY_UNSUPPORTED', `cannot sign a ${alg} token with this key`, {
      cause,
    });
  }
}

/** `base64url(header) "." base64url(payload)`: the bytes a JWS signature covers. */
export function jwsSigningInput(
  header: Readonly<Record<string, unknown>>,
  payload: Readonly<Record<string, unknown>>
): string {
  return `${base64UrlEncode(JSON.stringify(header))}.${base64UrlEncode(JSON.stringify(payload))}`;
}
