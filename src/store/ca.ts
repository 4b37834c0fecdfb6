/**
 * The store CA (docs/design.md "Verified facts for the store CA"): one ECDSA P-256 server key and a
 * self-signed CA certificate, created once and shared by every instance through the settings
 * table. It issues the root certificate of every public repository, so consumers pin one CA
 * (`trust_pinning.ca`, `GET /api/v1/store/ca.pem`) instead of one root per repository. The
 * private key is a server key like any other: sealed at rest, used only through the Signer.
 */
import { fail } from '../errors.js';
import { decodePemBlocks, encodePem } from '../crypto/pem.js';
import type { Signer } from '../signer/types.js';
import type { Storage } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { appendAudit, SYSTEM_ACTOR } from './audit.js';
import type { StoreSettings } from './settings.js';

/** The setting holding the CA (JSON of StoreCaRecord). */
export const CA_SETTING = 'store.ca';
/** Server keys of the store itself are filed under no GUN (a GUN is never empty). */
export const STORE_KEY_GUN = '';
export const CA_KEY_ROLE = 'store-ca';
/** Certificates start a little in the past: clients whose clocks lag must not find them "not yet valid". */
export const CERTIFICATE_BACKDATE_MS = 60 * 60_000;

export interface StoreCaRecord {
  readonly keyId: string;
  /** PEM, as Go writes it. */
  readonly certificate: string;
  readonly notAfter: string;
  /**
   * After `countersign ca rotate`: this CA's key certified by the CA it replaced, valid as long
   * as that one. Root certificates issued during the overlap carry it as an intermediate, so a
   * consumer that still pins only the old CA accepts them (docs/store.md "Rotating the store CA").
   */
  readonly cross?: { readonly certificate: string; readonly notAfter: string };
  /** CAs this one replaced that have not expired: still in `ca.pem`, since older roots chain to them. */
  readonly previous?: readonly PreviousCa[];
}

/** A replaced store CA, kept while root certificates it issued may still be in use. */
export interface PreviousCa {
  readonly keyId: string;
  readonly certificate: string;
  readonly notAfter: string;
}

/**
 * What consumers pin (`GET /api/v1/store/ca.pem`) and what the store's own checks pin: the
 * current CA, then every replaced one still valid at `now`.
 */
export function caBundlePem(ca: StoreCaRecord, now: Date): string {
  const live = (ca.previous ?? []).filter((p) => Date.parse(p.notAfter) > now.getTime());
  return [ca.certificate, ...live.map((p) => p.certificate)].join('');
}

/** The intermediate a root certificate issued at `now` carries: the cross certificate while it is valid. */
export function caIntermediatePem(ca: StoreCaRecord, now: Date): string {
  return ca.cross && Date.parse(ca.cross.notAfter) > now.getTime() ? ca.cross.certificate : '';
}

export interface StoreCaOptions {
  readonly storage: Pick<Storage, 'settings' | 'audit'>;
  readonly signer: Signer;
  readonly clock: Clock;
  readonly settings: Pick<StoreSettings, 'caLifetimeMs' | 'caCommonName'>;
}

/** PEM re-encoded in Go's exact form (64 columns, `\n`), the form notary hashes into key IDs. */
export function goCertificatePem(pem: string): string {
  const block = decodePemBlocks(pem).find((b) => b.type === 'CERTIFICATE');
  if (!block) return fail('CERT_INVALID', 'no certificate in the issued PEM');
  return encodePem('CERTIFICATE', block.der);
}

export class StoreCa {
  constructor(private readonly o: StoreCaOptions) {}

  /**
   * The CA, created on first use (by whichever instance gets there first). Read from the
   * settings every time, not cached: `ca rotate` may replace it under a running server, and it
   * is needed rarely (a new repository, a root renewal, `ca.pem`).
   */
  async get(): Promise<StoreCaRecord> {
    const stored = await this.o.storage.settings.get(CA_SETTING);
    return stored !== null ? parseRecord(stored) : await this.create();
  }

