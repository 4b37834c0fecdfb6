/**
 * Writes an import plan into Countersign's storage: one transaction per repository (its files
 * byte for byte with their creation times, its server-held keys re-sealed in Countersign's key
 * ring), then one transaction for the changefeed history in the source's order. Everything
 * already there with the same content counts as present and is left alone, so running the import
 * again changes nothing; content that differs fails that repository's transaction
 * (STORAGE_CONFLICT) and leaves it as it was.
 */
import type { Storage, StorageTx, StoredKey } from '../storage/types.js';
import type { Sealer } from '../signer/local.js';
import type { OpenedSignerKey } from './signer-keys.js';
import type { ImportPlan, RepositoryPlan } from './plan.js';

/** Counts per repository: what was written now, and what was there already. */
export interface RepositoryOutcome {
  readonly gun: string;
  readonly files: { stored: number; present: number };
  readonly keys: { stored: number; present: number };
}

export interface ImportOutcome {
  readonly repositories: readonly RepositoryOutcome[];
  readonly changes: { stored: number; present: number };
}

export function changedNothing(outcome: ImportOutcome): boolean {
  return (
    outcome.changes.stored === 0 &&
    outcome.repositories.every((r) => r.files.stored === 0 && r.keys.stored === 0)
  );
}

export async function applyImport(
  plan: ImportPlan,
  storage: Storage,
  sealer: Sealer
): Promise<ImportOutcome> {
  const repositories: RepositoryOutcome[] = [];
  for (const repo of plan.repositories) {
    repositories.push(
      await storage.transaction((tx) => importRepository(tx, repo, sealer), { lockGun: repo.gun })
    );
  }
  const changes = await storage.transaction(async (tx) => {
    const counts = { stored: 0, present: 0 };
    for (const c of plan.changes) counts[await tx.meta.importChange(c)]++;
    return counts;
  });
  return { repositories, changes };
}

async function importRepository(
  tx: StorageTx,
  repo: RepositoryPlan,
  sealer: Sealer
): Promise<RepositoryOutcome> {
  const files = { stored: 0, present: 0 };
  for (const f of repo.files) files[await tx.meta.importVersion(repo.gun, f, f.createdAt)]++;
  const keys = { stored: 0, present: 0 };
  for (const k of repo.keys) {
    if (await tx.keys.get(k.row.keyId)) {
      keys.present++;
      continue;
    }
    await tx.keys.insert(storedKey(k, sealer));
    keys.stored++;
  }
  return { gun: repo.gun, files, keys };
}

/** A notary-signer key as Countersign stores a server-held key: same ID, sealed by our key ring. */
function storedKey(k: OpenedSignerKey, sealer: Sealer): StoredKey {
  return {
    keyId: k.row.keyId,
    gun: k.row.gun,
    role: k.row.role,
    algorithm: k.algorithm,
    keyType: k.keyType,
    publicB64: k.publicB64,
    sealedPrivate: sealer.seal(k.row.keyId, k.secret),
    createdAt: k.row.createdAt,
    activatedAt: k.row.lastUsed,
  };
}

/**
 * What `applyImport` would do, read without writing (`--dry-run`): the same counts, from lookups.
 * A version stored with other bytes is reported as a conflict instead of failing.
 */
export async function previewImport(
  plan: ImportPlan,
  storage: Storage
): Promise<{ outcome: ImportOutcome; conflicts: string[] }> {
  const conflicts: string[] = [];
  const repositories: RepositoryOutcome[] = [];
  for (const repo of plan.repositories) {
    const files = { stored: 0, present: 0 };
    for (const f of repo.files) {
      const there = await storage.meta.getByVersion(repo.gun, f.role, f.version);
      if (!there) files.stored++;
      else if (there.data.equals(f.data)) files.present++;
      else
        conflicts.push(
          `${repo.gun}: ${f.role} version ${f.version} is already stored with other bytes`
        );
    }
    const keys = { stored: 0, present: 0 };
    for (const k of repo.keys) keys[(await storage.keys.get(k.row.keyId)) ? 'present' : 'stored']++;
    repositories.push({ gun: repo.gun, files, keys });
  }
  // Changes are matched against the stored history of each GUN they name.
  const changes = { stored: 0, present: 0 };
  const storedByGun = new Map<string, Set<string>>();
  const identity = (c: {
    gun: string;
    version: number;
    sha256: string;
    category: string;
    createdAt: Date;
  }) => `${c.version}|${c.sha256}|${c.category}|${c.createdAt.getTime()}`;
  for (const c of plan.changes) {
    let known = storedByGun.get(c.gun);
    if (!known) {
      known = new Set((await storage.meta.changes(c.gun, 0, 1_000_000)).map(identity));
      storedByGun.set(c.gun, known);
    }
    changes[known.has(identity(c)) ? 'present' : 'stored']++;
  }
  return { outcome: { repositories, changes }, conflicts };
}
