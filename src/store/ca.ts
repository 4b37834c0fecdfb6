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
  private cached: StoreCaRecord | undefined;

  constructor(private readonly o: StoreCaOptions) {}

  /** The CA, created on first use (by whichever instance gets there first). */
  async get(): Promise<StoreCaRecord> {
    if (this.cached) return this.cached;
    const stored = await this.o.storage.settings.get(CA_SETTING);
    this.cached = stored !== null ? parseRecord(stored) : await this.create();
    return this.cached;
  }

  private async create(): Promise<StoreCaRecord> {
    const { storage, signer, clock, settings } = this.o;
    const now = clock.now();
    const key = await signer.create(STORE_KEY_GUN, CA_KEY_ROLE, 'ecdsa');
    await appendAudit(storage.audit, {
      at: now,
      actor: SYSTEM_ACTOR,
      action: 'key.created',
      subject: 'store-ca',
      details: { keyId: key.keyId, role: CA_KEY_ROLE, keyType: key.keyType },
    });
    const notAfter = new Date(now.getTime() + settings.caLifetimeMs);
    const certificate = goCertificatePem(
      await signer.issueCertificate(key.keyId, key.keyId, {
        commonName: settings.caCommonName,
        notBefore: new Date(now.getTime() - CERTIFICATE_BACKDATE_MS),
        notAfter,
        isCA: true,
        keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
      })
    );
    const mine: StoreCaRecord = { keyId: key.keyId, certificate, notAfter: notAfter.toISOString() };
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
          keyId: key.keyId,
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
        keyId: key.keyId,
        commonName: settings.caCommonName,
        notAfter: mine.notAfter,
        certificate,
      },
    });
    return mine;
  }
}

function parseRecord(text: string): StoreCaRecord {
  const r = JSON.parse(text) as Partial<StoreCaRecord>;
  if (
    typeof r.keyId !== 'string' ||
    typeof r.certificate !== 'string' ||
    typeof r.notAfter !== 'string'
  ) {
    fail('STORAGE_FAILURE', `the setting ${CA_SETTING} is not a store CA record`);
  }
  return { keyId: r.keyId, certificate: r.certificate, notAfter: r.notAfter };
}
