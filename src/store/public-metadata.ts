/**
 * Writing a public repository's metadata (docs/design.md "Publish", "Revoke"): a root whose root key
 * is the store's `ecdsa-x509` certificate key, targets signed by the store's targets key alone
 * (no delegations, ever), and the snapshot and timestamp the server signs — one `updateMany`, in
 * the caller's transaction.
 */
import { fail } from '../errors.js';
import { PublicKey } from '../crypto/keys.js';
import { loadCurrent, loadCurrentRole } from '../notary/current.js';
import type { ParsedMetadata } from '../notary/parsed.js';
import {
  buildServerSnapshot,
  buildServerTimestamp,
  snapshotMetaJSON,
} from '../notary/server-signing.js';
import type { Lifetimes } from '../notary/expiry.js';
import type { SignatureEntry, Signer } from '../signer/types.js';
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
 * The server key behind the root certificate `repo` lists: the key that signs its root.json.
 * Read from the certificate itself, which a root renewal replaces together with the key
 * (`StoreRepository.rootKeyId` keeps naming the key the repository was created with).
 */
export function rootSigningKeyId(repo: Pick<StoreRepository, 'rootCertificate'>): string {
  return rootCertificateKey(repo).canonicalId();
}

/** The root key of the previous root version, when a renewal replaced it with a new one. */
export interface PreviousRootKey {
  /** The server key behind the previous root certificate. */
  readonly keyId: string;
  /** The certificate key IDs the previous root listed for it. */
  readonly certificateKeyIds: readonly string[];
}

/**
 * Root version `version` of a store repository, signed by its root key. `previous` makes it a
 * renewal the clients holding the previous root accept (root rotation rule: the previous root's
 * threshold and its own):
 * - key IDs (same key, renewed certificate): the root key also signs under those IDs;
 * - a PreviousRootKey (a new key): the previous key signs as well, under its certificate IDs.
 */
export async function buildPublicRoot(
  tx: StorageTx,
  signer: Signer,
  repo: StoreRepository,
  version: number,
  expires: Date,
  previous: readonly string[] | PreviousRootKey = []
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
  const keyId = rootSigningKeyId(repo);
  if (isKeyIdList(previous)) return signOnly(signer, keyId, signed, [rootKey.id, ...previous]);
  if (previous.keyId === keyId)
    return signOnly(signer, keyId, signed, [rootKey.id, ...previous.certificateKeyIds]);
  const signatures: SignatureEntry[] = [];
  for (const [id, asKeyIds] of [
    [keyId, [rootKey.id]],
    [previous.keyId, previous.certificateKeyIds],
  ] as const) {
    const [sig] = await signer.sign([id], signingBytes(signed));
    if (!sig) return fail('SIGNER_NO_KEY', `the server cannot sign with key ${id}`);
    for (const as of new Set(asKeyIds)) signatures.push({ ...sig, keyid: as });
  }
  return envelopeBytes(signed, signatures);
}

function isKeyIdList(p: readonly string[] | PreviousRootKey): p is readonly string[] {
  return Array.isArray(p);
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
export async function loadPublicState(
  tx: StorageTx,
  repo: StoreRepository,
  parsed: ParsedMetadata
): Promise<PublicState> {
  const gun = repo.publicGun;
  const state = await loadCurrent(tx.meta, gun, parsed);
  if (!state) {
    if (await tx.meta.getLatest(gun, 'root')) {
      fail(
        'conflict',
        `${gun} holds trust data without a current timestamp; the store will not write over it`
      );
    }
    return { root: null, targets: {} };
  }
  const rootRow = await loadCurrentRole(tx.meta, gun, 'root', parsed, state);
  const targetsRow = await loadCurrentRole(tx.meta, gun, 'targets', parsed, state);
  if (!rootRow || !targetsRow)
    return fail('conflict', `${gun} has incomplete trust data; the store will not write over it`);
  const root = parsed.root(rootRow).signed;
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

/** Public targets listing exactly `targets`: no delegations, signed by the store targets key alone. */
export function buildPublicTargets(
  signer: Signer,
  repo: Pick<StoreRepository, 'targetsKeyId'>,
  targets: JsonObject,
  version: number,
  expires: Date
): Promise<Buffer> {
  const signed: JsonObject = {
    _type: 'Targets',
    delegations: { keys: {}, roles: [] },
    expires: formatExpires(expires),
    targets,
    version,
  };
  return signOnly(signer, repo.targetsKeyId, signed);
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
  parsed: ParsedMetadata;
}): Promise<PublicWrite> {
  const { tx, signer, repo, now } = o;
  const gun = repo.publicGun;
  const files: NewMeta[] = [];
  let root = o.state.root;
  if (root === null) {
    const data = await buildPublicRoot(tx, signer, repo, 1, o.rootExpires);
    root = parseRoot(data).signed;
    files.push(newMeta('root', 1, data));
  }
  const targetsVersion = ((await tx.meta.getLatest(gun, 'targets'))?.version ?? 0) + 1;
  const targetsData = await buildPublicTargets(
    signer,
    repo,
    o.targets,
    targetsVersion,
    new Date(now.getTime() + o.lifetimes.targets)
  );
  files.push(newMeta('targets', targetsVersion, targetsData));
  const written = await writeWithSnapshotAndTimestamp({
    tx,
    signer,
    gun,
    root,
    files,
    now,
    lifetimes: o.lifetimes,
    parsed: o.parsed,
  });
  return { targetsVersion, written };
}

export function newMeta(role: string, version: number, data: Buffer): NewMeta {
  return { role, version, data, sha256: sha256Hex(data) };
}

/**
 * Writes `files` (root, targets) and a new snapshot naming them and a timestamp over it, signed
 * by the server keys `root` lists — one `updateMany`. Returns everything written.
 */
export async function writeWithSnapshotAndTimestamp(o: {
  tx: StorageTx;
  signer: Signer;
  gun: string;
  /** The root the snapshot and timestamp keys are taken from (the new one, when `files` has it). */
  root: Root;
  files: readonly NewMeta[];
  now: Date;
  lifetimes: Lifetimes;
  /** The app's parsed files (src/notary/caches.ts). */
  parsed: ParsedMetadata;
}): Promise<NewMeta[]> {
  const { tx, signer, gun, root, now } = o;
  const writes: NewMeta[] = [...o.files];
  const updated = new Map<string, Uint8Array>(o.files.map((f) => [f.role, f.data]));
  const current = await loadCurrent(tx.meta, gun, o.parsed);
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
  writes.push(newMeta('snapshot', snapshot.version, snapshot.data));
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
  writes.push(newMeta('timestamp', timestamp.version, timestamp.data));
  await tx.meta.updateMany(gun, writes, now);
  return writes;
}
