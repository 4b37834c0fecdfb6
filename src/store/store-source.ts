/**
 * Metadata straight from our storage, for the store: the same files the Notary API would serve
 * ("current" through the newest timestamp and the snapshot it names, src/notary/current.ts), so
 * verifying a staging repository needs no HTTP round trip. It never re-signs anything: an expired
 * server-held timestamp is reported as expired, not refreshed.
 */
import { loadCurrentRole } from '../notary/current.js';
import type { ParsedMetadata } from '../notary/parsed.js';
import type { MetaStore } from '../storage/types.js';
import type { MetadataSource } from '../client/source.js';

export class StoreMetadataSource implements MetadataSource {
  constructor(
    private readonly meta: MetaStore,
    /** The app's parsed files (src/notary/caches.ts). */
    private readonly parsed: ParsedMetadata
  ) {}

  async getCurrent(gun: string, role: string): Promise<Buffer | null> {
    return (await loadCurrentRole(this.meta, gun, role, this.parsed))?.data ?? null;
  }

  async getByChecksum(gun: string, role: string, sha256Hex: string): Promise<Buffer | null> {
    return (await this.meta.getByChecksum(gun, role, sha256Hex))?.data ?? null;
  }

  async getByVersion(gun: string, role: string, version: number): Promise<Buffer | null> {
    return (await this.meta.getByVersion(gun, role, version))?.data ?? null;
  }
}
