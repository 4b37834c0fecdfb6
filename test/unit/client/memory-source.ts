/**
 * An in-memory MetadataSource for client tests: a captured notary scenario's files served as
 * notary-server serves them (current, by sha256, by version), with hooks to alter or drop any
 * file and a log of what was asked for.
 */
import { createHash } from 'node:crypto';
import type { MetadataSource } from '../../../src/client/source.js';
import { parseEnvelope } from '../../../src/tuf/metadata.js';
import { loadScenario } from '../../helpers/notary-fixtures.js';

const hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export class MemorySource implements MetadataSource {
  private readonly current = new Map<string, Buffer>();
  private readonly byChecksum = new Map<string, Buffer>();
  private readonly byVersion = new Map<string, Buffer>();
  readonly requests: string[] = [];

  constructor(readonly gun: string) {}

  static fromScenario(name: string): MemorySource {
    const s = loadScenario(name);
    const src = new MemorySource(s.gun);
    for (const f of s.files) {
      const bytes = s.bytes(f.path);
      if (f.kind === 'current') src.setCurrent(f.role, bytes);
      else src.addVersion(f.role, bytes);
    }
    return src;
  }

  /** Adds a file by version and by checksum (its version read from the file). */
  addVersion(role: string, bytes: Buffer): this {
    this.byVersion.set(`${role}@${parseEnvelope(bytes).version}`, bytes);
    this.byChecksum.set(`${role}#${hex(bytes)}`, bytes);
    return this;
  }

  /** Makes `bytes` the current file of `role` (and stores it by version and checksum too). */
  publish(role: string, bytes: Buffer): this {
    this.addVersion(role, bytes);
    return this.setCurrent(role, bytes);
  }

  setCurrent(role: string, bytes: Buffer | null): this {
    if (bytes === null) this.current.delete(role);
    else this.current.set(role, bytes);
    return this;
  }

  /** Serves `bytes` under the name of the file whose sha256 is `sha256Hex` (a server answering with other bytes). */
  replaceByChecksum(role: string, sha256Hex: string, bytes: Buffer | null): this {
    if (bytes === null) this.byChecksum.delete(`${role}#${sha256Hex}`);
    else this.byChecksum.set(`${role}#${sha256Hex}`, bytes);
    return this;
  }

  /** Serves `bytes` as `<version>.<role>.json`, whatever version they hold. */
  setVersion(role: string, version: number, bytes: Buffer): this {
    this.byVersion.set(`${role}@${version}`, bytes);
    return this;
  }

  dropVersion(role: string, version: number): this {
    this.byVersion.delete(`${role}@${version}`);
    return this;
  }

  currentBytes(role: string): Buffer {
    const b = this.current.get(role);
    if (!b) throw new Error(`no current ${role}`);
    return b;
  }

  async getCurrent(gun: string, role: string): Promise<Buffer | null> {
    this.requests.push(`${role}.json`);
    return gun === this.gun ? (this.current.get(role) ?? null) : null;
  }

  async getByChecksum(gun: string, role: string, sha256Hex: string): Promise<Buffer | null> {
    this.requests.push(`${role}.${sha256Hex}.json`);
    return gun === this.gun ? (this.byChecksum.get(`${role}#${sha256Hex}`) ?? null) : null;
  }

  async getByVersion(gun: string, role: string, version: number): Promise<Buffer | null> {
    this.requests.push(`${version}.${role}.json`);
    return gun === this.gun ? (this.byVersion.get(`${role}@${version}`) ?? null) : null;
  }
}

/** When the scenario's last timestamp was signed: notary-server timestamps live exactly 14 days. */
export function captureTime(src: MemorySource): Date {
  return new Date(
    parseEnvelope(src.currentBytes('timestamp')).expires.getTime() - 14 * 86_400_000 + 60_000
  );
}

export const sha256Hex = hex;
