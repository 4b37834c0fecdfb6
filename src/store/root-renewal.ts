/**
 * Renewing a public repository's root before it or its root certificate expires
 * (docs/freshness.md "Store repositories"): a NEW root key, a certificate for it from the store
 * CA (CN = the public GUN, `CA:FALSE`, digitalSignature, no extended key usage, `rootLifetime`),
 * and root version + 1 listing it, signed by the old and the new root key — so a client holding
 * the old root follows the rotation (previous root's threshold and its own), and a client pinned
 * to the store CA accepts the new certificate.
 *
 * Two steps, because creating a key writes through the Signer and may not happen inside a
 * transaction: `newRootKey` before the repository's locked transaction, `renewRootInTransaction`
 * inside it. A key made for a renewal that then does not happen (another instance renewed first,
 * the transaction failed) is audited as discarded.
 */
import { fail } from '../errors.js';
import type { Signer } from '../signer/types.js';
import type { NewMeta, Storage, StorageTx, StoreRepository } from '../storage/types.js';
import { parseRoot, type Root } from '../tuf/metadata.js';
import { rootCertificateKeys } from '../tuf/root.js';
import { appendAudit } from './audit.js';
import type { StoreCaRecord } from './ca.js';
import { buildPublicRoot, newMeta, rootSigningKeyId } from './public-metadata.js';
import { issueRootCertificate } from './repositories.js';

/** A root key made for a renewal, with its certificate. */
export interface RootRenewalKey {
  readonly keyId: string;
  /** Go PEM. */
  readonly certificate: string;
  readonly notAfter: Date;
}

/**
 * The moment a root stops being usable: its expiry, or its earliest root certificate's notAfter.
 * Only leaves count: an intermediate is the cross certificate of a CA rotation, whose end only
 * ends the overlap (the leaf chains to the new CA directly); counting it would renew a root
 * issued near the end of the overlap again and again.
 */
export function rootUsableUntil(root: Root, gun: string): number {
  let until = root.expires.getTime();
  for (const key of rootCertificateKeys(root, gun, new Date(0), false).values()) {
    const leaf = key.certificates?.[0];
    if (leaf) until = Math.min(until, leaf.notAfter.getTime());
  }
  return until;
}

/** Whether less than `resignBefore` × `rootLifetimeMs` of the root's usable life is left at `now`. */
export function rootRenewalDue(
  root: Root,
  gun: string,
  now: Date,
  resignBefore: number,
  rootLifetimeMs: number
): boolean {
  return rootUsableUntil(root, gun) - resignBefore * rootLifetimeMs < now.getTime();
}

/**
 * A new P-256 root key for `publicGun` and its certificate from the store CA; both audited
 * (`key.created`, `certificate.issued`) as they are made.
 */
export async function newRootKey(
  o: { storage: Pick<Storage, 'audit'>; signer: Signer; actor: string },
  ca: StoreCaRecord,
  publicGun: string,
  now: Date,
  rootLifetimeMs: number
): Promise<RootRenewalKey> {
  const key = await o.signer.create(publicGun, 'root', 'ecdsa');
  const audit = (action: 'key.created' | 'certificate.issued', details: Record<string, unknown>) =>
    appendAudit(o.storage.audit, { at: now, actor: o.actor, action, subject: publicGun, details });
  await audit('key.created', {
    publicGun,
    role: 'root',
    keyId: key.keyId,
    keyType: key.keyType,
    reason: 'root renewal',
  });
  const { certificate, notAfter } = await issueRootCertificate(
    o.signer,
    ca,
    key.keyId,
    publicGun,
    now,
    rootLifetimeMs
  );
  await audit('certificate.issued', {
    publicGun,
    keyId: key.keyId,
    issuer: ca.keyId,
    notAfter: notAfter.toISOString(),
    certificate,
  });
  return { keyId: key.keyId, certificate, notAfter };
}

export interface RenewedRoot {
  /** The repository as it is after the renewal (new certificate, new root key). */
  readonly repo: StoreRepository;
  readonly root: Root;
  readonly file: NewMeta;
  /** The replaced root key: its server key and the certificate key IDs the old root listed. */
  readonly previous: { readonly keyId: string; readonly certificateKeyIds: readonly string[] };
}

/**
 * Inside the repository's locked transaction: root version + 1 listing `key`'s certificate,
 * expiring with it (at most `rootLifetimeMs` from now), signed by the current and the new root
 * key; the repository's certificate replaced. The caller writes the file together with a new
 * snapshot and timestamp.
 */
export async function renewRootInTransaction(
  tx: StorageTx,
  signer: Signer,
  o: {
    repo: StoreRepository;
    current: Root;
    key: RootRenewalKey;
    now: Date;
    rootLifetimeMs: number;
  }
): Promise<RenewedRoot> {
  const gun = o.repo.publicGun;
  const latest = await tx.meta.getLatest(gun, 'root');
  if (!latest) return fail('conflict', `${gun} has no root to renew`);
  const previous = {
    keyId: rootSigningKeyId(o.repo),
    certificateKeyIds: o.current.roles.root.keyids,
  };
  const repo: StoreRepository = {
    ...o.repo,
    rootKeyId: o.key.keyId,
    rootCertificate: o.key.certificate,
    updatedAt: o.now,
  };
  const expires = new Date(Math.min(o.now.getTime() + o.rootLifetimeMs, o.key.notAfter.getTime()));
  const data = await buildPublicRoot(tx, signer, repo, latest.version + 1, expires, previous);
  await tx.storeRepositories.setRootCertificate(gun, o.key.certificate, o.now, o.key.keyId);
  return {
    repo,
    root: parseRoot(data).signed,
    file: newMeta('root', latest.version + 1, data),
    previous,
  };
}
