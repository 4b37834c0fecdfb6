/**
 * The store's certification chain as one service (docs/design.md "Submission lifecycle"): submissions
 * created and verified, reviewed to a quorum, published into the public repository with the
 * store's signature alone, revoked; every state change and key operation in the audit log.
 *
 * Authorization is decided here, from the caller's Principal (docs/interfaces.md "Store API" table), so
 * every caller — HTTP routes today — gets the same answers: 403 `forbidden` when the account may
 * not do that, 404 `not_found`, 409 `conflict` when the submission's state does not allow it
 * (the lifecycle table, src/store/lifecycle.ts). Requests arrive as typed commands
 * (src/store/commands.ts): their shape was checked at the edge.
 *
 * Every state change runs in a storage transaction together with its audit entry
 * (src/store/transition.ts). Submission changes are checked against the revision read (optimistic
 * concurrency), so two reviewers or instances acting at once never both win.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { CountersignError, fail, isCountersignError, STORE_CODES } from '../errors.js';
import type { AccessPolicy } from '../auth/policy.js';
import type { AccountRole, Principal } from '../auth/principal.js';
import type { ExpiryPolicy } from '../notary/expiry.js';
import type { NotaryCaches } from '../notary/caches.js';
import type { Signer } from '../signer/types.js';
import type { AuditEntry, Storage, StoredSubmission } from '../storage/types.js';
import { gunProblem } from '../tuf/names.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { ReviewPolicy } from '../policy/types.js';
import { parseScannerReport } from '../policy/vulnerabilities.js';
import { reportSettingName, withReport, withWaiver } from './policy-review.js';
import { SYSTEM_ACTOR, verifyAuditChain, type AuditVerification } from './audit.js';
import { caBundlePem, StoreCa } from './ca.js';
import type {
  AuditQuery,
  CreateSubmission,
  ReviewCommand,
  RevokeCommand,
  SubmissionQuery,
  WaiveCommand,
} from './commands.js';
import type { StoreHooks } from './hooks.js';
import { requireTransition, type SubmissionEvent } from './lifecycle.js';
import { publishInTransaction } from './publish.js';
import { ensureStoreRepository } from './repositories.js';
import { reviewChange } from './review-decision.js';
import { revokeInTransaction, type Revocation } from './revoke.js';
import type { StoreSettings } from './settings.js';
import {
  detailsOf,
  EMPTY_DETAILS,
  isSubmissionId,
  newSubmissionId,
  tagProblem,
  viewOf,
  type ReportRecord,
  type SubmissionTarget,
  type SubmissionView,
} from './submission.js';
import { auditSubmission, transition, type Decide, type TransitionOptions } from './transition.js';
import { evaluate, verificationChange, verificationErrorChange } from './verify-submission.js';

export interface StoreServiceOptions {
  readonly storage: Storage;
  readonly signer: Signer;
  readonly clock: Clock;
  /** Zones and ownership (`policy.zones`, `policy.ownsRepository`). */
  readonly policy: AccessPolicy;
  readonly settings: StoreSettings;
  readonly expiry: ExpiryPolicy;
  /** The app's parsed files, checked roots and imported keys (src/notary/caches.ts). */
  readonly caches: NotaryCaches;
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

function requireRole(p: Principal, ...roles: AccountRole[]): void {
  if (!roles.includes(p.role)) {
    fail('forbidden', `This needs the role ${roles.join(' or ')}; ${p.name} is a ${p.role}.`);
  }
}

