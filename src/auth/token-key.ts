/**
 * The built-in token service's signing key: an ECDSA P-256 server key like the timestamp keys,
 * held through the Signer (sealed at rest in the database, so every instance signs with the same
 * key and verifies every instance's tokens). The Signer signs canonical bytes with raw r‖s over
 * SHA-256, which is exactly a JWS ES256 signature over the signing input.
 *
 * The key is the Signer's pending key of (TOKEN_KEY_GUN, TOKEN_KEY_ROLE): creation is race-free
 * across instances, and it stays pending because no root ever lists it, so every later call
 * finds the same key.
 */
import { createPublicKey } from 'node:crypto';
import { fail } from '../errors.js';
import type { Signer } from '../signer/types.js';
import { fromBase64 } from '../util/bytes.js';
import type { JwsSigningKey } from './token-issuer.js';
import { libtrustKeyId } from './libtrust.js';
import type { TrustRoots } from './trust-roots.js';

/** Not a GUN (a GUN is never empty): no repository route can reach this key. */
export const TOKEN_KEY_GUN = '';
export const TOKEN_KEY_ROLE = 'token';

export async function serverTokenKey(signer: Signer): Promise<JwsSigningKey> {
  const info = await signer.getOrCreatePending(TOKEN_KEY_GUN, TOKEN_KEY_ROLE, 'ecdsa');
  if (info.keyType !== 'ecdsa') fail('KEY_UNSUPPORTED', `token key ${info.keyId} is not ECDSA`);
  const der = fromBase64(info.publicB64);
  if (der === null)
    return fail('KEY_INVALID', `token key ${info.keyId} has no readable public key`);
  const publicKey = createPublicKey({ key: der, format: 'der', type: 'spki' });
  if (publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    fail('KEY_UNSUPPORTED', `token key ${info.keyId} is not on P-256`);
  }
  return {
    publicKey,
    algorithm: 'ES256',
    async sign(signingInput) {
      const [entry] = await signer.sign([info.keyId], signingInput);
      if (entry === undefined) return fail('SIGNER_NO_KEY', 'the token signing key is not held');
      return Buffer.from(entry.sig, 'base64');
    },
  };
}

/** Trust roots that accept exactly the given keys by their libtrust `kid` (no certificates). */
export function trustRootsForKeys(keys: readonly JwsSigningKey['publicKey'][]): TrustRoots {
  return { certificates: [], keys: new Map(keys.map((k) => [libtrustKeyId(k), k])) };
}
