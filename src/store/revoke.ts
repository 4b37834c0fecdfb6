/**
 * Revoking a published tag (docs/design.md "Revoke"): the tag leaves the public targets (version + 1,
 * re-signed by the store key), snapshot and timestamp follow, the submission that published it
 * becomes `revoked` with the reason, and the audit log records it — one transaction locked on
 * the public GUN.
 */
import { fail } from '../errors.js';
import type { ExpiryPolicy } from '../notary/expiry.js';
import type { ParsedMetadata } from '../notary/parsed.js';
import type { Signer } from '../signer/types.js';
import type { StorageTx, StoredSubmission, StoreRepository } from '../storage/types.js';
import type { JsonObject } from '../tuf/metadata.js';
import { appendAudit } from './audit.js';
import { loadPublicState, writePublicTargets } from './public-metadata.js';
import { certifiedBy, detailsOf } from './submission.js';
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
  deps: { readonly signer: Signer; readonly expiry: ExpiryPolicy; readonly parsed: ParsedMetadata },
  tx: StorageTx,
  r: { repo: StoreRepository; tag: string; reason: string; actor: string; now: Date }
): Promise<Revocation> {
  const { repo, tag, now } = r;
  const gun = repo.publicGun;
  const state = await loadPublicState(tx, repo, deps.parsed);
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
    parsed: deps.parsed,
  });
  const { digest, submission: submissionId } = certifiedBy(entry);
  const revocation: Revocation = {
    publicGun: gun,
    tag,
    reason: r.reason,
    digest,
    submission: submissionId ?? null,
    revokedAt: now.toISOString(),
    by: r.actor,
    targetsVersion: written.targetsVersion,
  };
  const sub = submissionId === undefined ? null : await tx.submissions.get(submissionId);
  const changed = sub !== null && (await markRevoked(tx, sub, revocation, r.reason));
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
      submission: revocation.submission,
      ...(sub ? { gun: sub.gun } : {}),
      targetsVersion: written.targetsVersion,
      written: written.written.map((w) => `${w.role} ${w.version} ${w.sha256}`),
    },
  });
  return revocation;
}

/** The certifying submission `revoked`, if it is the one published under this tag. */
async function markRevoked(
  tx: StorageTx,
  sub: StoredSubmission,
  revocation: Revocation,
  reason: string
): Promise<boolean> {
  if (!allows('revoke', sub.state) || sub.publicGun !== revocation.publicGun) return false;
  if (sub.tag !== revocation.tag) return false;
  await tx.submissions.update(sub.id, sub.revision, {
    state: 'revoked',
    updatedAt: new Date(revocation.revokedAt),
    details: {
      ...detailsOf(sub),
      revoked: { at: revocation.revokedAt, by: revocation.by, reason },
    },
  });
  return true;
}
