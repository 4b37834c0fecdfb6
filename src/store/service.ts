/**
 * The store's certification chain as one service (docs/design.md "Submission lifecycle"): submissions
 * created and verified, reviewed to a quorum, published into the public repository with the
 * store's signature alone, revoked; every state change and key operation in the audit log.
 *
 * Authorization is decided here, from the caller's Principal (docs/interfaces.md "Store API" table), so
 * every caller — HTTP routes today — gets the same answers: 403 `forbidden` when the account may
 * not do that, 404 `not_found`, 409 `conflict` when the submission's state does not allow it.
 *
 * Every state change runs in a storage transaction together with its audit entry. Submission
 * changes are checked against the revision read (optimistic concurrency), so two reviewers or
 * instances acting at once never both win.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { CountersignError, fail, isCountersignError, STORE_CODES } from '../errors.js';
import type { AccessPolicy } from '../auth/policy.js';
import type { AccountRole, Principal } from '../auth/principal.js';
import type { ExpiryPolicy } from '../notary/expiry.js';
import type { Signer } from '../signer/types.js';
import type {
  AuditEntry,
  Storage,
  StorageTx,
  StoredSubmission,
  SubmissionState,
} from '../storage/types.js';
import { gunProblem } from '../tuf/names.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { ReviewPolicy } from '../policy/types.js';
import { parseScannerReport } from '../policy/vulnerabilities.js';
import { carryWaivers, reportSettingName, withReport, withWaiver } from './policy-review.js';
import {
  appendAudit,
  SYSTEM_ACTOR,
  verifyAuditChain,
  type AuditAction,
  type AuditVerification,
} from './audit.js';
import { caBundlePem, StoreCa } from './ca.js';
import type { StoreHooks } from './hooks.js';
import { publishInTransaction } from './publish.js';
import { ensureStoreRepository } from './repositories.js';
import { revokeInTransaction, type Revocation } from './revoke.js';
import type { StoreSettings } from './settings.js';
import {
  approvers,
  blockingPolicyChecks,
  detailsOf,
  EMPTY_DETAILS,
  isSubmissionId,
  isSubmissionState,
  newSubmissionId,
  tagProblem,
  viewOf,
  type PolicyCheckRecord,
  type ReportRecord,
  type Review,
  type SubmissionCheck,
  type SubmissionDetails,
  type SubmissionView,
} from './submission.js';
import { highestVersions, verifyStaging } from './verification.js';

export interface StoreServiceOptions {
  readonly storage: Storage;
  readonly signer: Signer;
  readonly clock: Clock;
  /** Zones and ownership (`policy.zones`, `policy.ownsRepository`). */
  readonly policy: AccessPolicy;
  readonly settings: StoreSettings;
  readonly expiry: ExpiryPolicy;
  readonly log: Logger;
  readonly hooks?: StoreHooks;
  /** The review policy: decides `vulnerabilities` again when a report is attached. */
  readonly reviewPolicy?: ReviewPolicy;
  /** Called after a commit changed a public repository (the Notary read cache drops it). */
  readonly onPublicChange?: (gun: string) => void;
}

/** An audit entry as the API shows it. */
export interface AuditEntryView {
  readonly id: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly prevHash: string;
  readonly hash: string;
}

const MAX_NOTE = 4096;

function requireRole(p: Principal, ...roles: AccountRole[]): void {
  if (!roles.includes(p.role)) {
    fail('forbidden', `This needs the role ${roles.join(' or ')}; ${p.name} is a ${p.role}.`);
  }
}

function text(value: unknown, what: string, opts: { required: boolean; max: number }): string {
  if (value === undefined || value === null) {
    if (opts.required) fail('bad_request', `${what} is required`);
    return '';
  }
  if (typeof value !== 'string') fail('bad_request', `${what} must be a string`);
  if (opts.required && value.trim() === '') fail('bad_request', `${what} must not be empty`);
  if (value.length > opts.max) fail('bad_request', `${what} is longer than ${opts.max} characters`);
  return value;
}

export class StoreService {
  readonly ca: StoreCa;
  private readonly o: StoreServiceOptions;

  constructor(o: StoreServiceOptions) {
    this.o = o;
    this.ca = new StoreCa({
      storage: o.storage,
      signer: o.signer,
      clock: o.clock,
      settings: o.settings,
    });
  }

