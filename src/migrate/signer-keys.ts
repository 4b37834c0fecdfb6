/**
 * notary-signer's private keys, opened (docs/migrate.md "From notary-server with notary-signer"). notary-signer stores each key
 * in `private_keys.private` as a JWE compact serialisation made by jose2go: key wrap
 * PBES2-HS256+A128KW under the passphrase of the row's `passphrase_alias` (notary-signer reads it
 * from the environment variable NOTARY_SIGNER_<ALIAS>, alias upper-cased), content encryption
 * A256GCM. The plaintext is the key's private bytes as notary keeps them: for `ecdsa` the DER
 * ECPrivateKey (SEC 1) of a P-256 key, for `ed25519` the 64 bytes seed ‖ public key.
 *
 * jose (through src/crypto/jose-lib.ts) decrypts. Opened keys are checked against the row's key ID
 * and public key before anyone may re-seal them, so a key can never arrive under another ID.
 */
import { createPrivateKey } from 'node:crypto';
import { fail, isCountersignError } from '../errors.js';
import { compactDecrypt } from '../crypto/jose-lib.js';
import { signingKeyFromSecret } from '../crypto/signing.js';
import type { KeyAlgorithm } from '../storage/types.js';

/** One `private_keys` row as read from notary-signer's database. */
export interface NotarySignerKeyRow {
  readonly keyId: string;
  readonly gun: string;
  readonly role: string;
  /** notary's key algorithm: `ecdsa`, `ed25519` (notary-signer makes no others), … */
  readonly algorithm: string;
  readonly passphraseAlias: string;
  /** The public key bytes (DER SubjectPublicKeyInfo for ecdsa, 32 raw bytes for ed25519). */
  readonly publicKey: Buffer;
  /** The JWE compact serialisation, as text. */
  readonly sealed: string;
  readonly createdAt: Date;
  /** notary-signer's last_used: null while the key is pending. */
  readonly lastUsed: Date | null;
}

/** A key opened and checked: the 32-byte secret Countersign's signer takes. */
export interface OpenedSignerKey {
  readonly row: NotarySignerKeyRow;
  readonly algorithm: KeyAlgorithm;
  readonly keyType: string;
  readonly publicB64: string;
  /** The caller re-seals it at once and then zeroes it. */
  readonly secret: Uint8Array;
}

/** Generous for jose2go's iteration counts, and still a bound on the work a hostile row can ask for. */
const MAX_PBES2_ITERATIONS = 1_000_000;
/** A P-256 or Ed25519 key's JWE is well under 1 KiB; refuse anything absurd before parsing. */
const MAX_JWE_CHARS = 16 * 1024;

/** The environment variable notary-signer reads an alias's passphrase from. */
export function passphraseVariable(alias: string): string {
  return `NOTARY_SIGNER_${alias.toUpperCase()}`;
}

/** The passphrase of `alias` from `env`, or a CONFIG_INVALID error naming the variable. */
export function passphraseFor(alias: string, env: NodeJS.ProcessEnv): string {
  const name = passphraseVariable(alias);
  const value = env[name];
  if (value === undefined || value === '') {
    fail(
      'CONFIG_INVALID',
      `notary-signer's keys under passphrase alias ${JSON.stringify(alias)} need the passphrase in ${name}, as notary-signer itself does`
    );
  }
  return value;
}

/** Decrypts one row with its alias's passphrase and checks the key is the one the row names. */
export async function openSignerKey(
  row: NotarySignerKeyRow,
  passphrase: string
): Promise<OpenedSignerKey> {
  const algorithm = keyAlgorithm(row);
  const plaintext = await decrypt(row, passphrase);
  try {
    const secret = secretOf(algorithm, plaintext, row.keyId);
    const key = signingKeyFromSecret(algorithm, secret);
    if (
      key.publicKey.id !== row.keyId ||
      !Buffer.from(key.publicKey.publicB64, 'base64').equals(row.publicKey)
    ) {
      fail(
        'KEY_ID_MISMATCH',
        `notary-signer key ${row.keyId}: the decrypted private key does not belong to the row's public key`
      );
    }
    return {
      row,
      algorithm,
      keyType: key.publicKey.keyType,
      publicB64: key.publicKey.publicB64,
      secret,
    };
  } finally {
    plaintext.fill(0);
  }
}

function keyAlgorithm(row: NotarySignerKeyRow): KeyAlgorithm {
  if (row.algorithm === 'ecdsa' || row.algorithm === 'ed25519') return row.algorithm;
  return fail(
    'KEY_UNSUPPORTED',
    `notary-signer key ${row.keyId} is ${JSON.stringify(row.algorithm)}; Countersign holds ecdsa and ed25519 keys`
  );
}

async function decrypt(row: NotarySignerKeyRow, passphrase: string): Promise<Uint8Array> {
  if (row.sealed.length > MAX_JWE_CHARS)
    fail('KEY_INVALID', `notary-signer key ${row.keyId}: the encrypted key is too large`);
  try {
    const { plaintext } = await compactDecrypt(
      row.sealed.trim(),
      new TextEncoder().encode(passphrase),
      {
        keyManagementAlgorithms: ['PBES2-HS256+A128KW'],
        contentEncryptionAlgorithms: ['A256GCM'],
        maxPBES2Count: MAX_PBES2_ITERATIONS,
      }
    );
    return plaintext;
  } catch (err) {
    if (isCountersignError(err)) throw err;
    const code = (err as { code?: string }).code;
    if (code === 'ERR_JWE_DECRYPTION_FAILED') {
      fail(
        'SIGNER_DECRYPT',
        `notary-signer key ${row.keyId} does not decrypt with the passphrase in ${passphraseVariable(row.passphraseAlias)}: wrong passphrase`,
        { cause: err }
      );
    }
    return fail(
      'KEY_INVALID',
      `notary-signer key ${row.keyId} is not a JWE this import can open (${(err as Error).message})`,
      { cause: err }
    );
  }
}

/** The 32-byte secret inside notary's private key bytes. */
function secretOf(algorithm: KeyAlgorithm, plaintext: Uint8Array, keyId: string): Uint8Array {
  if (algorithm === 'ed25519') {
    if (plaintext.length !== 64)
      fail('KEY_INVALID', `notary-signer key ${keyId}: an ed25519 private key has 64 bytes`);
    return Uint8Array.from(plaintext.subarray(0, 32));
  }
  let d: string | undefined;
  try {
    const key = createPrivateKey({ key: Buffer.from(plaintext), format: 'der', type: 'sec1' });
    const jwk = key.export({ format: 'jwk' });
    if (jwk.crv === 'P-256') d = jwk.d;
  } catch (err) {
    fail('KEY_INVALID', `notary-signer key ${keyId} is not a DER EC private key`, { cause: err });
  }
  if (d === undefined) fail('KEY_INVALID', `notary-signer key ${keyId} is not a P-256 key`);
  return Uint8Array.from(Buffer.from(d, 'base64url'));
}
