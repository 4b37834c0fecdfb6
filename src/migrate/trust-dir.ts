/**
 * The owner's root key(s) from a notary or docker trust dir (`~/.notary`, `~/.docker/trust`),
 * for `countersign adopt`. notary keeps each private key in `private/<canonical key ID>.key`
 * (older versions: `private/root_keys/<ID>.key`) as an encrypted PKCS#8 PEM with notary's own
 * header lines (`role: root`, `gun: …`) before the base64; the canonical ID is the ID of the bare
 * public key inside the root's x509 certificate. The passphrase is the root passphrase
 * (NOTARY_ROOT_PASSPHRASE). Keys are opened for signing and never stored.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../errors.js';
import { signingKeyFromSecret } from '../crypto/signing.js';
import type { SignatureEntry } from '../signer/types.js';
import type { Root } from '../tuf/metadata.js';
import { toBase64 } from '../util/bytes.js';

/** A PEM key file is a few hundred bytes; refuse anything large before reading it. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

export interface RootKeySigner {
  /** Signs canonical bytes with every root key of the trust dir that the root lists. */
  sign(message: Uint8Array): SignatureEntry[];
  /** The root key IDs (as the root lists them) this signer holds. */
  readonly keyIds: readonly string[];
}

export function rootKeysFromTrustDir(
  trustDir: string,
  root: Root,
  passphrase: string
): RootKeySigner {
  if (!existsSync(join(trustDir, 'private')))
    fail('USAGE', `${trustDir} is not a notary or docker trust dir: it has no private/ folder`);
  const held: { keyId: string; secret: Uint8Array }[] = [];
  for (const keyId of root.roles.root.keyids) {
    const key = root.keys.get(keyId);
    if (!key || key.keyType !== 'ecdsa-x509') continue;
    const canonical = key.canonicalId();
    const file = [
      join(trustDir, 'private', `${canonical}.key`),
      join(trustDir, 'private', 'root_keys', `${canonical}.key`),
    ].find((f) => existsSync(f));
    if (!file) continue;
    held.push({ keyId, secret: ecdsaSecret(open(file, passphrase), canonical) });
  }
  if (held.length < root.roles.root.threshold) {
    fail(
      'SIGNER_NO_KEY',
      `${trustDir} holds ${held.length} of the ${root.roles.root.threshold} root key(s) this repository's root needs (ECDSA keys listed by the current root)`
    );
  }
  return {
    keyIds: held.map((h) => h.keyId),
    sign: (message) =>
      held.map(({ keyId, secret }) => {
        const { method, sig } = signingKeyFromSecret('ecdsa', secret).sign(message);
        return { keyid: keyId, method, sig: toBase64(sig) };
      }),
  };
}

/** Decrypts one notary PEM key file (its header lines dropped, as OpenSSL does not read them). */
function open(file: string, passphrase: string): KeyObject {
  if (statSync(file).size > MAX_KEY_FILE_BYTES)
    fail('KEY_INVALID', `${file} is too large for a key`);
  const text = readFileSync(file, 'utf8');
  const m = /-----BEGIN ([A-Z ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (!m) fail('KEY_INVALID', `${file} holds no PEM key`);
  const body = m[2]!
    .split(/\r?\n/)
    .filter((line) => line !== '' && !line.includes(':'))
    .join('\n');
  const pem = `-----BEGIN ${m[1]}-----\n${body}\n-----END ${m[1]}-----\n`;
  try {
    return createPrivateKey({ key: pem, format: 'pem', passphrase });
  } catch (err) {
    return fail(
      'SIGNER_DECRYPT',
      `the root key ${file} does not open with the root passphrase (NOTARY_ROOT_PASSPHRASE): wrong passphrase?`,
      { cause: err }
    );
  }
}

function ecdsaSecret(key: KeyObject, canonicalId: string): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  if (key.asymmetricKeyType !== 'ec' || jwk.crv !== 'P-256' || jwk.d === undefined)
    fail('KEY_UNSUPPORTED', `root key ${canonicalId} is not an ECDSA P-256 key`);
  const secret = Uint8Array.from(Buffer.from(jwk.d, 'base64url'));
  if (signingKeyFromSecret('ecdsa', secret).publicKey.id !== canonicalId)
    fail('KEY_ID_MISMATCH', `the key file of root key ${canonicalId} holds another key`);
  return secret;
}
