/**
 * The store's part in keeping trust data fresh (docs/freshness.md "Store repositories"):
 *
 * - `StoreResigner`, registered with the freshness scheduler: for the public repositories the
 *   store created, re-signs the public targets (same targets, version + 1, new expiry, the store
 *   targets key alone) once less than `resignBefore` of `expiry.targets` is left, and renews the
 *   root (root-renewal.ts) once less than `resignBefore` of `rootLifetime` is left of the root or
 *   its certificate — each with a new snapshot and timestamp, one `updateMany`, checked as a
 *   client pinned to the store CA sees it, audited in the same transaction;
 * - `auditResign`, the in-transaction hook that puts every snapshot/timestamp re-sign — the
 *   scheduler's and the read path's — into the audit log.
 */
import { verifyRepository } from '../client/index.js';
import { StoreMetadataSource } from './store-source.js';
import { fail } from '../errors.js';
import { effectiveExpiry, type GunFacts } from '../freshness/facts.js';
import {
  resignAt,
  type PlannedRole,
  type ResignRequest,
  type Resigner,
} from '../freshness/resigner.js';
import { loadCurrent, loadCurrentRole } from '../notary/current.js';
import type { ParsedMetadata } from '../notary/parsed.js';
import type { ExpiryPolicy, Lifetimes } from '../notary/expiry.js';
import type { RefreshDeps } from '../notary/refresh.js';
import type { Signer } from '../signer/types.js';
import type { NewMeta, Storage, StorageTx, StoreRepository } from '../storage/types.js';
import { parseEnvelope, parseTargets, type Root } from '../tuf/metadata.js';
import { DAY_MS } from '../util/duration.js';
import type { Logger } from '../util/log.js';
import { appendAudit, SCHEDULER_ACTOR } from './audit.js';
import { caBundlePem, type StoreCa, type StoreCaRecord } from './ca.js';
import {
  buildPublicTargets,
  loadPublicState,
  newMeta,
  rootCertificateKey,
  writeWithSnapshotAndTimestamp,
  type PublicState,
} from './public-metadata.js';
import {
  newRootKey,
  renewRootInTransaction,
  rootRenewalDue,
  rootUsableUntil,
  type RenewedRoot,
  type RootRenewalKey,
} from './root-renewal.js';
import type { StoreSettings } from './settings.js';

/** The name the store's re-signer goes by (logs, metrics, audit details). */
export const STORE_RESIGNER = 'store';

/**
 * The audit entry of a snapshot/timestamp re-sign, appended inside its transaction
 * (RefreshDeps.onResigned): `actor` is `scheduler` or `reader`.
 */
export function auditResign(
  actor: string,
  resigner: string
): NonNullable<RefreshDeps['onResigned']> {
  return async (tx, e) => {
    await appendAudit(tx.audit, {
      at: e.now,
      actor,
      action: 'metadata.resigned',
      subject: e.gun,
      details: { gun: e.gun, resigner, ...writtenDetails(e.written) },
    });
  };
}

/** What a re-sign wrote, for the audit log: each file, and each role's new version and expiry. */
export function writtenDetails(written: readonly NewMeta[]): Record<string, unknown> {
  const versions: Record<string, number> = {};
  const expires: Record<string, string> = {};
  for (const w of written) {
    versions[w.role] = w.version;
    expires[w.role] = String(parseEnvelope(w.data).signedJSON.expires);
  }
  return { written: written.map((w) => `${w.role} ${w.version} ${w.sha256}`), versions, expires };
}

export interface StoreResignerOptions {
  readonly storage: Storage;
  readonly signer: Signer;
  readonly ca: StoreCa;
  readonly expiry: ExpiryPolicy;
  readonly settings: Pick<StoreSettings, 'rootLifetimeMs'>;
  /** Whether a GUN is in a public zone: only there does the store hold repositories. */
  readonly isPublic: (gun: string) => boolean;
  /** The app's parsed files (src/notary/caches.ts). */
  readonly parsed: ParsedMetadata;
  readonly log: Logger;
}

