/**
 * The libtrust key ID that docker/distribution puts in a token's `kid` and looks keys up by
 * (github.com/docker/libtrust util.go `keyIDFromCryptoKey` and `keyIDEncode`):
 *
 *   SHA-256 of the DER SubjectPublicKeyInfo (Go's x509.MarshalPKIXPublicKey), first 30 bytes
 *   (240 bits), RFC 4648 base32 (48 characters, so no padding), 12 groups of 4 joined by ':'.
 *
 *   e.g. ABCD:EFGH:IJKL:MNOP:QRST:UVWX:YZ23:4567:ABCD:EFGH:IJKL:MNOP
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding. */
export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/** The DER SPKI exactly as Go marshals it (EC points uncompressed, whatever form the key came in). */
export function spkiDer(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType === 'ec') {
    // Round-trip through JWK so a compressed point from a certificate is re-encoded uncompressed.
    const normalized = createPublicKey({ key: pub.export({ format: 'jwk' }), format: 'jwk' });
    return normalized.export({ type: 'spki', format: 'der' });
  }
  return pub.export({ type: 'spki', format: 'der' });
}

export function libtrustKeyId(key: KeyObject): string {
  const digest = createHash('sha256').update(spkiDer(key)).digest().subarray(0, 30);
  return base32Encode(digest).match(/.{4}/g)!.join(':');
}
