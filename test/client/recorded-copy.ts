/**
 * Copies of a live repository for replay tests: `recordCopy` verifies a repository through any
 * source and keeps every file it read in a MemorySource (current files, by checksum, by version),
 * so the exact bytes a server served at that moment can be served again later by `serveSource`;
 * `SwitchableSource` lets one static server change which copy it serves.
 */
import {
  HttpMetadataSource,
  verifyRepository,
  type MetadataSource,
} from '../../src/client/index.js';
import { systemClock } from '../../src/util/clock.js';
import { MemorySource } from '../unit/client/memory-source.js';

/** Records every file a verification reads into `copy`. */
export class RecordingSource implements MetadataSource {
  readonly copy: MemorySource;
  constructor(
    private readonly inner: MetadataSource,
    gun: string
  ) {
    this.copy = new MemorySource(gun);
  }
  async getCurrent(gun: string, role: string, max: number): Promise<Buffer | null> {
    const b = await this.inner.getCurrent(gun, role, max);
    if (b) this.copy.publish(role, b);
    return b;
  }
  async getByChecksum(gun: string, role: string, hex: string, max: number): Promise<Buffer | null> {
    const b = await this.inner.getByChecksum(gun, role, hex, max);
    if (b) this.copy.addVersion(role, b);
    return b;
  }
  async getByVersion(
    gun: string,
    role: string,
    version: number,
    max: number
  ): Promise<Buffer | null> {
    const b = await this.inner.getByVersion(gun, role, version, max);
    if (b) this.copy.setVersion(role, version, b);
    return b;
  }
}

/** The files a client reads of `gun` on `server` right now, as a MemorySource. */
export async function recordCopy(
  server: { url: string; caFile?: string | undefined },
  gun: string
): Promise<MemorySource> {
  const http = new HttpMetadataSource({
    server: server.url,
    ...(server.caFile ? { caFile: server.caFile } : {}),
  });
  const recorder = new RecordingSource(http, gun);
  const result = await verifyRepository({ source: recorder, gun, clock: systemClock });
  if (!result.ok) throw new Error(`recording ${gun}: ${JSON.stringify(result.failures)}`);
  return recorder.copy;
}

/** Serves whichever source it was last pointed at. */
export class SwitchableSource implements MetadataSource {
  constructor(public inner: MetadataSource) {}
  getCurrent(gun: string, role: string, max: number): Promise<Buffer | null> {
    return this.inner.getCurrent(gun, role, max);
  }
  getByChecksum(gun: string, role: string, hex: string, max: number): Promise<Buffer | null> {
    return this.inner.getByChecksum(gun, role, hex, max);
  }
  getByVersion(gun: string, role: string, version: number, max: number): Promise<Buffer | null> {
    return this.inner.getByVersion(gun, role, version, max);
  }
}