const WARN_EVERY_MS = DAY_MS;

export class StoreResigner implements Resigner {
  readonly name = STORE_RESIGNER;
  /** What the CA warnings were last logged for (key: GUN, or '' for the CA itself) and when. */
  private readonly warnedAt = new Map<string, number>();

  constructor(private readonly o: StoreResignerOptions) {}

  /**
   * The store's repositories are the public GUNs whose targets key the server holds (nobody
   * else can write a public GUN). Targets fall due at resignBefore × the targets lifetime before
   * they expire; the root at resignBefore × rootLifetime before it or its certificate expires.
   */
  plan(facts: GunFacts, policy: ExpiryPolicy): PlannedRole[] {
    if (!this.o.isPublic(facts.gun)) return [];
    const targets = facts.roles.find((r) => r.role === 'targets');
    if (!targets?.held) return [];
    const out: PlannedRole[] = [
      {
        role: 'targets',
        resignAt: resignAt(
          targets.expires,
          policy.lifetimes(facts.gun).targets,
          policy.resignBefore
        ),
        keyHolder: 'store',
      },
    ];
    const root = facts.roles.find((r) => r.role === 'root');
    if (root) {
      out.push({
        role: 'root',
        resignAt: resignAt(
          new Date(effectiveExpiry(root)),
          this.o.settings.rootLifetimeMs,
          policy.resignBefore
        ),
        keyHolder: 'store',
      });
    }
    return out;
  }

  async resign(request: ResignRequest): Promise<readonly NewMeta[]> {
    const { gun, now } = request;
    const manages = (role: string) => request.planned.some((p) => p.role === role);
    const { resignBefore } = this.o.expiry;
    const rootLifetimeMs = this.o.settings.rootLifetimeMs;
    if (!(await this.o.storage.storeRepositories.get(gun)))
      fail('conflict', `the store did not create ${gun}; it re-signs only its own repositories`);
    const ca = await this.o.ca.get();

    // A new root key is made outside the transaction (key creation may not run inside one);
    // whether the renewal is still due is decided again inside it.
    let key: RootRenewalKey | undefined;
    if (manages('root')) {
      const root = await this.currentRoot(gun);
      if (root && rootRenewalDue(root, gun, now, resignBefore, rootLifetimeMs))
        key = await this.renewalKey(ca, gun, root, now);
    }
    try {
      const out = await this.o.storage.transaction(
        async (tx) => {
          const r = await this.resignInTransaction(tx, { gun, now, manages, ca, key });
          if (key && !r.renewed)
            await this.discard(tx.audit, gun, key, now, 'the root was renewed already');
          return r;
        },
        { lockGun: gun }
      );
      return out.written;
    } catch (err) {
      // Rolled back, the renewal (or the discard entry) with it.
      if (key) {
        try {
          await this.discard(this.o.storage.audit, gun, key, now, 'the renewal failed');
        } catch (auditErr) {
          this.o.log.error(
            { gun, keyId: key.keyId, err: errorText(auditErr) },
            'could not audit a discarded root key'
          );
        }
      }
      throw err;
    }
  }

  /**
   * Logs an error while the store CA has less than `rootLifetime` left (once a day): every root
   * certificate it issues from then on is cut short to the CA's own expiry, and when the CA
   * expires no public repository verifies for a CA-pinned client. Renewing the CA is the
   * operator's job: `countersign ca rotate` (docs/store.md "Rotating the store CA").
   */
  checkCa(ca: StoreCaRecord, now: Date): void {
    const left = Date.parse(ca.notAfter) - now.getTime();
    if (left >= this.o.settings.rootLifetimeMs || !this.due('', now)) return;
    this.o.log.error(
      { caKeyId: ca.keyId, caNotAfter: ca.notAfter, daysLeft: Math.floor(left / DAY_MS) },
      left <= 0
        ? 'the store CA has expired: clients pinned to it refuse every public repository; run countersign ca rotate'
        : 'the store CA expires within rootLifetime: renewed root certificates are cut short to its expiry; run countersign ca rotate'
    );
  }

