/**
 * A source that keeps the exact bytes of every file a run read, by sha256, and the newest root:
 * what a run that verified writes into the state file and a trust dir, and what names the
 * server's root when it does not chain from the kept one.
 */
import { createHash } from 'node:crypto';
import type { MetadataSource } from './source.js';

export class RecordingSource implements MetadataSource {
  /** Lower-case hex sha256 → the bytes read. */
  readonly bySha256 = new Map<string, Buffer>();
  /** The server's current root.json, once read. */
  currentRoot: Buffer | undefined;

  constructor(private readonly inner: MetadataSource) {}

  async getCurrent(gun: string, role: string, maxBytes: number): Promise<Buffer | null> {
    const bytes = this.keep(await this.inner.getCurrent(gun, role, maxBytes));
    if (role === 'root' && bytes) this.currentRoot = bytes;
    return bytes;
  }

  async getByChecksum(
    gun: string,
    role: string,
    sha256Hex: string,
    maxBytes: number
  ): Promise<Buffer | null> {
    return this.keep(await this.inner.getByChecksum(gun, role, sha256Hex, maxBytes));
  }

  async getByVersion(
    gun: string,
    role: string,
    version: number,
    maxBytes: number
  ): Promise<Buffer | null> {
    return this.keep(await this.inner.getByVersion(gun, role, version, maxBytes));
  }

  private keep(bytes: Buffer | null): Buffer | null {
    if (bytes) this.bySha256.set(createHash('sha256').update(bytes).digest('hex'), bytes);
    return bytes;
  }
}