  get settings(): StoreSettings {
    return this.o.settings;
  }

  /**
   * Settles when the start-up recovery of approved but unpublished submissions has run (it runs
   * in the background so a slow registry never delays start-up).
   */
  recovery: Promise<void> = Promise.resolve();

  /**
   * Creates the store CA if this is the first start of the store (every instance shares it). With
   * `autoPublish`, publishes what an earlier run approved and never published.
   */
  async start(): Promise<void> {
    await this.ca.get();
    if (this.o.settings.autoPublish) this.recovery = this.publishStranded();
  }

  /**
   * With `autoPublish` the approving review and the publish are two transactions (the publish may
   * copy an image between registries first, which cannot sit inside a database transaction), so a
   * crash between them leaves a submission `approved` with nothing published (issue 20). At start
   * every such submission is published; one whose publish was refused with a reason keeps waiting
   * for an admin, as before. With several instances, each tries; the revision check lets exactly
   * one publish and the others see a conflict.
   */
  private async publishStranded(): Promise<void> {
    let approved: StoredSubmission[];
    try {
      approved = await this.o.storage.submissions.list({ state: 'approved', limit: 10_000 });
    } catch (err) {
      this.o.log.error(
        { err: String(err) },
        'could not look for approved, unpublished submissions'
      );
      return;
    }
    for (const sub of approved) {
      if (detailsOf(sub).publishError !== undefined) continue;
      try {
        await this.publishApproved(SYSTEM_ACTOR, sub, true);
        this.o.log.info({ submission: sub.id }, 'published a submission approved before a restart');
      } catch (err) {
        this.o.log.warn(
          { submission: sub.id, err: err instanceof Error ? err.message : String(err) },
          'an approved submission could not be published at start'
        );
      }
    }
  }

  async caCertificatePem(): Promise<string> {
    // During a rotation's overlap: the current CA, then the replaced one (src/store/ca.ts).
    return caBundlePem(await this.ca.get(), this.o.clock.now());
  }

  // --- submissions -----------------------------------------------------------------------

  /** `deferVerification`: only recorded; a job verifies it (`reverify`) right after. */
  async create(
    p: Principal,
    body: { gun?: unknown; tag?: unknown },
    opts: { readonly deferVerification?: boolean } = {}
  ): Promise<SubmissionView> {
    requireRole(p, 'publisher', 'admin');
    const gun = text(body.gun, 'gun', { required: true, max: 255 });
    const tag = text(body.tag, 'tag', { required: true, max: 128 });
    const problem = gunProblem(gun);
    if (problem !== undefined) fail('bad_request', `gun ${JSON.stringify(gun)}: ${problem}`);
    const tagIssue = tagProblem(tag);
    if (tagIssue !== null) fail('bad_request', `tag ${JSON.stringify(tag)}: ${tagIssue}`);
    const publicGun = this.o.policy.zones.publicGunFor(gun);
    if (publicGun === null)
      fail('bad_request', `${gun} is not in a staging zone; submissions name a staging GUN`);
    if (!this.o.policy.ownsRepository(p, gun)) {
      fail(
        'forbidden',
        `${p.name} does not own ${gun}: a publisher submits only in its own namespaces`
      );
    }
    if (!(await this.o.storage.meta.getLatest(gun, 'root')))
      fail('not_found', `${gun} has no trust data on this server`);
    const now = this.o.clock.now();
    const stored: StoredSubmission = {
      id: newSubmissionId(),
      gun,
      publicGun,
      tag,
      state: 'submitted',
      submitter: p.name,
      createdAt: now,
      updatedAt: now,
      revision: 1,
      details: EMPTY_DETAILS as unknown as Record<string, unknown>,
    };
    await this.o.storage.transaction(
      async (tx) => {
        await tx.submissions.insert(stored);
        await this.audit(tx, p.name, 'submission.created', stored, now, {});
      },
      { lockGun: gun }
    );
    if (opts.deferVerification === true) return viewOf(stored);
    return viewOf(await this.verifyOrRecordFailure(p.name, stored));
  }

  async get(p: Principal, id: string): Promise<SubmissionView> {
    const sub = await this.load(id);
    this.requireReader(p, sub);
    return viewOf(sub);
  }