  private async resignInTransaction(
    tx: StorageTx,
    o: StoreResignJob
  ): Promise<{ written: readonly NewMeta[]; renewed?: RenewedRoot }> {
    const due = await this.whatIsDue(tx, o);
    if (!due) return { written: [] };
    const { root, files, renewed } = await this.resignedFiles(tx, o, due);
    const written = await writeWithSnapshotAndTimestamp({
      tx,
      signer: this.o.signer,
      gun: o.gun,
      root,
      files,
      now: o.now,
      lifetimes: due.lifetimes,
      parsed: this.o.parsed,
    });
    await checkAsPinnedConsumer(tx, this.o.parsed, o.gun, o.now, o.ca);
    await this.recordResign(tx, o, written, renewed);
    return renewed ? { written, renewed } : { written };
  }

  /** The repository's state and which of targets and root need re-signing now; null for neither. */
  private async whatIsDue(tx: StorageTx, o: StoreResignJob): Promise<DueWork | null> {
    const { gun, now } = o;
    const { resignBefore } = this.o.expiry;
    const lifetimes = this.o.expiry.lifetimes(gun);
    const repo = await tx.storeRepositories.get(gun);
    if (!repo) return fail('conflict', `the store did not create ${gun}`);
    const { parsed } = this.o;
    const state = await loadPublicState(tx, repo, parsed);
    const current = await loadCurrent(tx.meta, gun, parsed);
    const targetsRow = current && (await loadCurrentRole(tx.meta, gun, 'targets', parsed, current));
    if (state.root === null || !targetsRow) return null;
    const targets = parseTargets(targetsRow.data).signed;
    const targetsDue =
      o.manages('targets') &&
      resignAt(targets.expires, lifetimes.targets, resignBefore) < now.getTime();
    const rootDue =
      o.key !== undefined &&
      rootRenewalDue(state.root, gun, now, resignBefore, this.o.settings.rootLifetimeMs);
    if (!targetsDue && !rootDue) return null;
    return { repo, state, root: state.root, lifetimes, targetsDue, rootDue };
  }

  /** The renewed root (with a new root key) and/or the re-signed targets, not yet written. */
  private async resignedFiles(
    tx: StorageTx,
    o: StoreResignJob,
    due: DueWork
  ): Promise<{ root: Root; files: NewMeta[]; renewed?: RenewedRoot }> {
    const files: NewMeta[] = [];
    let renewed: RenewedRoot | undefined;
    if (due.rootDue && o.key) {
      renewed = await renewRootInTransaction(tx, this.o.signer, {
        repo: due.repo,
        current: due.root,
        key: o.key,
        now: o.now,
        rootLifetimeMs: this.o.settings.rootLifetimeMs,
      });
      files.push(renewed.file);
    }
    if (due.targetsDue) {
      const version = ((await tx.meta.getLatest(o.gun, 'targets'))?.version ?? 0) + 1;
      const expires = new Date(o.now.getTime() + due.lifetimes.targets);
      const data = await buildPublicTargets(
        this.o.signer,
        due.repo,
        due.state.targets,
        version,
        expires
      );
      files.push(newMeta('targets', version, data));
    }
    const root = renewed ? renewed.root : due.root;
    return renewed ? { root, files, renewed } : { root, files };
  }

