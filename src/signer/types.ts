/**
 * The signer boundary: every signature the server makes goes through this interface, so a KMS
 * or HSM backend can replace src/signer/local.ts without touching protocol code (docs/design.md "Keys").
 */
import type { CertificateRequest } from '../crypto/certificates.js';
import type { KeyAlgorithm } from '../crypto/signing.js';

export type { CertificateRequest } from '../crypto/certificates.js';

/** A public key as metadata lists it. */
export interface PublicKeyInfo {
  readonly keyId: string;
  readonly keyType: string;
  readonly publicB64: string;
}

/** One signature as it goes into an envelope's `signatures` list. */
export interface SignatureEntry {
  readonly keyid: string;
  readonly method: string;
  readonly sig: string;
}

export interface Signer {
  /**
   * The pending key of (gun, role), created if there is none (notary-signer's "one pending key"
   * behaviour, docs/protocol.md §3.1): repeated calls return the same key until it signs.
   */
  getOrCreatePending(gun: string, role: string, algorithm?: KeyAlgorithm): Promise<PublicKeyInfo>;
  /** A new key for (gun, role), or the existing pending one (rotation, docs/protocol.md §3.2). */
  rotate(gun: string, role: string, algorithm?: KeyAlgorithm): Promise<PublicKeyInfo>;
  /** A new key that is never handed out as pending (store root, targets and CA keys). */
  create(gun: string, role: string, algorithm?: KeyAlgorithm): Promise<PublicKeyInfo>;
  /** Which of these key IDs the server holds a private key for. */
  held(keyIds: readonly string[]): Promise<Set<string>>;
  /**
   * Signs `message` (canonical bytes) with each listed key the server holds. Keys it does not
   * hold are skipped; the caller checks the threshold. Signing writes nothing: a key leaves the
   * pending state when a stored root lists it (src/notary/update.ts), inside that transaction.
   */
  sign(keyIds: readonly string[], message: Uint8Array): Promise<SignatureEntry[]>;
  /**
   * Issues an X.509 certificate (PEM) for the public key of `subjectKeyId`, signed with the
   * private key of `issuerKeyId` — the store CA's certificates and the public roots' — so no
   * private key ever leaves the signer. Without `issuerCertificatePem` the certificate is
   * self-signed (issuer and subject must then be the same key). Both keys must be held ECDSA
   * P-256 keys. A KMS or HSM backend implements this natively (sign the TBSCertificate with the
   * held key); the local signer opens the key for the moment of signing.
   */
  issueCertificate(
    issuerKeyId: string,
    subjectKeyId: string,
    request: CertificateRequest,
    issuerCertificatePem?: string
  ): Promise<string>;
}
