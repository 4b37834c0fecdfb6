/**
 * What an import would write, worked out before anything is written (docs/migrate.md): every
 * repository's files, checked by verify-history.ts; the server-held keys of those repositories,
 * decrypted and checked; the changefeed records about them. A wrong passphrase, a GUN that is not
 * there or a history that does not verify shows up here, so a failed import writes nothing.
 */
import { fail } from '../errors.js';
import type { Change } from '../storage/types.js';
import { openSignerKey, passphraseFor, type OpenedSignerKey } from './signer-keys.js';
import type { NotarySignerSource, NotaryServerSource } from './source.js';
import { verifyHistory } from './verify-history.js';

/** One version of one role, to be stored byte for byte with its creation time. */
export interface ImportFile {
  readonly role: string;
  readonly version: number;
  readonly sha256: string;
  readonly data: Buffer;
  readonly createdAt: Date;
}

export interface RepositoryPlan {
  readonly gun: string;
  readonly files: readonly ImportFile[];
  readonly keys: readonly OpenedSignerKey[];
  /** Why its history does not verify; empty when it does. */
  readonly problems: readonly string[];
}

export interface ImportPlan {
  readonly repositories: readonly RepositoryPlan[];
  /** Changefeed records of the selected GUNs, in the source's order. */
  readonly changes: readonly Omit<Change, 'id'>[];
}

export interface PlanOptions {
  readonly server: NotaryServerSource;
  readonly signer?: NotarySignerSource;
  /** Only these GUNs (each must exist); all when empty. */
  readonly guns: readonly string[];
  /** Where NOTARY_SIGNER_<ALIAS> passphrases are read. */
  readonly env: NodeJS.ProcessEnv;
  readonly now: Date;
}

export async function planImport(opts: PlanOptions): Promise<ImportPlan> {
  const stored = await opts.server.guns();
  const missing = opts.guns.filter((g) => !stored.includes(g));
  if (missing.length > 0) {
    fail(
      'MIGRATE_SOURCE',
      `notary-server has no repository ${missing.map((g) => JSON.stringify(g)).join(', ')}`
    );
  }
  const selected = opts.guns.length > 0 ? [...new Set(opts.guns)].sort() : stored;
  const keysByGun = await openKeys(opts.signer, selected, opts.guns.length > 0, opts.env);
  const repositories: RepositoryPlan[] = [];
  for (const gun of selected) {
    const files = (await opts.server.files(gun)).map(({ gun: _gun, ...f }) => f);
    repositories.push({
      gun,
      files,
      keys: keysByGun.get(gun) ?? [],
      problems: verifyHistory(gun, files, opts.now),
    });
  }
  // Keys of repositories that were deleted (notary-signer keeps them): imported with no files.
  for (const [gun, keys] of keysByGun) {
    if (!selected.includes(gun)) repositories.push({ gun, files: [], keys, problems: [] });
  }
  const all = await opts.server.changes();
  const wanted = (gun: string): boolean => opts.guns.length === 0 || opts.guns.includes(gun);
  const changes = all.filter((c) => wanted(c.gun)).map(({ id: _id, ...c }) => c);
  return { repositories, changes };
}

/** notary-signer's keys of the selected GUNs (of every GUN when none was named), opened. */
async function openKeys(
  signer: NotarySignerSource | undefined,
  guns: readonly string[],
  onlySelected: boolean,
  env: NodeJS.ProcessEnv
): Promise<Map<string, OpenedSignerKey[]>> {
  const out = new Map<string, OpenedSignerKey[]>();
  if (!signer) return out;
  for (const row of await signer.keys()) {
    if (onlySelected && !guns.includes(row.gun)) continue;
    const opened = await openSignerKey(row, passphraseFor(row.passphraseAlias, env));
    const list = out.get(row.gun) ?? [];
    list.push(opened);
    out.set(row.gun, list);
  }
  return out;
}

/** Zeroes every decrypted secret of a plan (after it is applied or dropped). */
export function wipePlan(plan: ImportPlan): void {
  for (const r of plan.repositories) for (const k of r.keys) k.secret.fill(0);
}
