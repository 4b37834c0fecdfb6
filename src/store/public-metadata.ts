/**
 * Writing a public repository's metadata (DESIGN.md "Publish", "Revoke"): a root whose root key
 * is the store's `ecdsa-x509` certificate key, targets signed by the store's targets key alone
 * (no delegations, ever), and the snapshot and timestamp the server signs — one `updateMany`, in
 * the caller's transaction.
 */
import { fail } from '../errors.js';
import { PublicKey } from '../crypto/keys.js';
import { loadCurrent, loadCurrentRole } from '../notary/current.js';
import {
  buildServerSnapshot,
  buildServerTimestamp,
  snapshotMetaJSON,
} from '../notary/server-signing.js';
import type { Lifetimes } from '../notary/expiry.js';
import type { Signer } from '../signer/types.js';
import type { NewMeta, StorageTx, StoreRepository } from '../storage/types.js';
import { envelopeBytes, signingBytes } from '../tuf/build.js';
import { parseRoot, parseTargets, type JsonObject, type Root } from '../tuf/metadata.js';
import { formatExpires } from '../tuf/time.js';
import { sha256Hex } from '../crypto/hash.js';

/** The root key as root.json lists it: the certificate, base64 of its Go PEM. */
export function rootCertificateKey(repo: Pick<StoreRepository, 'rootCertificate'>): PublicKey {
  return new PublicKey('ecdsa-x509', Buffer.from(repo.rootCertificate, 'utf8').toString('base64'));
}

async function publicKeyOf(tx: StorageTx, keyId: string): Promise<PublicKey> {
  const k = await tx.keys.get(keyId);
  if (!k) return fail('SIGNER_NO_KEY', `the server holds no key ${keyId}`);
  return new PublicKey(k.keyType, k.publicB64);
}

/**
 * Signs `signed` with the held key `keyId`, labelling the signature with each of `asKeyIds`
 * (default: the key's own ID). A root key appears in root.json as its certificate, whose key ID
 * differs from the signing key's own; after a certificate renewal the same key signs as the old
 * and the new certificate, which the rotation rule needs (previous root threshold and its own).
 */
async function signOnly(
  signer: Signer,
  keyId: string,
  signed: JsonObject,
  asKeyIds: readonly string[] = [keyId]
): Promise<Buffer> {
  const sigs = await signer.sign([keyId], signingBytes(signed));
  const [sig] = sigs;
  if (sigs.length !== 1 || !sig)
    return fail('SIGNER_NO_KEY', `the server cannot sign with key ${keyId}`);
  return envelopeBytes(
    signed,
    [...new Set(asKeyIds)].map((id) => ({ ...sig, keyid: id }))
  );
}

/**
 * Root version `version` of a store repository, signed by its root key alone. `previousRootKeyIds`
 * are the certificate key IDs the previous root listed, when the certificate was renewed: the
 * root key signs under those IDs too, so clients holding the previous root accept the new one.
 */
export async function buildPublicRoot(
  tx: StorageTx,
  signer: Signer,
  repo: StoreRepository,
  version: number,
  expires: Date,
  previousRootKeyIds: readonly string[] = []
): Promise<Buffer> {
  const rootKey = rootCertificateKey(repo);
  const keys: JsonObject = { [rootKey.id]: rootKey.toJSON() };
  const role = async (keyId: string) => {
    const key = await publicKeyOf(tx, keyId);
    keys[key.id] = key.toJSON();
    return { keyids: [key.id], threshold: 1 };
  };
  const signed: JsonObject = {
    _type: 'Root',
    consistent_snapshot: false,
    expires: formatExpires(expires),
    keys,
    roles: {
      root: { keyids: [rootKey.id], threshold: 1 },
      snapshot: await role(repo.snapshotKeyId),
      targets: await role(repo.targetsKeyId),
      timestamp: await role(repo.timestampKeyId),
    },
    version,
  };
  return signOnly(signer, repo.rootKeyId, signed, [rootKey.id, ...previousRootKeyIds]);
}

/** The public repository as it is: its current root and targets (null before the first publish). */
export interface PublicState {
  readonly root: Root | null;
  /** The current targets' `targets` object, verbatim. */
  readonly targets: JsonObject;
}

/**
 * The current state of a store repository. Refuses (conflict) a public GUN that holds metadata
 * the store did not make: its root must list exactly the store's targets key.
 */
