/**
 * Publishing an approved submission (docs/design.md "Publish"), in one transaction locked on the
 * public GUN:
 *
 *   re-verify staging (same digest and length, nothing expired, no rollback below what was
 *   verified) → the public root on first publish → public targets = current targets + the tag,
 *   with the certification provenance in `custom`, signed by the store's targets key alone →
 *   snapshot and timestamp → a client-side check of the result against the store CA →
 *   submission `published` → audit entry.
 *
 * Anything failing rolls all of it back: the public repository changes completely or not at all.
 */
import { verifyRepository } from '../client/index.js';
import { StoreMetadataSource } from './store-source.js';
import { fail } from '../errors.js';
import { parseCertificateBundle } from '../crypto/x509.js';
import type { ExpiryPolicy } from '../notary/expiry.js';
import type { ParsedMetadata } from '../notary/parsed.js';
import type { Signer } from '../signer/types.js';
import type { StorageTx, StoredSubmission, StoreRepository } from '../storage/types.js';
import type { JsonObject } from '../tuf/metadata.js';
import { appendAudit } from './audit.js';
import { allows } from './lifecycle.js';
import { caBundlePem, type StoreCaRecord } from './ca.js';
import { loadPublicState, writePublicTargets } from './public-metadata.js';
import type { StoreSettings } from './settings.js';
import {
  approvers,
  certifiedBy,
  detailsOf,
  type PublishRecord,
  type SubmissionDetails,
  type SubmissionTarget,
} from './submission.js';
import { verifyStaging } from './verification.js';

export interface PublishDeps {
  readonly signer: Signer;
  readonly expiry: ExpiryPolicy;
  readonly settings: Pick<StoreSettings, 'rootLifetimeMs'>;
  /** The app's parsed files (src/notary/caches.ts). */
  readonly parsed: ParsedMetadata;
}

export interface PublishRequest {
  readonly submissionId: string;
  /** The revision the caller checked `approved` at: anything since makes the publish refuse. */
  readonly revision: number;
  readonly repo: StoreRepository;
  readonly ca: StoreCaRecord;
  readonly actor: string;
  /** Published because a review completed the quorum (auto-publish), not by an admin's request. */
  readonly auto: boolean;
  /** Extra `custom` fields from the beforePublish hooks. */
  readonly provenance: Readonly<Record<string, unknown>>;
  readonly now: Date;
}

export async function publishInTransaction(
  deps: PublishDeps,
  tx: StorageTx,
  r: PublishRequest
): Promise<StoredSubmission> {
  const { sub, d, target } = await approvedSubmission(tx, r);
  await recheckStaging(deps.parsed, tx, sub, d, target, r.now);
  const { written, previous } = await writeTargets(deps, tx, { sub, d, target }, r);
  await checkAsConsumer(deps.parsed, tx, sub, target, r);
  return markPublished(tx, { sub, d, target }, r, written.targetsVersion, {
    previous,
    written: written.written.map((w) => `${w.role} ${w.version} ${w.sha256}`),
  });
}

interface Approved {
  readonly sub: StoredSubmission;
  readonly d: SubmissionDetails;
  readonly target: SubmissionTarget;
}

/** The submission still approved at the revision the caller checked, with its target. */
async function approvedSubmission(tx: StorageTx, r: PublishRequest): Promise<Approved> {
  const sub = await tx.submissions.get(r.submissionId);
  if (!sub || sub.revision !== r.revision || !allows('publish', sub.state)) {
    fail('conflict', 'the submission changed while it was being published; look at it again');
  }
  const d = detailsOf(sub);
  const target = d.target;
  if (!target) return fail('conflict', 'the submission has no verified target');
  return { sub, d, target };
}

