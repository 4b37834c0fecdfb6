/**
 * jose behind this one module: compact JWS signing and verification (src/auth/jws.ts, the
 * tokens of docker/distribution and of our token service) and compact JWE decryption
 * (src/migrate/signer-keys.ts, notary-signer's sealed keys). Only what those two use is
 * exported; every call site keeps its own checks around it (size caps before parsing, which
 * algorithms a key may be used with).
 */
export { CompactSign, compactDecrypt, compactVerify } from 'jose';
