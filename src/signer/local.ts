/**
 * The local signer: server-held keys live in the database (KeyStore), sealed at rest by a
 * Sealer (src/signer/keyring.ts), opened only for the moment of signing. Decrypted keys are
 * cached in memory by key ID so a read-path re-sign costs a signature, not a scrypt or a query.
 */
import { webcrypto } from 'node:crypto';
import { fail, isCountersignError } from '../errors.js';
import {
  issueCertificate,
  p256FromSecret,
  type CertificateRequest,
} from '../crypto/certificates.js';
import { generateSigningKey, signingKeyFromSecret, type SigningKey } from '../crypto/signing.js';
import type { KeyAlgorithm } from '../crypto/signing.js';
import type { KeyStore, StoredKey } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { toBase64 } from '../util/bytes.js';
import type { PublicKeyInfo, SignatureEntry, Signer } from './types.js';

/** Seals private key bytes for one key ID (AES-256-GCM in src/signer/keyring.ts). */
export interface Sealer {
  seal(keyId: string, secret: Uint8Array): Buffer;
  open(keyId: string, sealed: Buffer): Buffer;
}

export interface LocalSignerOptions {
  readonly keys: KeyStore;
  readonly sealer: Sealer;
  readonly clock: Clock;
  readonly defaultAlgorithm?: KeyAlgorithm;
  /** Most opened keys kept in memory (default MAX_OPENED_KEYS). */
  readonly maxOpenedKeys?: number;
}

/** Most opened server keys held in memory (about 1.5 KB each). */
export const MAX_OPENED_KEYS = 10_000;

export class LocalSigner implements Signer {
  private readonly keys: KeyStore;
  private readonly sealer: Sealer;
  private readonly clock: Clock;
  private readonly defaultAlgorithm: KeyAlgorithm;
  /**
   * Opened keys by ID, least recently used first. Keys are never deleted while the process
   * runs, so entries never go stale; the cap keeps memory flat however many GUNs are served
   * (two server keys each), and a key dropped from it is opened again on its next use.
   */
  private readonly opened = new Map<string, SigningKey>();
  private readonly maxOpened: number;

  constructor(opts: LocalSignerOptions) {
    this.keys = opts.keys;
    this.sealer = opts.sealer;
    this.clock = opts.clock;
    this.defaultAlgorithm = opts.defaultAlgorithm ?? 'ecdsa';
    this.maxOpened = opts.maxOpenedKeys ?? MAX_OPENED_KEYS;
  }

  async getOrCreatePending(
    gun: string,
    role: string,
    algorithm?: KeyAlgorithm
  ): Promise<PublicKeyInfo> {
    const existing = await this.keys.getPending(gun, role);
    if (existing) return info(existing);
    const stored = await this.keys.insertPendingIfAbsent(
      this.newStoredKey(gun, role, algorithm ?? this.defaultAlgorithm)
    );
    return info(stored);
  }

  async rotate(gun: string, role: string, algorithm?: KeyAlgorithm): Promise<PublicKeyInfo> {
    // notary-signer hands back an unused pending key if there is one (docs/protocol.md §3.2).
    return this.getOrCreatePending(gun, role, algorithm);
  }

  async create(gun: string, role: string, algorithm?: KeyAlgorithm): Promise<PublicKeyInfo> {
    const key = this.newStoredKey(gun, role, algorithm ?? this.defaultAlgorithm);
    await this.keys.insert({ ...key, activatedAt: this.clock.now() });
    return info(key);
  }

  async held(keyIds: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const id of keyIds) if (this.opened.has(id) || (await this.keys.get(id))) out.add(id);
    return out;
  }

  async sign(keyIds: readonly string[], message: Uint8Array): Promise<SignatureEntry[]> {
    const out: SignatureEntry[] = [];
    for (const id of new Set(keyIds)) {
      const key = await this.open(id);
      if (!key) continue;
      const { method, sig } = key.sign(message);
      out.push({ keyid: id, method, sig: toBase64(sig) });
    }
    return out;
  }

  async issueCertificate(
    issuerKeyId: string,
    subjectKeyId: string,
    request: CertificateRequest,
    issuerCertificatePem?: string
  ): Promise<string> {
    const issuer = await this.open(issuerKeyId);
    if (!issuer) fail('SIGNER_NO_KEY', `the server holds no key ${issuerKeyId}`);
    if (issuer.algorithm !== 'ecdsa')
      fail(
        'KEY_UNSUPPORTED',
        `certificates are issued with ECDSA P-256 keys only; ${issuerKeyId} is ${issuer.algorithm}`
      );
    const issuerPair = await p256FromSecret(issuer.secretBytes());
    if (issuerCertificatePem === undefined) {
      if (subjectKeyId !== issuerKeyId)
        fail('KEY_INVALID', 'a self-signed certificate is issued by its own key');
      return issueCertificate(request, issuerPair);
    }
    const subject = await this.keys.get(subjectKeyId);
    if (!subject) fail('SIGNER_NO_KEY', `the server holds no key ${subjectKeyId}`);
    if (subject.algorithm !== 'ecdsa')
      fail(
        'KEY_UNSUPPORTED',
        `certificates are issued for ECDSA P-256 keys only; ${subjectKeyId} is ${subject.algorithm}`
      );
    const publicKey = await webcrypto.subtle.importKey(
      'spki',
      Buffer.from(subject.publicB64, 'base64'),
      { name: 'ECDSA', namedCurve: 'P-256' },
      true,
      ['verify']
    );
    // Only the subject's public key goes into the certificate; the issuer's private key signs it.
    return issueCertificate(
      request,
      { publicKey, privateKey: issuerPair.privateKey },
      { certificatePem: issuerCertificatePem, privateKey: issuerPair.privateKey }
    );
  }

  /** The signing key for an ID, or undefined if the server does not hold it. */
  private async open(keyId: string): Promise<SigningKey | undefined> {
    const cached = this.opened.get(keyId);
    if (cached) {
      this.opened.delete(keyId); // to the most recently used end
      this.opened.set(keyId, cached);
      return cached;
    }
    const stored = await this.keys.get(keyId);
    if (!stored) return undefined;
    let key: SigningKey;
    try {
      const secret = this.sealer.open(keyId, stored.sealedPrivate);
      key = signingKeyFromSecret(stored.algorithm, secret);
      secret.fill(0);
    } catch (err) {
      if (isCountersignError(err)) throw err;
      fail('SIGNER_DECRYPT', `server key ${keyId} cannot be opened`, { cause: err });
    }
    if (key.publicKey.id !== keyId)
      fail('SIGNER_DECRYPT', `server key ${keyId} does not match its stored public key`);
    if (this.opened.size >= this.maxOpened) {
      const oldest = this.opened.keys().next().value;
      if (oldest !== undefined) this.opened.delete(oldest);
    }
    this.opened.set(keyId, key);
    return key;
  }

  private newStoredKey(gun: string, role: string, algorithm: KeyAlgorithm): StoredKey {
    const key = generateSigningKey(algorithm);
    const id = key.publicKey.id;
    const stored: StoredKey = {
      keyId: id,
      gun,
      role,
      algorithm,
      keyType: key.publicKey.keyType,
      publicB64: key.publicKey.publicB64,
      sealedPrivate: this.sealer.seal(id, key.secretBytes()),
      createdAt: this.clock.now(),
      activatedAt: null,
    };
    return stored;
  }
}

function info(k: StoredKey): PublicKeyInfo {
  return { keyId: k.keyId, keyType: k.keyType, publicB64: k.publicB64 };
}
