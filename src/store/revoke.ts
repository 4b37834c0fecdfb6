/**
 * Revoking a published tag (docs/design.md "Revoke"): the tag leaves the public targets (version + 1,
 * re-signed by the store key), snapshot and timestamp follow, the submission that published it
 * becomes `revoked` with the reason, and the audit log records it — one transaction locked on
 * the public GUN.
 */
import { fail } from '../errors.js';
import type { ExpiryPolicy } from '../notary/expiry.js';
import type { Signer } from '../signer/types.js';
import type { StorageTx, StoreRepository } from '../storage/types.js';
import type { JsonObject } from '../tuf/metadata.js';
import { appendAudit } from './audit.js';
import { loadPublicState, writePublicTargets } from './public-metadata.js';
import { detailsOf } from './submission.js';
import { allows } from './lifecycle.js';

export interface Revocation {
  readonly publicGun: string;
  readonly tag: string;
  readonly reason: string;
  /** The digest the tag had. */
  readonly digest: string;
  /** The submission that had published it, when the target names one. */
  readonly submission: string | null;
  readonly revokedAt: string;
  readonly by: string;
  /** Version of the public targets.json without the tag. */
  readonly targetsVersion: number;
}

export async function revokeInTransaction(
  deps: { readonly signer: Signer; readonly expiry: ExpiryPolicy },
  tx: StorageTx,
  r: { repo: StoreRepository; tag: string; reason: string; actor: string; now: Date }
): Promise<Revocation> {
  const { repo, tag, now } = r;
  const gun = repo.publicGun;
  const state = await loadPublicState(tx, repo);
  const entry = state.targets[tag] as JsonObject | undefined;
  if (state.root === null || entry === undefined)
    fail('not_found', `${gun} has no published tag ${tag}`);
  const { [tag]: _removed, ...rest } = state.targets;
  void _removed;
  const written = await writePublicTargets({
    tx,
    signer: deps.signer,
    repo,
    state,
    targets: rest,
    now,
    lifetimes: deps.expiry.lifetimes(gun),
    rootExpires: now, // unused: the root exists
  });
  const hashes = entry.hashes as Record<string, unknown> | undefined;
  const digest = `sha256:${Buffer.from(typeof hashes?.sha256 === 'string' ? hashes.sha256 : '', 'base64').toString('hex')}`;
  const custom = entry.custom as Record<string, unknown> | undefined;
  const submissionId = typeof custom?.submission === 'string' ? custom.submission : null;
  const revocation: Revocation = {
    publicGun: gun,
    tag,
    reason: r.reason,
    digest,
    submission: submissionId,
    revokedAt: now.toISOString(),
    by: r.actor,
    targetsVersion: written.targetsVersion,
  };
  const sub = submissionId === null ? null : await tx.submissions.get(submissionId);
  let changed = false;
  if (sub && allows('revoke', sub.state) && sub.publicGun === gun && sub.tag === tag) {
    await tx.submissions.update(sub.id, sub.revision, {
      state: 'revoked',
      updatedAt: now,
      details: {
        ...detailsOf(sub),
        revoked: { at: revocation.revokedAt, by: r.actor, reason: r.reason },
      },
    });
    changed = true;
  }
  await appendAudit(tx.audit, {
    at: now,
    actor: r.actor,
    action: changed ? 'submission.revoked' : 'repository.revoked',
    subject: `${gun}:${tag}`,
    details: {
      publicGun: gun,
      tag,
      reason: r.reason,
      digest,
      submission: submissionId,
      ...(sub ? { gun: sub.gun } : {}),
      targetsVersion: written.targetsVersion,
      written: written.written.map((w) => `${w.role} ${w.version} ${w.sha256}`),
    },
  });
  return revocation;
}