/** Staging verified again: same digest and length, nothing expired, no rollback. */
async function recheckStaging(
  parsed: ParsedMetadata,
  tx: StorageTx,
  sub: StoredSubmission,
  d: SubmissionDetails,
  target: SubmissionTarget,
  now: Date
): Promise<void> {
  const recheck = await verifyStaging({
    meta: tx.meta,
    parsed,
    gun: sub.gun,
    tag: sub.tag,
    clock: { now: () => now },
    ...(d.staging ? { previousVersions: d.staging.versions } : {}),
  });
  const problems = recheck.checks.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail}`);
  const t = recheck.target;
  if (t && (t.digest !== target.digest || t.length !== target.length)) {
    problems.push(
      `staging now signs ${sub.tag} as ${t.digest} (${t.length} bytes), not the approved ${target.digest} (${target.length} bytes)`
    );
  }
  if (problems.length > 0) fail('conflict', `not published: ${problems.join('; ')}`);
}

/** Public targets = current targets + the tag with its provenance; snapshot and timestamp. */
async function writeTargets(deps: PublishDeps, tx: StorageTx, a: Approved, r: PublishRequest) {
  const { sub, d, target } = a;
  const { now } = r;
  const state = await loadPublicState(tx, r.repo, deps.parsed);
  const previous = state.targets[sub.tag] as JsonObject | undefined;
  const entry: JsonObject = {
    hashes: { ...target.hashes },
    length: target.length,
    custom: provenance(sub, d, target, r),
  };
  const cert = parseCertificateBundle(r.repo.rootCertificate)?.[0];
  if (!cert) return fail('CERT_INVALID', `the root certificate of ${sub.publicGun} cannot be read`);
  const written = await writePublicTargets({
    tx,
    signer: deps.signer,
    repo: r.repo,
    state,
    targets: { ...state.targets, [sub.tag]: entry },
    now,
    lifetimes: deps.expiry.lifetimes(sub.publicGun),
    rootExpires: new Date(
      Math.min(now.getTime() + deps.settings.rootLifetimeMs, cert.notAfter.getTime())
    ),
    parsed: deps.parsed,
  });
  return { written, previous };
}

/** What a consumer pinned to the store CA will see, checked before anything commits. */
async function checkAsConsumer(
  parsed: ParsedMetadata,
  tx: StorageTx,
  sub: StoredSubmission,
  target: SubmissionTarget,
  r: PublishRequest
): Promise<void> {
  const check = await verifyRepository({
    source: new StoreMetadataSource(tx.meta, parsed),
    gun: sub.publicGun,
    clock: { now: () => r.now },
    trust: { kind: 'ca', pem: caBundlePem(r.ca, r.now) },
    target: sub.tag,
  });
  if (!check.ok || check.target?.digest !== target.digest || check.target.role !== 'targets') {
    const why =
      check.failures.map((f) => f.message).join('; ') ||
      'the tag does not resolve to the approved digest';
    fail('internal', `the public metadata written for ${sub.publicGun} does not verify: ${why}`);
  }
}

/** The submission `published` (any earlier refusal cleared) and the audit entry. */
async function markPublished(
  tx: StorageTx,
  a: Approved,
  r: PublishRequest,
  targetsVersion: number,
  extra: { readonly previous: JsonObject | undefined; readonly written: readonly string[] }
): Promise<StoredSubmission> {
  const { sub, d, target } = a;
  const replaced = extra.previous ? certifiedBy(extra.previous) : undefined;
  const published: PublishRecord = {
    at: r.now.toISOString(),
    by: r.actor,
    targetsVersion,
    targetsKeyId: r.repo.targetsKeyId,
    ...(replaced ? { replaced } : {}),
  };
  const { publishError: _cleared, ...rest } = d;
  void _cleared;
  const updated = await tx.submissions.update(sub.id, sub.revision, {
    state: 'published',
    updatedAt: r.now,
    details: { ...rest, published },
  });
  await appendAudit(tx.audit, {
    at: r.now,
    actor: r.actor,
    action: 'submission.published',
    subject: `${sub.publicGun}:${sub.tag}`,
    details: {
      submission: sub.id,
      gun: sub.gun,
      publicGun: sub.publicGun,
      tag: sub.tag,
      digest: target.digest,
      length: target.length,
      targetsVersion,
      targetsKeyId: r.repo.targetsKeyId,
      auto: r.auto,
      written: extra.written,
      ...(replaced ? { replaced } : {}),
    },
  });
  return updated;
}

/**
 * The certification provenance written into the public target's `custom` (docs/store.md): what
 * was certified, from where, signed by whom, approved by whom, and when. Integers and strings
 * only, so it survives canonical JSON.
 */
function provenance(
  sub: StoredSubmission,
  d: SubmissionDetails,
  target: SubmissionTarget,
  r: PublishRequest
): JsonObject {
  const approvals = d.reviews.filter((x) => x.decision === 'approve');
  const reviewers = approvers(d).map((name) => {
    const review = approvals.find((x) => x.reviewer === name)!;
    return { name, at: review.at };
  });
  return {
    ...(d.provenance ?? {}),
    ...r.provenance,
    submission: sub.id,
    stagingGun: sub.gun,
    stagingRole: target.role,
    stagingVersions: { ...(d.staging?.versions ?? {}) },
    producerKeyIds: [...(d.staging?.producerKeyIds ?? [])],
    submitter: sub.submitter,
    submittedAt: sub.createdAt.toISOString(),
    ...(d.verification.at ? { verifiedAt: d.verification.at } : {}),
    reviewers,
    ...(d.approvedAt ? { approvedAt: d.approvedAt } : {}),
    publishedAt: r.now.toISOString(),
    publishedBy: r.actor,
    ...(target.custom !== undefined ? { producerCustom: target.custom } : {}),
  };
}
