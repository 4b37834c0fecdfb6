/**
 * `countersign adopt` (docs/migrate.md "Adopting a repository"): gives an imported repository
 * new server-held timestamp and snapshot keys when the old ones cannot be had (a hosted Notary
 * service, an import without --signer-db) or the repository is wedged (each rotation needs the
 * other missing key). One new root version, signed with the owner's root key(s), lists the new
 * keys in place of the old ones; a snapshot and a timestamp signed with them follow, all in one
 * transaction. Clients that cached the old root accept the new one: it is signed by the root
 * threshold they trust (a root rotation by the TUF rules, with unchanged root keys).
 */
import { fail } from '../errors.js';
import { loadCurrent, loadCurrentRole, type CurrentState } from '../notary/current.js';
import { ParsedMetadata } from '../notary/parsed.js';
import type { Lifetimes } from '../notary/expiry.js';
import {
  buildServerSnapshot,
  buildServerTimestamp,
  snapshotMetaJSON,
} from '../notary/server-signing.js';
import { LocalSigner, type Sealer } from '../signer/local.js';
import type { PublicKeyInfo } from '../signer/types.js';
import type { NewMeta, Storage } from '../storage/types.js';
import { envelopeBytes, signingBytes } from '../tuf/build.js';
import { parseRoot, type JsonObject, type Root, type SignedFile } from '../tuf/metadata.js';
import { validateRoot } from '../tuf/root.js';
import { formatExpires } from '../tuf/time.js';
import { sha256Hex } from '../crypto/hash.js';
import type { Clock } from '../util/clock.js';
import type { RootKeySigner } from './trust-dir.js';

/** notary's lifetime for a root: ten years. */
const ROOT_LIFETIME_MS = 10 * 365 * 24 * 3600 * 1000;

export interface AdoptOptions {
  readonly storage: Storage;
  readonly sealer: Sealer;
  readonly clock: Clock;
  readonly gun: string;
  readonly lifetimes: Lifetimes;
  /** The owner's root keys, found for the current root (the trust dir is read once it is known). */
  readonly rootKeys: (root: Root) => RootKeySigner;
}

export interface Adopted {
  readonly rootVersion: number;
  readonly timestamp: PublicKeyInfo;
  readonly snapshot: PublicKeyInfo;
}

export async function adoptRepository(opts: AdoptOptions): Promise<Adopted> {
  const { gun } = opts;
  return opts.storage.transaction(
    async (tx) => {
      const now = opts.clock.now();
      // One read of one repository: nothing to share with a later run.
      const parsed = new ParsedMetadata();
      const state = await loadCurrent(tx.meta, gun, parsed);
      const rootRow = state && (await loadCurrentRole(tx.meta, gun, 'root', parsed, state));
      if (!state || !rootRow)
        fail('MIGRATE_SOURCE', `Countersign has no published repository ${gun} to adopt`);
      const current = parseRoot(rootRow.data);
      const owner = opts.rootKeys(current.signed);
      // Keys made through this transaction's key store: a failed adopt leaves no stray key.
      const signer = new LocalSigner({ keys: tx.keys, sealer: opts.sealer, clock: opts.clock });
      const timestamp = await signer.create(gun, 'timestamp');
      const snapshot = await signer.create(gun, 'snapshot');
      const root = newRoot(current, { timestamp, snapshot }, owner, now);
      validateRoot(root, { gun, now, previous: current, checkExpiry: true });
      const rootFile = {
        role: 'root',
        version: root.signed.version,
        sha256: sha256Hex(root.raw),
        data: root.raw,
      };
      const signedTail = await serverFiles(signer, root, state, now, opts.lifetimes);
      if (!signedTail) fail('SIGNER_NO_KEY', `the new keys of ${gun} could not sign`);
      await tx.meta.updateMany(gun, [rootFile, ...signedTail], now);
      return { rootVersion: root.signed.version, timestamp, snapshot };
    },
    { lockGun: gun }
  );
}

/** The snapshot naming the new root and the timestamp over it, signed with the new server keys. */
async function serverFiles(
  signer: LocalSigner,
  root: SignedFile<Root>,
  state: CurrentState,
  now: Date,
  lifetimes: Lifetimes
): Promise<NewMeta[] | null> {
  const snap = await buildServerSnapshot({
    signer,
    root: root.signed,
    previous: {
      version: state.snapshotFile.signed.version,
      meta: snapshotMetaJSON(state.snapshotFile),
    },
    updated: new Map([['root', root.raw]]),
    now,
    lifetimeMs: lifetimes.snapshot,
  });
  const ts =
    snap &&
    (await buildServerTimestamp({
      signer,
      root: root.signed,
      previousVersion: state.timestampFile.signed.version,
      snapshot: snap.data,
      now,
      lifetimeMs: lifetimes.timestamp,
    }));
  return snap && ts
    ? [
        { role: 'snapshot', ...snap },
        { role: 'timestamp', ...ts },
      ]
    : null;
}

/**
 * The next root: the current one with the timestamp and snapshot roles moved to the new keys
 * (keys no role uses any more dropped), one version up, ten years from now, signed by the owner.
 */
function newRoot(
  current: SignedFile<Root>,
  keys: { timestamp: PublicKeyInfo; snapshot: PublicKeyInfo },
  owner: RootKeySigner,
  now: Date
): SignedFile<Root> {
  const signed = structuredClone(current.signedJSON);
  const roles = signed.roles as Record<string, { keyids: string[]; threshold: number }>;
  const allKeys = signed.keys as Record<string, JsonObject>;
  for (const role of ['timestamp', 'snapshot'] as const) {
    const key = keys[role];
    roles[role] = { keyids: [key.keyId], threshold: 1 };
    allKeys[key.keyId] = { keytype: key.keyType, keyval: { private: null, public: key.publicB64 } };
  }
  const used = new Set(Object.values(roles).flatMap((r) => r.keyids));
  for (const id of Object.keys(allKeys)) if (!used.has(id)) delete allKeys[id];
  signed.version = current.signed.version + 1;
  signed.expires = formatExpires(new Date(now.getTime() + ROOT_LIFETIME_MS));
  return parseRoot(envelopeBytes(signed, owner.sign(signingBytes(signed))));
}