/** Reviews and waivers come from someone other than the submitter (four eyes). */
function notBy(p: Principal, what: string): TransitionOptions['guard'] {
  return (sub) => {
    if (sub.submitter === p.name) fail('forbidden', `${p.name} submitted this and may not ${what}`);
  };
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
          { submission: sub.id, err: errorText(err) },
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
    cmd: CreateSubmission,
    opts: { readonly deferVerification?: boolean } = {}
  ): Promise<SubmissionView> {
    requireRole(p, 'publisher', 'admin');
    const { gun, tag } = cmd;
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
        await auditSubmission(tx, p.name, 'submission.created', stored, now, {});
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

  /**
   * Whether `p` may read submission `id` (get's rule), false for one that does not exist: what
   * decides who reads the jobs tied to a submission (src/jobs/runner.ts).
   */
  async mayRead(p: Principal, id: string): Promise<boolean> {
    const sub = await this.find(id);
    return sub !== null && this.isReader(p, sub);
  }

  async list(p: Principal, query: SubmissionQuery): Promise<SubmissionView[]> {
    requireRole(p, 'reviewer', 'admin');
    return (await this.o.storage.submissions.list(query)).map(viewOf);
  }

  /** Re-runs verification (after a registry outage, say), while no one has reviewed it yet. */
  async reverify(p: Principal, id: string): Promise<SubmissionView> {
    const sub = await this.load(id);
    if (p.role !== 'admin' && !this.o.policy.ownsRepository(p, sub.gun)) {
      fail('forbidden', `${p.name} may not re-verify a submission for ${sub.gun}`);
    }
    requireTransition('verify', sub.state);
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
        { submission: sub.id, err: errorText(err) },
        'verification failed with an error'
      );
      const detail = known
        ? `verification could not complete: ${err.message}`
        : 'verification could not complete on the server (its log has the reason)';
      return this.change(actor, sub, 'verify', (current, now) =>
        verificationErrorChange(detailsOf(current), detail, now)
      );
    }
  }

  /**
   * Verification as docs/design.md describes it, recorded with its report (one entry per check) and
   * the exact target, versions and checksums read; `verified` only if every check passed.
   */
  private async runVerification(actor: string, sub: StoredSubmission): Promise<StoredSubmission> {
    const outcome = await evaluate(this.o, sub);
    try {
      return await this.change(
        actor,
        sub,
        'verify',
        (_current, now) => verificationChange(detailsOf(sub), outcome, now),
        { revision: sub.revision }
      );
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
    const updated = await this.change(p.name, first, 'attach_report', async (sub, now, tx) => {
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
      const check = details.policy.checks.find((c) => c.name === 'vulnerabilities');
      const audit = {
        sha256: record.sha256,
        format: record.format,
        counts: { ...record.counts },
        findings: record.findings,
        size: record.size,
        ...(check ? { vulnerabilities: check.passed ? 'passed' : 'failed' } : {}),
      };
      return {
        state: sub.state,
        details,
        audit: [{ action: 'submission.report_attached', details: audit }],
      };
    });
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
  async waive(p: Principal, id: string, cmd: WaiveCommand): Promise<SubmissionView> {
    requireRole(p, 'reviewer', 'admin');
    const first = await this.load(id);
    const updated = await this.change(
      p.name,
      first,
      'waive',
      (sub, now) => {
        const { details, check } = withWaiver(detailsOf(sub), cmd.check, {
          by: p.name,
          reason: cmd.reason,
          at: now.toISOString(),
        });
        const audit = { check: check.name, reason: cmd.reason, detail: check.detail };
        return {
          state: sub.state,
          details,
          audit: [{ action: 'submission.waived', details: audit }],
        };
      },
      { guard: notBy(p, 'waive its checks') }
    );
    return viewOf(updated);
  }

  // --- reviews and publishing ------------------------------------------------------------

  async review(p: Principal, id: string, cmd: ReviewCommand): Promise<SubmissionView> {
    requireRole(p, 'reviewer', 'admin');
    const first = await this.load(id);
    const updated = await this.change(
      p.name,
      first,
      cmd.decision,
      (sub, now) => reviewChange(sub, p.name, cmd, this.o.settings.approvals, now),
      { guard: notBy(p, 'review it') }
    );
    // Only an approval of a `verified` submission reaches `approved`: this one completed the quorum.
    if (updated.state !== 'approved' || !this.o.settings.autoPublish) return viewOf(updated);
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
    requireTransition('publish', sub.state);
    return this.publishApproved(p.name, sub, false);
  }

  /**
   * The publish, in named steps: the beforePublish hooks (the registry copy) → the public
   * repository and its store keys → one transaction writing the public metadata and marking the
   * submission published (src/store/publish.ts) → the read cache told. A refusal is recorded on
   * the submission.
   */
  private async publishApproved(
    actor: string,
    sub: StoredSubmission,
    auto: boolean
  ): Promise<SubmissionView> {
    const target = viewOf(sub).target;
    if (!target) fail('conflict', 'the submission has no verified target');
    let published: StoredSubmission;
    try {
      const provenance = await this.runBeforePublish(sub, target);
      const repo = await this.publicRepository(sub.publicGun, actor);
      published = await this.commitPublish(sub, { repo, actor, auto, provenance });
    } catch (err) {
      throw await this.publishFailure(actor, sub.id, err);
    }
    this.o.log.info(
      { submission: sub.id, publicGun: sub.publicGun, tag: sub.tag, actor },
      'published'
    );
    return viewOf(published);
  }

  /** The hooks' provenance fields, merged; a hook that throws stops the publish. */
  private async runBeforePublish(
    sub: StoredSubmission,
    target: SubmissionTarget
  ): Promise<Record<string, unknown>> {
    const provenance: Record<string, unknown> = {};
    const context = { submission: viewOf(sub), target };
    for (const hook of this.o.hooks?.beforePublish ?? [])
      Object.assign(provenance, (await hook(context)) ?? {});
    return provenance;
  }

  private publicRepository(publicGun: string, actor: string) {
    const { storage, signer, clock, settings } = this.o;
    return ensureStoreRepository(
      { storage, signer, clock, ca: this.ca, settings },
      publicGun,
      actor
    );
  }

  private async commitPublish(
    sub: StoredSubmission,
    step: Pick<Parameters<typeof publishInTransaction>[2], 'repo' | 'actor' | 'auto' | 'provenance'>
  ): Promise<StoredSubmission> {
    const ca = await this.ca.get();
    const { signer, expiry, settings, caches } = this.o;
    try {
      return await this.o.storage.transaction(
        (tx) =>
          publishInTransaction({ signer, expiry, settings, parsed: caches.parsed }, tx, {
            ...step,
            submissionId: sub.id,
            revision: sub.revision,
            ca,
            now: this.o.clock.now(),
          }),
        { lockGun: sub.publicGun }
      );
    } finally {
      // A committed publish must be served at once, not from a cached copy.
      this.o.onPublicChange?.(sub.publicGun);
    }
  }

  /** The error a failed publish answers with, its refusal recorded unless it was a race. */
  private async publishFailure(actor: string, id: string, err: unknown): Promise<unknown> {
    if (isCountersignError(err, 'STORAGE_CONFLICT')) {
      return new CountersignError(
        'conflict',
        'the submission changed while it was being published; look at it again',
        { cause: err }
      );
    }
    await this.recordRefusal(actor, id, err);
    return err;
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
    if (!known) this.o.log.error({ submission: id, err: errorText(err) }, 'publish failed');
    const message = known
      ? known.message
      : 'the publish failed on the server (its log has the reason); nothing was published';
    try {
      const sub = await this.load(id);
      await this.change(actor, sub, 'publish_refused', (current, now) => ({
        state: current.state,
        details: { ...detailsOf(current), publishError: { at: now.toISOString(), message } },
        audit: [{ action: 'submission.publish_refused', details: { reason: message } }],
      }));
    } catch (recordErr) {
      this.o.log.error(
        { submission: id, err: errorText(recordErr) },
        'could not record a refused publish'
      );
    }
  }

  async revoke(p: Principal, publicGun: string, cmd: RevokeCommand): Promise<Revocation> {
    requireRole(p, 'admin');
    if (!this.o.policy.zones.isPublic(publicGun))
      fail('bad_request', `${publicGun} is not in a public zone`);
    const repo = await this.o.storage.storeRepositories.get(publicGun);
    if (!repo) fail('not_found', `the store has published nothing to ${publicGun}`);
    try {
      return await this.o.storage.transaction(
        (tx) =>
          revokeInTransaction(
            { signer: this.o.signer, expiry: this.o.expiry, parsed: this.o.caches.parsed },
            tx,
            {
              repo,
              tag: cmd.tag,
              reason: cmd.reason,
              actor: p.name,
              now: this.o.clock.now(),
            }
          ),
        { lockGun: publicGun }
      );
    } finally {
      this.o.onPublicChange?.(publicGun);
    }
  }

  // --- audit -----------------------------------------------------------------------------

  async auditEntries(p: Principal, query: AuditQuery): Promise<AuditEntryView[]> {
    requireRole(p, 'admin');
    return (await this.o.storage.audit.list(query)).map(auditView);
  }

  async auditVerify(p: Principal): Promise<AuditVerification> {
    requireRole(p, 'admin');
    return verifyAuditChain(this.o.storage.audit);
  }

  // --- helpers ---------------------------------------------------------------------------

  private change(
    actor: string,
    sub: StoredSubmission,
    event: SubmissionEvent,
    decide: Decide,
    opts?: TransitionOptions
  ): Promise<StoredSubmission> {
    return transition(this.o, actor, sub, event, decide, opts);
  }

  private async load(id: string): Promise<StoredSubmission> {
    const sub = await this.find(id);
    if (!sub) return fail('not_found', `no submission ${id}`);
    return sub;
  }

  /** The submission with this id, or null (an id of the wrong form names none). */
  private find(id: string): Promise<StoredSubmission | null> {
    return isSubmissionId(id) ? this.o.storage.submissions.get(id) : Promise.resolve(null);
  }

  private requireReader(p: Principal, sub: StoredSubmission): void {
    if (!this.isReader(p, sub))
      fail('forbidden', `${p.name} may not read submissions for ${sub.gun}`);
  }

  /** docs/interfaces.md: the owner (a publisher of the namespace), reviewers and admins read a submission. */
  private isReader(p: Principal, sub: StoredSubmission): boolean {
    return p.role === 'reviewer' || p.role === 'admin' || this.o.policy.ownsRepository(p, sub.gun);
  }
}

function isStoreCode(code: string): boolean {
  return Object.prototype.hasOwnProperty.call(STORE_CODES, code);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
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
