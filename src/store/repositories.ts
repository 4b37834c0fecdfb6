/**
 * The keys of a public repository (docs/design.md "Publish"): created on its first publish, all
 * server-held and the store's own — a root key whose X.509 certificate has CN = the public GUN
 * and is issued by the store CA, a targets key, and snapshot and timestamp keys — none shared
 * with the staging repository. They are created before the publish transaction (key creation
 * writes through the Signer, outside any transaction) and recorded with `insertIfAbsent`, so
 * instances racing to create them agree on one set; the loser's keys are audited as discarded.
 */
import type { PublicKeyInfo, Signer } from '../signer/types.js';
import type { Storage, StoreRepository } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { appendAudit, type AuditRecord } from './audit.js';
import {
  caIntermediatePem,
  CERTIFICATE_BACKDATE_MS,
  goCertificatePem,
  type StoreCa,
  type StoreCaRecord,
} from './ca.js';
import type { StoreSettings } from './settings.js';

export interface RepositoryKeysOptions {
  readonly storage: Pick<Storage, 'storeRepositories' | 'audit'>;
  readonly signer: Signer;
  readonly clock: Clock;
  readonly ca: StoreCa;
  readonly settings: Pick<StoreSettings, 'rootLifetimeMs'>;
}

type RepositoryKeys = Record<'root' | 'targets' | 'snapshot' | 'timestamp', PublicKeyInfo>;
type Audit = (entry: Omit<AuditRecord, 'at' | 'actor' | 'subject'>) => Promise<unknown>;

/** The store repository of `publicGun`, creating its keys and root certificate on first use. */
export async function ensureStoreRepository(
  o: RepositoryKeysOptions,
  publicGun: string,
  actor: string
): Promise<StoreRepository> {
  const existing = await o.storage.storeRepositories.get(publicGun);
  if (existing) return existing;
  const now = o.clock.now();
  const ca = await o.ca.get();
  const audit: Audit = (entry) =>
    appendAudit(o.storage.audit, { at: now, actor, subject: publicGun, ...entry });
  const created = await createKeys(o.signer, publicGun, audit);
  const { certificate, notAfter } = await issueRootCertificate(
    o.signer,
    ca,
    created.root.keyId,
    publicGun,
    now,
    o.settings.rootLifetimeMs
  );
  await audit({
    action: 'certificate.issued',
    details: {
      publicGun,
      keyId: created.root.keyId,
      issuer: ca.keyId,
      notAfter: notAfter.toISOString(),
      certificate,
    },
  });
  const mine: StoreRepository = {
    publicGun,
    rootKeyId: created.root.keyId,
    rootCertificate: certificate,
    targetsKeyId: created.targets.keyId,
    snapshotKeyId: created.snapshot.keyId,
    timestampKeyId: created.timestamp.keyId,
    createdAt: now,
    updatedAt: now,
  };
  return record(o, mine, created, audit);
}

/** The four keys, server-held, each audited as created. */
async function createKeys(
  signer: Signer,
  publicGun: string,
  audit: Audit
): Promise<RepositoryKeys> {
  const created: RepositoryKeys = {
    // Certificates are issued for P-256 keys only, whatever the default algorithm.
    root: await signer.create(publicGun, 'root', 'ecdsa'),
    targets: await signer.create(publicGun, 'targets'),
    snapshot: await signer.create(publicGun, 'snapshot'),
    timestamp: await signer.create(publicGun, 'timestamp'),
  };
  for (const [role, key] of Object.entries(created)) {
    await audit({
      action: 'key.created',
      details: { publicGun, role, keyId: key.keyId, keyType: key.keyType },
    });
  }
  return created;
}

/** Records the repository unless another request did first; then its keys win and ours are discarded. */
async function record(
  o: RepositoryKeysOptions,
  mine: StoreRepository,
  created: RepositoryKeys,
  audit: Audit
): Promise<StoreRepository> {
  const { publicGun } = mine;
  const stored = await o.storage.storeRepositories.insertIfAbsent(mine);
  if (stored.rootKeyId !== mine.rootKeyId) {
    await audit({
      action: 'key.discarded',
      details: {
        publicGun,
        keyIds: Object.values(created).map((k) => k.keyId),
        reason: 'another request created the keys of this repository first',
      },
    });
    return stored;
  }
  await audit({
    action: 'repository.created',
    details: {
      publicGun,
      rootKeyId: mine.rootKeyId,
      targetsKeyId: mine.targetsKeyId,
      snapshotKeyId: mine.snapshotKeyId,
      timestampKeyId: mine.timestampKeyId,
    },
  });
  return mine;
}

/**
 * The root certificate of a public repository for the held P-256 key `keyId`: CN = the public
 * GUN, `CA:FALSE`, key usage digitalSignature, no extended key usage, issued by the store CA,
 * valid `lifetimeMs` from `now` — but never past the CA itself (Go refuses a chain as soon as any
 * certificate in it expired).
 */
export async function issueRootCertificate(
  signer: Signer,
  ca: StoreCaRecord,
  keyId: string,
  publicGun: string,
  now: Date,
  lifetimeMs: number
): Promise<{ certificate: string; notAfter: Date }> {
  const notAfter = new Date(Math.min(now.getTime() + lifetimeMs, Date.parse(ca.notAfter)));
  const certificate = goCertificatePem(
    await signer.issueCertificate(
      ca.keyId,
      keyId,
      {
        commonName: publicGun,
        notBefore: new Date(now.getTime() - CERTIFICATE_BACKDATE_MS),
        notAfter,
        isCA: false,
        // docs/design.md "Verified facts": no extended key usage, or CA-pinned clients refuse it.
        keyUsage: ['digitalSignature'],
      },
      ca.certificate
    )
  );
  // During a CA rotation's overlap the leaf carries the cross certificate, so consumers that
  // still pin only the old CA accept it (src/store/ca.ts).
  return { certificate: certificate + caIntermediatePem(ca, now), notAfter };
}