export async function loadPublicState(tx: StorageTx, repo: StoreRepository): Promise<PublicState> {
  const gun = repo.publicGun;
  const state = await loadCurrent(tx.meta, gun);
  if (!state) {
    if (await tx.meta.getLatest(gun, 'root')) {
      fail(
        'conflict',
        `${gun} holds trust data without a current timestamp; the store will not write over it`
      );
    }
    return { root: null, targets: {} };
  }
  const rootRow = await loadCurrentRole(tx.meta, gun, 'root', state);
  const targetsRow = await loadCurrentRole(tx.meta, gun, 'targets', state);
  if (!rootRow || !targetsRow)
    return fail('conflict', `${gun} has incomplete trust data; the store will not write over it`);
  const root = parseRoot(rootRow.data).signed;
  const ids = root.roles.targets.keyids;
  if (ids.length !== 1 || ids[0] !== repo.targetsKeyId) {
    fail(
      'conflict',
      `${gun} holds trust data the store did not create (its targets key is not the store's)`
    );
  }
  const targets = parseTargets(targetsRow.data).signedJSON.targets;
  return {
    root,
    targets:
      typeof targets === 'object' && targets !== null && !Array.isArray(targets)
        ? (targets as JsonObject)
        : {},
  };
}

export interface PublicWrite {
  readonly targetsVersion: number;
  readonly written: readonly NewMeta[];
}

/**
 * Writes new public targets listing exactly `targets` (version + 1, expiry from the lifetimes,
 * signed by the store targets key only, no delegations), a root first when there is none, and
 * a snapshot and timestamp over them.
 */
export async function writePublicTargets(o: {
  tx: StorageTx;
  signer: Signer;
  repo: StoreRepository;
  state: PublicState;
  targets: JsonObject;
  now: Date;
  lifetimes: Lifetimes;
  /** Expiry of a first root (and its certificate's limit). */
  rootExpires: Date;
}): Promise<PublicWrite> {
  const { tx, signer, repo, now } = o;
  const gun = repo.publicGun;
  const writes: NewMeta[] = [];
  const add = (role: string, version: number, data: Buffer) =>
    writes.push({ role, version, data, sha256: sha256Hex(data) });
  const updated = new Map<string, Uint8Array>();

  let root = o.state.root;
  if (root === null) {
    const data = await buildPublicRoot(tx, signer, repo, 1, o.rootExpires);
    root = parseRoot(data).signed;
    add('root', 1, data);
    updated.set('root', data);
  }
  const targetsVersion = ((await tx.meta.getLatest(gun, 'targets'))?.version ?? 0) + 1;
  const targetsSigned: JsonObject = {
    _type: 'Targets',
    delegations: { keys: {}, roles: [] },
    expires: formatExpires(new Date(now.getTime() + o.lifetimes.targets)),
    targets: o.targets,
    version: targetsVersion,
  };
  const targetsData = await signOnly(signer, repo.targetsKeyId, targetsSigned);
  add('targets', targetsVersion, targetsData);
  updated.set('targets', targetsData);

  const current = await loadCurrent(tx.meta, gun);
  const snapshot = await buildServerSnapshot({
    signer,
    root,
    previous: current
      ? {
          version:
            (await tx.meta.getLatest(gun, 'snapshot'))?.version ??
            current.snapshotFile.signed.version,
          meta: snapshotMetaJSON(current.snapshotFile),
        }
      : undefined,
    updated,
    now,
    lifetimeMs: o.lifetimes.snapshot,
  });
  if (!snapshot)
    return fail('SIGNER_NO_KEY', `the server does not hold the snapshot key of ${gun}`);
  add('snapshot', snapshot.version, snapshot.data);
  const timestamp = await buildServerTimestamp({
    signer,
    root,
    previousVersion: (await tx.meta.getLatest(gun, 'timestamp'))?.version ?? 0,
    snapshot: snapshot.data,
    now,
    lifetimeMs: o.lifetimes.timestamp,
  });
  if (!timestamp)
    return fail('SIGNER_NO_KEY', `the server does not hold the timestamp key of ${gun}`);
  add('timestamp', timestamp.version, timestamp.data);
  await tx.meta.updateMany(gun, writes, now);
  return { targetsVersion, written: writes };
}