  /**
   * `countersign ca rotate`: a new CA key and self-signed certificate become current; the new key
   * is also certified by the old CA until the old one expires (the cross certificate), and the
   * old certificate stays in `ca.pem` until then. Consumers pinned to the old CA keep verifying
   * every repository (old roots chain to it; new ones through the cross certificate), consumers
   * that fetch `ca.pem` again pin both, and root renewals move every repository to the new CA.
   */
  async rotate(
    actor: string
  ): Promise<{ readonly old: StoreCaRecord; readonly next: StoreCaRecord }> {
    const { storage, signer, clock, settings } = this.o;
    const old = await this.get();
    const now = clock.now();
    const fresh = await this.newSelfSigned(now, actor);
    const oldNotAfter = new Date(old.notAfter);
    const cross =
      oldNotAfter.getTime() > now.getTime()
        ? {
            certificate: goCertificatePem(
              await signer.issueCertificate(
                old.keyId,
                fresh.keyId,
                caRequest(
                  settings.caCommonName,
                  now,
                  new Date(Math.min(oldNotAfter.getTime(), Date.parse(fresh.notAfter)))
                ),
                old.certificate
              )
            ),
            notAfter: new Date(
              Math.min(oldNotAfter.getTime(), Date.parse(fresh.notAfter))
            ).toISOString(),
          }
        : undefined;
    const previous = [
      { keyId: old.keyId, certificate: old.certificate, notAfter: old.notAfter },
      ...(old.previous ?? []),
    ].filter((p) => Date.parse(p.notAfter) > now.getTime());
    const next: StoreCaRecord = { ...fresh, ...(cross ? { cross } : {}), previous };
    await storage.settings.put(CA_SETTING, JSON.stringify(next));
    await appendAudit(storage.audit, {
      at: now,
      actor,
      action: 'ca.rotated',
      subject: 'store-ca',
      details: {
        keyId: next.keyId,
        previousKeyId: old.keyId,
        notAfter: next.notAfter,
        certificate: next.certificate,
        crossCertifiedUntil: cross?.notAfter ?? null,
      },
    });
    return { old, next };
  }

  /** A new CA key and its self-signed certificate (the key audited as it is made). */
  private async newSelfSigned(now: Date, actor: string): Promise<StoreCaRecord> {
    const { storage, signer, settings } = this.o;
    const key = await signer.create(STORE_KEY_GUN, CA_KEY_ROLE, 'ecdsa');
    await appendAudit(storage.audit, {
      at: now,
      actor,
      action: 'key.created',
      subject: 'store-ca',
      details: { keyId: key.keyId, role: CA_KEY_ROLE, keyType: key.keyType },
    });
    const notAfter = new Date(now.getTime() + settings.caLifetimeMs);
    const certificate = goCertificatePem(
      await signer.issueCertificate(
        key.keyId,
        key.keyId,
        caRequest(settings.caCommonName, now, notAfter)
      )
    );
    return { keyId: key.keyId, certificate, notAfter: notAfter.toISOString() };
  }

  private async create(): Promise<StoreCaRecord> {
    const { storage, clock, settings } = this.o;
    const now = clock.now();
    const mine = await this.newSelfSigned(now, SYSTEM_ACTOR);
    const stored = parseRecord(
      await storage.settings.putIfAbsent(CA_SETTING, JSON.stringify(mine))
    );
    if (stored.keyId !== mine.keyId) {
      // Another instance created the CA first: ours is never used.
      await appendAudit(storage.audit, {
        at: now,
        actor: SYSTEM_ACTOR,
        action: 'key.discarded',
        subject: 'store-ca',
        details: {
          keyId: mine.keyId,
          reason: 'another instance created the store CA first',
          ca: stored.keyId,
        },
      });
      return stored;
    }
    await appendAudit(storage.audit, {
      at: now,
      actor: SYSTEM_ACTOR,
      action: 'ca.created',
      subject: 'store-ca',
      details: {
        keyId: mine.keyId,
        commonName: settings.caCommonName,
        notAfter: mine.notAfter,
        certificate: mine.certificate,
      },
    });
    return mine;
  }
}

/** A CA certificate's request: same subject for every generation, as a cross-signed CA needs. */
function caRequest(commonName: string, now: Date, notAfter: Date) {
  return {
    commonName,
    notBefore: new Date(now.getTime() - CERTIFICATE_BACKDATE_MS),
    notAfter,
    isCA: true,
    keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'] as const,
  };
}

function parseRecord(text: string): StoreCaRecord {
  const r = JSON.parse(text) as Partial<StoreCaRecord>;
  const certFields = (c: unknown): boolean =>
    typeof c === 'object' &&
    c !== null &&
    typeof (c as PreviousCa).certificate === 'string' &&
    typeof (c as PreviousCa).notAfter === 'string';
  const previousOk =
    r.previous === undefined ||
    (Array.isArray(r.previous) &&
      (r.previous as unknown[]).every(
        (p) => certFields(p) && typeof (p as PreviousCa).keyId === 'string'
      ));
  if (
    typeof r.keyId !== 'string' ||
    typeof r.certificate !== 'string' ||
    typeof r.notAfter !== 'string' ||
    (r.cross !== undefined && !certFields(r.cross)) ||
    !previousOk
  ) {
    fail('STORAGE_FAILURE', `the setting ${CA_SETTING} is not a store CA record`);
  }
  return {
    keyId: r.keyId,
    certificate: r.certificate,
    notAfter: r.notAfter,
    ...(r.cross ? { cross: { certificate: r.cross.certificate, notAfter: r.cross.notAfter } } : {}),
    ...(r.previous ? { previous: r.previous } : {}),
  };
}
