/**
 * Account passwords: scrypt (RFC 7914) through node:crypto, stored as one self-describing string
 *
 *   scrypt$<N>$<r>$<p>$<salt, base64>$<hash, base64>      e.g. scrypt$32768$8$1$…$…
 *
 * with a fresh 16-byte salt per hash and N ≥ 2^15. Verification compares in constant time, and
 * an unknown account runs the same scrypt against a dummy hash, so response time does not tell
 * which account names exist.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { fail } from '../errors.js';
import { fromBase64, toBase64 } from '../util/bytes.js';

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };

const MIN_N = 2 ** 15;
const MAX_N = 2 ** 20;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Longer passwords are refused rather than hashed (HTTP Basic hands us arbitrary input). */
export const MAX_PASSWORD_BYTES = 1024;

interface Encoded {
  params: ScryptParams;
  salt: Buffer;
  hash: Buffer;
}

function checkParams(params: ScryptParams): void {
  const { N, r, p } = params;
  const powerOfTwo = Number.isSafeInteger(N) && N > 0 && (N & (N - 1)) === 0;
  if (!powerOfTwo || N < MIN_N || N > MAX_N)
    fail('CONFIG_INVALID', `scrypt N must be a power of two in 2^15..2^20`);
  if (!Number.isSafeInteger(r) || r < 1 || r > 32) fail('CONFIG_INVALID', 'scrypt r must be 1..32');
  if (!Number.isSafeInteger(p) || p < 1 || p > 16) fail('CONFIG_INVALID', 'scrypt p must be 1..16');
}

function derive(
  password: string,
  salt: Buffer,
  params: ScryptParams,
  length: number
): Promise<Buffer> {
  const { N, r, p } = params;
  return new Promise((resolve, reject) => {
    // maxmem must exceed scrypt's 128·N·r bytes (node's default is exactly 32 MiB).
    scrypt(password, salt, length, { N, r, p, maxmem: 256 * N * r * p }, (err, key) =>
      err ? reject(err) : resolve(key)
    );
  });
}

function decimal(text: string): number {
  return /^[1-9][0-9]{0,8}$/.test(text) ? Number(text) : NaN;
}

/** Parses a stored hash string; null when it is not one of ours. */
function decode(encoded: string): Encoded | null {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [, n, r, p, saltText, hashText] = parts as [string, string, string, string, string, string];
  const params = { N: decimal(n), r: decimal(r), p: decimal(p) };
  const salt = fromBase64(saltText);
  const hash = fromBase64(hashText);
  if (salt === null || hash === null || salt.length < 16 || hash.length < 16 || hash.length > 64)
    return null;
  try {
    checkParams(params);
  } catch {
    return null;
  }
  return { params, salt, hash };
}

export function isPasswordHash(encoded: string): boolean {
  return decode(encoded) !== null;
}

export async function hashPassword(
  password: string,
  params: ScryptParams = DEFAULT_SCRYPT
): Promise<string> {
  checkParams(params);
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES)
    fail('USAGE', 'password is too long');
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, params, HASH_BYTES);
  return ['scrypt', params.N, params.r, params.p, toBase64(salt), toBase64(hash)].join('$');
}

/** True when `password` matches `encoded`; false for a wrong password or an unreadable hash. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = decode(encoded);
  if (parsed === null) return false;
  const tooLong = Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES;
  // Still derive for an over-long password, so its rejection takes as long as any other.
  const derived = await derive(
    tooLong ? '' : password,
    parsed.salt,
    parsed.params,
    parsed.hash.length
  );
  return timingSafeEqual(derived, parsed.hash) && !tooLong;
}

let dummyHash: Promise<string> | undefined;

/** Computes the dummy hash ahead of time (at server start), so the first unknown name costs no extra. */
export function prepareDummyPassword(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(32).toString('base64'));
  return dummyHash;
}

/** Costs what verifying a real account costs, and always fails: use it for unknown accounts. */
export async function verifyDummyPassword(password: string): Promise<false> {
  await verifyPassword(password, await prepareDummyPassword());
  return false;
}

/** Verifies against an account's hash, or against the dummy when the account does not exist. */
export async function verifyPasswordOrDummy(
  password: string,
  encoded: string | undefined
): Promise<boolean> {
  return encoded === undefined ? verifyDummyPassword(password) : verifyPassword(password, encoded);
}

/** True when a stored hash uses weaker parameters than `params` and should be replaced at next login. */
export function needsRehash(encoded: string, params: ScryptParams = DEFAULT_SCRYPT): boolean {
  const parsed = decode(encoded);
  if (parsed === null) return true;
  const old = parsed.params;
  return (
    old.N < params.N || old.r < params.r || old.p < params.p || parsed.hash.length < HASH_BYTES
  );
}
