/**
 * How far a blob walk has got (the registry copy, the integrity check), reported through an
 * optional callback so a job can show `blobs 37/120, 1.2 GB` while it runs. Totals grow as
 * manifests are read (an index names its children's blobs only when they are fetched).
 */
export interface BlobProgress {
  readonly blobsDone: number;
  readonly blobsTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export type BlobProgressListener = (p: BlobProgress) => void;

/** Counts blobs announced and finished (each digest once) and tells `listener` after each change. */
export class BlobTally {
  private p = { blobsDone: 0, blobsTotal: 0, bytesDone: 0, bytesTotal: 0 };
  private readonly announced = new Set<string>();
  private readonly finished = new Set<string>();

  constructor(private readonly listener: BlobProgressListener | undefined) {}

  /** Blobs about to be walked (a manifest's config and layers). */
  announce(blobs: readonly { readonly digest: string; readonly size: number }[]): void {
    let changed = false;
    for (const b of blobs) {
      if (this.announced.has(b.digest)) continue;
      this.announced.add(b.digest);
      this.p.blobsTotal++;
      this.p.bytesTotal += b.size;
      changed = true;
    }
    if (changed) this.listener?.({ ...this.p });
  }

  done(blob: { readonly digest: string; readonly size: number }): void {
    if (this.finished.has(blob.digest)) return;
    this.finished.add(blob.digest);
    this.announce([blob]);
    this.p.blobsDone++;
    this.p.bytesDone += blob.size;
    this.listener?.({ ...this.p });
  }
}