  async list(
    p: Principal,
    query: { state?: unknown; gun?: unknown; limit?: unknown }
  ): Promise<SubmissionView[]> {
    requireRole(p, 'reviewer', 'admin');
    const state = query.state === undefined || query.state === '' ? undefined : query.state;
    if (state !== undefined && !isSubmissionState(state))
      fail('bad_request', `state ${JSON.stringify(state)} is not a submission state`);
    const gun =
      query.gun === undefined || query.gun === ''
        ? undefined
        : text(query.gun, 'gun', { required: true, max: 255 });
    let limit: number | undefined;
    if (query.limit !== undefined) {
      limit = Number(query.limit);
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000)
        fail('bad_request', 'limit must be an integer from 1 to 10000');
    }
    const rows = await this.o.storage.submissions.list({
      ...(state !== undefined ? { state } : {}),
      ...(gun !== undefined ? { gun } : {}),
      ...(limit !== undefined ? { limit } : {}),
    });
    return rows.map(viewOf);
  }

  /** Re-runs verification (after a registry outage, say), while no one has reviewed it yet. */
  async reverify(p: Principal, id: string): Promise<SubmissionView> {
    const sub = await this.load(id);
    if (p.role !== 'admin' && !this.o.policy.ownsRepository(p, sub.gun)) {
      fail('forbidden', `${p.name} may not re-verify a submission for ${sub.gun}`);
    }
    if (
      !(['submitted', 'verified', 'verification_failed'] as SubmissionState[]).includes(sub.state)
    ) {
      fail('conflict', `a ${sub.state} submission is not verified again`);
    }
    if (detailsOf(sub).reviews.length > 0)
      fail('conflict', 'the submission has reviews: submit again instead of re-verifying it');
    return viewOf(await this.verifyOrRecordFailure(p.name, sub));
  }

  /**
   * Verification that cannot leave the submission in a transient state (issue 20): when it throws
   * — a hook, the database, a file too deep to encode — the submission ends `verification_failed`
   * with the reason, audited. Only a conflict (another request changed the submission meanwhile)
   * passes through: that request decided its state.
   */
  private async verifyOrRecordFailure(
    actor: string,
    sub: StoredSubmission
  ): Promise<StoredSubmission> {
    try {
      return await this.runVerification(actor, sub);
    } catch (err) {
      if (isCountersignError(err, 'conflict')) throw err;
      const known = err instanceof CountersignError && err.code !== 'internal';
      this.o.log.error(
        { submission: sub.id, err: err instanceof Error ? err.message : String(err) },
        'verification failed with an error'
      );
      const detail = known
        ? `verification could not complete: ${err.message}`
        : 'verification could not complete on the server (its log has the reason)';
      const current = await this.load(sub.id);
      const now = this.o.clock.now();
      const details: SubmissionDetails = {
        ...detailsOf(current),
        verification: {
          checks: [{ name: 'verification', passed: false, detail }],
          at: now.toISOString(),
        },
      };
      return this.o.storage.transaction(
        async (tx) => {
          const updated = await tx.submissions.update(current.id, current.revision, {
            state: 'verification_failed',
            updatedAt: now,
            details: asRecord(details),
          });
          await this.audit(tx, actor, 'submission.verification_failed', updated, now, {
            failed: ['verification'],
            reason: detail,
          });
          return updated;
        },
        { lockGun: current.gun }
      );
    }
  }

  /**
   * Verification as docs/design.md describes it, recorded with its report (one entry per check) and
   * the exact target, versions and checksums read; `verified` only if every check passed.
   */
  private async runVerification(actor: string, sub: StoredSubmission): Promise<StoredSubmission> {
    const earlier = (await this.o.storage.submissions.list({ gun: sub.gun })).filter(
      (s) => s.id !== sub.id
    );
    const previousVersions = highestVersions(earlier.map((s) => detailsOf(s).staging));
    const v = await verifyStaging({
      meta: this.o.storage.meta,
      gun: sub.gun,
      tag: sub.tag,
      clock: this.o.clock,
      previousVersions,
    });
    const context = { submission: viewOf(sub), target: v.target, result: v.result };
    const checks: SubmissionCheck[] = [...v.checks];
    for (const hook of this.o.hooks?.verificationChecks ?? [])
      checks.push(...(await hook(context)));
    const policy: PolicyCheckRecord[] = [];
    for (const hook of this.o.hooks?.policyChecks ?? []) policy.push(...(await hook(context)));
    const failed = checks.filter((c) => !c.passed);
    // A registry that could not be reached decided nothing: unless a check that did run failed,
    // the submission waits for a re-run.
    const undecided =
      failed.every((c) => c.inconclusive === true) &&
      [...failed, ...policy].some((c) => c.inconclusive === true);
    const now = this.o.clock.now();
    const before = detailsOf(sub);
    const details: SubmissionDetails = {
      ...before,
      target: v.target,
      staging: v.staging,
      verification: { checks, at: now.toISOString() },
      policy: { checks: carryWaivers(before.policy.checks, policy) },
    };
    const state: SubmissionState = undecided
      ? 'submitted'
      : failed.length === 0
        ? 'verified'
        : 'verification_failed';
    const action: AuditAction =
      state === 'verified'
        ? 'submission.verified'
        : undecided
          ? 'submission.verification_incomplete'
          : 'submission.verification_failed';
    const commit = this.o.storage.transaction(
      async (tx) => {
        const updated = await tx.submissions.update(sub.id, sub.revision, {
          state,
          updatedAt: now,
          details: asRecord(details),
        });
        await this.audit(tx, actor, action, updated, now, {
          ...(v.target
            ? { digest: v.target.digest, length: v.target.length, role: v.target.role }
            : {}),
          versions: { ...v.staging.versions },
          failed: failed.map((c) => c.name),
          ...(undecided
            ? {
                inconclusive: [...failed, ...policy]
                  .filter((c) => c.inconclusive === true)
                  .map((c) => `${c.name}: ${c.detail}`),
              }
            : {}),
        });
        return updated;
      },
      { lockGun: sub.gun }
    );
    try {
      return await commit;
    } catch (err) {
      // A report or a review landed while the registry was being read: this result is stale.
      if (isCountersignError(err, 'STORAGE_CONFLICT'))
        throw new CountersignError(
          'conflict',
          'the submission changed while it was being verified; verify it again',
          { cause: err }
        );
      throw err;
    }
  }

  // --- review policy: reports and waivers -----------------------------------------------

  /**
   * Attaches a vulnerability report (Trivy or Grype JSON, as uploaded) to a submission not yet
   * approved: its bytes are kept, its sha256 goes into the publish provenance, and the
   * `vulnerabilities` check is decided again from it. The owner, reviewers and admins may.
   */
  async attachReport(p: Principal, id: string, bytes: Buffer): Promise<SubmissionView> {
    const first = await this.load(id);
    this.requireReader(p, first);
    const report = parseScannerReport(bytes);
    const sealed = gzipSync(bytes).toString('base64');
    const updated = await this.o.storage.transaction(
      async (tx) => {
        const sub = await tx.submissions.get(id);
        if (!sub) return fail('not_found', `no submission ${id}`);
        if (
          !(['submitted', 'verified', 'verification_failed'] as SubmissionState[]).includes(
            sub.state
          )
        )
          fail('conflict', `a ${sub.state} submission takes no more reports`);
        const now = this.o.clock.now();
        const record: ReportRecord = {
          sha256: report.sha256Hex,
          format: report.format,
          counts: { ...report.counts },
          findings: report.findings,
          size: bytes.length,
          by: p.name,
          at: now.toISOString(),
        };
        const details = withReport(detailsOf(sub), record, this.o.reviewPolicy ?? {});
        await tx.settings.put(reportSettingName(sub.id, report.sha256Hex), sealed);
        const next = await tx.submissions.update(sub.id, sub.revision, {
          state: sub.state,
          updatedAt: now,
          details: asRecord(details),
        });
        const check = details.policy.checks.find((c) => c.name === 'vulnerabilities');
        await this.audit(tx, p.name, 'submission.report_attached', next, now, {
          sha256: record.sha256,
          format: record.format,
          counts: { ...record.counts },
          findings: record.findings,
          size: record.size,
          ...(check ? { vulnerabilities: check.passed ? 'passed' : 'failed' } : {}),
        });
        return next;
      },
      { lockGun: first.gun }
    );
    return viewOf(updated);
  }

  /** The bytes of a report attached to a submission, as uploaded. */
  async report(p: Principal, id: string, sha256Hex: string): Promise<Buffer> {
    const sub = await this.load(id);
    this.requireReader(p, sub);
    const listed = /^[0-9a-f]{64}$/.test(sha256Hex)
      ? detailsOf(sub).reports?.some((r) => r.sha256 === sha256Hex)
      : false;
    const stored = listed
      ? await this.o.storage.settings.get(reportSettingName(sub.id, sha256Hex))
      : null;
    if (stored === null) fail('not_found', `submission ${id} has no report ${sha256Hex}`);
    return gunzipSync(Buffer.from(stored, 'base64'));
  }

  /**
   * A reviewer (or admin) waives a failing policy check with a reason, so it no longer blocks
   * approvals. Audited; never by the account that submitted.
   */
  async waive(
    p: Principal,
    id: string,
    body: { check?: unknown; reason?: unknown }
  ): Promise<SubmissionView> {
    requireRole(p, 'reviewer', 'admin');
    const name = text(body.check, 'check', { required: true, max: 64 });
    const reason = text(body.reason, 'reason', { required: true, max: MAX_NOTE });
    const first = await this.load(id);
    const updated = await this.o.storage.transaction(
      async (tx) => {
        const sub = await tx.submissions.get(id);
        if (!sub) return fail('not_found', `no submission ${id}`);
        if (sub.submitter === p.name)
          fail('forbidden', `${p.name} submitted this and may not waive its checks`);
        if (sub.state !== 'verified')
          fail(
            'conflict',
            `only a verified submission's checks are waived; this one is ${sub.state}`
          );
        const now = this.o.clock.now();
        const { details, check } = withWaiver(detailsOf(sub), name, {
          by: p.name,
          reason,
          at: now.toISOString(),
        });
        const next = await tx.submissions.update(sub.id, sub.revision, {
          state: sub.state,
          updatedAt: now,
          details: asRecord(details),
        });
        await this.audit(tx, p.name, 'submission.waived', next, now, {
          check: check.name,
          reason,
          detail: check.detail,
        });
        return next;
      },
      { lockGun: first.gun }
    );
    return viewOf(updated);
  }

  // --- reviews and publishing ------------------------------------------------------------

  async review(
    p: Principal,
    id: string,
    body: { decision?: unknown; note?: unknown }
  ): Promise<SubmissionView> {
    requireRole(p, 'reviewer', 'admin');
    const decision = body.decision;
    if (decision !== 'approve' && decision !== 'reject')
      fail('bad_request', 'decision must be "approve" or "reject"');
    const note = text(body.note, 'note', { required: decision === 'reject', max: MAX_NOTE });
    const first = await this.load(id);
    const { updated, quorum } = await this.o.storage.transaction(
      async (tx) => {
        const sub = await tx.submissions.get(id);
        if (!sub) return fail('not_found', `no submission ${id}`);
        if (sub.submitter === p.name)
          fail('forbidden', `${p.name} submitted this and may not review it`);
        const d = detailsOf(sub);
        const now = this.o.clock.now();
        const review: Review = { reviewer: p.name, decision, note, at: now.toISOString() };
        let state: SubmissionState;
        let approvedAt: string | undefined;
        if (decision === 'approve') {
          if (sub.state !== 'verified')
            fail(
              'conflict',
              `only a verified submission can be approved; this one is ${sub.state}`
            );
          const blocking = blockingPolicyChecks(d);
          if (blocking.length > 0) {
            fail(
              'policy_failed',
              `policy checks fail and are not waived: ${blocking.map((c) => `${c.name} (${c.detail})`).join('; ')}`
            );
          }
          if (approvers(d).includes(p.name))
            fail('conflict', `${p.name} has already approved this submission`);
          const count = approvers(d).length + 1;
          state = count >= this.o.settings.approvals ? 'approved' : 'verified';
          if (state === 'approved') approvedAt = review.at;
        } else {
          if (
            !(
              ['submitted', 'verified', 'verification_failed', 'approved'] as SubmissionState[]
            ).includes(sub.state)
          ) {
            fail('conflict', `a ${sub.state} submission cannot be rejected`);
          }
          state = 'rejected';
        }
        const details: SubmissionDetails = {
          ...d,
          reviews: [...d.reviews, review],
          ...(approvedAt ? { approvedAt } : {}),
        };
        const next = await tx.submissions.update(sub.id, sub.revision, {
          state,
          updatedAt: now,
          details: asRecord(details),
        });
        await this.audit(tx, p.name, 'submission.reviewed', next, now, {
          decision,
          note,
          approvals: approvers(details).length,
        });
        if (state !== sub.state) {
          await this.audit(
            tx,
            p.name,
            state === 'approved' ? 'submission.approved' : 'submission.rejected',
            next,
            now,
            {
              reviewers: approvers(details),
              quorum: this.o.settings.approvals,
            }
          );
        }
        return { updated: next, quorum: state === 'approved' && sub.state !== 'approved' };
      },
      { lockGun: first.gun }
    );
    if (!quorum || !this.o.settings.autoPublish) return viewOf(updated);
    // docs/interfaces.md: the review that completes the quorum returns after the publish. A publish the
    // store refuses (staging changed, say) leaves the submission approved, with the reason.
    try {
      return await this.publishApproved(p.name, updated, true);
    } catch {
      // Recorded on the submission and logged by publishApproved; the review itself stands.
      return viewOf(await this.load(id));
    }
  }

  async publish(p: Principal, id: string): Promise<SubmissionView> {
    requireRole(p, 'admin');
    const sub = await this.load(id);
    if (sub.state !== 'approved')
      fail('conflict', `only an approved submission is published; this one is ${sub.state}`);
    return this.publishApproved(p.name, sub, false);
  }

  private async publishApproved(
    actor: string,
    sub: StoredSubmission,
    auto: boolean
  ): Promise<SubmissionView> {
    const view = viewOf(sub);
    const target = view.target;
    if (!target) fail('conflict', 'the submission has no verified target');
    let published: StoredSubmission;
    try {
      const provenance: Record<string, unknown> = {};
      for (const hook of this.o.hooks?.beforePublish ?? [])
        Object.assign(provenance, (await hook({ submission: view, target })) ?? {});
      const repo = await ensureStoreRepository(
        {
          storage: this.o.storage,
          signer: this.o.signer,
          clock: this.o.clock,
          ca: this.ca,
          settings: this.o.settings,
        },
        sub.publicGun,
        actor
      );
      const ca = await this.ca.get();
      try {
        published = await this.o.storage.transaction(
          (tx) =>
            publishInTransaction(
              { signer: this.o.signer, expiry: this.o.expiry, settings: this.o.settings },
              tx,
              {
                submissionId: sub.id,
                revision: sub.revision,
                repo,
                ca,
                actor,
                auto,
                provenance,
                now: this.o.clock.now(),
              }
            ),
          { lockGun: sub.publicGun }
        );
      } finally {
        // A committed publish must be served at once, not from a cached copy.
        this.o.onPublicChange?.(sub.publicGun);
      }
    } catch (err) {
      if (isCountersignError(err, 'STORAGE_CONFLICT')) {
        throw new CountersignError(
          'conflict',
          'the submission changed while it was being published; look at it again',
          { cause: err }
        );
      }
      await this.recordRefusal(actor, sub.id, err);
      throw err;
    }
    this.o.log.info(
      { submission: sub.id, publicGun: sub.publicGun, tag: sub.tag, actor },
      'published'
    );
    return viewOf(published);
  }

  /**
   * A publish that did not happen: the reason on the submission (state unchanged) and in the
   * audit log. The store's own refusals say why; anything else is logged and shown generically.
   */
  private async recordRefusal(actor: string, id: string, err: unknown): Promise<void> {
    const known =
      err instanceof CountersignError && isStoreCode(err.code) && err.code !== 'internal'
        ? err
        : null;
    if (!known)
      this.o.log.error(
        { submission: id, err: err instanceof Error ? err.message : String(err) },
        'publish failed'
      );
    const message = known
      ? known.message
      : 'the publish failed on the server (its log has the reason); nothing was published';
    try {
      const sub = await this.load(id);
      const now = this.o.clock.now();
      await this.o.storage.transaction(
        async (tx) => {
          const details: SubmissionDetails = {
            ...detailsOf(sub),
            publishError: { at: now.toISOString(), message },
          };
          const updated = await tx.submissions.update(sub.id, sub.revision, {
            state: sub.state,
            updatedAt: now,
            details: asRecord(details),
          });
          await this.audit(tx, actor, 'submission.publish_refused', updated, now, {
            reason: message,
          });
        },
        { lockGun: sub.gun }
      );
    } catch (recordErr) {
      this.o.log.error(
        { submission: id, err: recordErr instanceof Error ? recordErr.message : String(recordErr) },
        'could not record a refused publish'
      );
    }
  }

  async revoke(
    p: Principal,
    publicGun: string,
    body: { tag?: unknown; reason?: unknown }
  ): Promise<Revocation> {
    requireRole(p, 'admin');
    const tag = text(body.tag, 'tag', { required: true, max: 128 });
    const reason = text(body.reason, 'reason', { required: true, max: MAX_NOTE });
    if (!this.o.policy.zones.isPublic(publicGun))
      fail('bad_request', `${publicGun} is not in a public zone`);
    const repo = await this.o.storage.storeRepositories.get(publicGun);
    if (!repo) fail('not_found', `the store has published nothing to ${publicGun}`);
    try {
      return await this.o.storage.transaction(
        (tx) =>
          revokeInTransaction({ signer: this.o.signer, expiry: this.o.expiry }, tx, {
            repo,
            tag,
            reason,
            actor: p.name,
            now: this.o.clock.now(),
          }),
        { lockGun: publicGun }
      );
    } finally {
      this.o.onPublicChange?.(publicGun);
    }
  }

  // --- audit -----------------------------------------------------------------------------

  async auditEntries(
    p: Principal,
    query: { gun?: unknown; since?: unknown; after?: unknown; limit?: unknown }
  ): Promise<AuditEntryView[]> {
    requireRole(p, 'admin');
    const gun =
      query.gun === undefined || query.gun === ''
        ? undefined
        : text(query.gun, 'gun', { required: true, max: 255 });
    let since: Date | undefined;
    if (query.since !== undefined && query.since !== '') {
      since = new Date(text(query.since, 'since', { required: true, max: 64 }));
      if (Number.isNaN(since.getTime())) fail('bad_request', 'since must be an RFC 3339 time');
    }
    const int = (v: unknown, what: string, min: number, max: number, dflt: number) => {
      if (v === undefined || v === '') return dflt;
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < min || n > max)
        fail('bad_request', `${what} must be an integer from ${min} to ${max}`);
      return n;
    };
    const entries = await this.o.storage.audit.list({
      ...(gun !== undefined ? { gun } : {}),
      ...(since !== undefined ? { since } : {}),
      afterId: int(query.after, 'after', 0, Number.MAX_SAFE_INTEGER, 0),
      limit: int(query.limit, 'limit', 1, 10_000, 1000),
    });
    return entries.map(auditView);
  }

  async auditVerify(p: Principal): Promise<AuditVerification> {
    requireRole(p, 'admin');
    return verifyAuditChain(this.o.storage.audit);
  }

  // --- helpers ---------------------------------------------------------------------------

  private async load(id: string): Promise<StoredSubmission> {
    const sub = isSubmissionId(id) ? await this.o.storage.submissions.get(id) : null;
    if (!sub) return fail('not_found', `no submission ${id}`);
    return sub;
  }

  /** docs/interfaces.md: the owner (a publisher of the namespace), reviewers and admins read a submission. */
  private requireReader(p: Principal, sub: StoredSubmission): void {
    if (p.role === 'reviewer' || p.role === 'admin' || this.o.policy.ownsRepository(p, sub.gun))
      return;
    fail('forbidden', `${p.name} may not read submissions for ${sub.gun}`);
  }

  private audit(
    tx: StorageTx,
    actor: string,
    action: AuditAction,
    sub: StoredSubmission,
    at: Date,
    extra: Record<string, unknown>
  ): Promise<AuditEntry> {
    return appendAudit(tx.audit, {
      at,
      actor,
      action,
      subject: `${sub.gun}:${sub.tag}`,
      details: {
        submission: sub.id,
        gun: sub.gun,
        publicGun: sub.publicGun,
        tag: sub.tag,
        state: sub.state,
        ...extra,
      },
    });
  }
}

function isStoreCode(code: string): boolean {
  return Object.prototype.hasOwnProperty.call(STORE_CODES, code);
}

function asRecord(d: SubmissionDetails): Record<string, unknown> {
  return d as unknown as Record<string, unknown>;
}

function auditView(e: AuditEntry): AuditEntryView {
  return {
    id: e.id,
    // A tampered row may hold a time that no longer parses; it is still listed.
    at: Number.isNaN(e.at.getTime()) ? 'invalid' : e.at.toISOString(),
    actor: e.actor,
    action: e.action,
    subject: e.subject,
    details: e.details,
    prevHash: e.prevHash,
    hash: e.hash,
  };
}