  /** The audit entry of a re-sign or a root renewal (and the log line of a renewal). */
  private async recordResign(
    tx: StorageTx,
    o: StoreResignJob,
    written: readonly NewMeta[],
    renewed: RenewedRoot | undefined
  ): Promise<void> {
    const { gun, now } = o;
    const certificateNotAfter = o.key?.notAfter.toISOString();
    await appendAudit(tx.audit, {
      at: now,
      actor: SCHEDULER_ACTOR,
      action: renewed ? 'root.renewed' : 'metadata.resigned',
      subject: gun,
      details: {
        gun,
        publicGun: gun,
        resigner: STORE_RESIGNER,
        ...writtenDetails(written),
        ...(renewed
          ? {
              previousRootKeyId: renewed.previous.keyId,
              previousCertificateKeyIds: [...renewed.previous.certificateKeyIds],
              rootKeyId: renewed.repo.rootKeyId,
              certificateKeyId: rootCertificateKey(renewed.repo).id,
              certificateNotAfter,
            }
          : {}),
      },
    });
    if (!renewed) return;
    this.o.log.info(
      {
        gun,
        rootVersion: renewed.file.version,
        rootKeyId: renewed.repo.rootKeyId,
        previousRootKeyId: renewed.previous.keyId,
        certificateNotAfter,
      },
      'public root renewed with a new root key'
    );
  }

  /** A key for the renewal, or undefined when the CA would not let the new root outlive the old one. */
  private async renewalKey(
    ca: StoreCaRecord,
    gun: string,
    current: Root,
    now: Date
  ): Promise<RootRenewalKey | undefined> {
    this.checkCa(ca, now);
    const caUntil = Date.parse(ca.notAfter);
    const until = rootUsableUntil(current, gun);
    if (caUntil <= until) {
      if (this.due(gun, now)) {
        this.o.log.error(
          { gun, caNotAfter: ca.notAfter, rootUsableUntil: new Date(until).toISOString() },
          `the root of ${gun} cannot be renewed: a certificate from the store CA would not outlast it; renew the CA`
        );
      }
      return undefined;
    }
    return newRootKey(
      { storage: this.o.storage, signer: this.o.signer, actor: SCHEDULER_ACTOR },
      ca,
      gun,
      now,
      this.o.settings.rootLifetimeMs
    );
  }

  private async currentRoot(gun: string): Promise<Root | null> {
    const row = await loadCurrentRole(this.o.storage.meta, gun, 'root', this.o.parsed);
    return row ? this.o.parsed.root(row).signed : null;
  }

  private discard(
    audit: StorageTx['audit'],
    gun: string,
    key: RootRenewalKey,
    now: Date,
    reason: string
  ): Promise<unknown> {
    return appendAudit(audit, {
      at: now,
      actor: SCHEDULER_ACTOR,
      action: 'key.discarded',
      subject: gun,
      details: { publicGun: gun, keyIds: [key.keyId], reason },
    });
  }

  /** Rate limit of the CA warnings: true (and noted) when `key` was not warned about for a day. */
  private due(key: string, now: Date): boolean {
    const last = this.warnedAt.get(key);
    if (last !== undefined && now.getTime() - last < WARN_EVERY_MS) return false;
    this.warnedAt.set(key, now.getTime());
    return true;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

interface StoreResignJob {
  readonly gun: string;
  readonly now: Date;
  readonly manages: (role: string) => boolean;
  readonly ca: StoreCaRecord;
  readonly key: RootRenewalKey | undefined;
}

interface DueWork {
  readonly repo: StoreRepository;
  readonly state: PublicState;
  readonly root: Root;
  readonly lifetimes: Lifetimes;
  readonly targetsDue: boolean;
  readonly rootDue: boolean;
}

/** What a consumer pinned to the store CA will see, checked before anything commits. */
async function checkAsPinnedConsumer(
  tx: StorageTx,
  parsed: ParsedMetadata,
  gun: string,
  now: Date,
  ca: StoreCaRecord
): Promise<void> {
  const check = await verifyRepository({
    source: new StoreMetadataSource(tx.meta, parsed),
    gun,
    clock: { now: () => now },
    trust: { kind: 'ca', pem: caBundlePem(ca, now) },
  });
  if (!check.ok) {
    fail(
      'internal',
      `the re-signed metadata of ${gun} does not verify: ${check.failures.map((f) => f.message).join('; ')}`
    );
  }
}
