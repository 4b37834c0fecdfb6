/**
 * Which imported repositories Countersign cannot publish for: their current root lists
 * timestamp keys the server does not hold (no --signer-db, or keys that can never be exported,
 * as on a hosted Notary service). They are served read-only as imported until `countersign
 * adopt` gives them new server keys (docs/migrate.md "Adopting a repository").
 */
import type { Storage } from '../storage/types.js';
import { parseRoot } from '../tuf/metadata.js';
import type { ImportPlan } from './plan.js';

export function adoptHint(gun: string): string {
  return `countersign adopt ${gun} --trust-dir <the owner's notary or docker trust dir>`;
}

export async function serverKeyGaps(
  plan: Pick<ImportPlan, 'repositories'>,
  storage: Pick<Storage, 'keys'>
): Promise<string[]> {
  const gaps: string[] = [];
  for (const repo of plan.repositories) {
    const newestRoot = repo.files
      .filter((f) => f.role === 'root')
      .sort((a, b) => b.version - a.version)[0];
    if (!newestRoot) continue;
    const ids = parseRoot(newestRoot.data).signed.roles.timestamp.keyids;
    let held = 0;
    for (const id of ids) if (await storage.keys.get(id)) held++;
    if (held === 0) {
      gaps.push(
        `Countersign holds no timestamp key of ${repo.gun}: it is served read-only as imported ` +
          `(clients read and verify it; publishing fails). Import notary-signer's keys with ` +
          `--signer-db, or give it new server keys with: ${adoptHint(repo.gun)}`
      );
    }
  }
  return gaps;
}
