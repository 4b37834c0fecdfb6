/**
 * The in-memory copy of what GETs serve: exact stored bytes with their response headers built
 * once, so a hit costs a map lookup and a comparison, never a query, a parse or a signature.
 *
 * Correctness rules:
 * - An entry is used only while the storage generation is the one it was filled under: any
 *   commit by anyone (this process, another worker, another instance) empties the cache first.
 * - Writes in this process also drop the GUN at once (`invalidate`), before the write returns.
 * - A current timestamp or snapshot entry carries the expiry of what it serves; past it the
 *   entry is not used, so an expired timestamp is never served from memory (the miss path
 *   re-signs it).
 * - Size-bounded: least recently filled entries go first.
 */
import type { OutgoingHttpHeaders } from 'node:http';

export interface CachedResponse {
  readonly body: Buffer;
  readonly headers: OutgoingHttpHeaders;
  /** Epoch ms after which this entry must not be served; Infinity if only writes invalidate it. */
  readonly validUntil: number;
}

export class ReadCache {
  private readonly entries = new Map<string, CachedResponse>();
  private bytes = 0;
  private generation: number;

  constructor(
    private readonly currentGeneration: () => number,
    private readonly maxBytes = 64 * 1024 * 1024
  ) {
    this.generation = currentGeneration();
  }

  static key(gun: string, kind: 'current' | 'sha' | 'version', role: string, id = ''): string {
    return `${gun}\u0000${kind}\u0000${role}\u0000${id}`;
  }

  get(key: string, now: number): CachedResponse | undefined {
    this.checkGeneration();
    const e = this.entries.get(key);
    return e && now < e.validUntil ? e : undefined;
  }

  /** Stores an entry filled under `generation` (read before the storage reads that produced it). */
  set(key: string, entry: CachedResponse, generation: number): void {
    this.checkGeneration();
    if (generation !== this.generation || entry.body.length > this.maxBytes / 8) return;
    const old = this.entries.get(key);
    if (old) {
      this.bytes -= old.body.length;
      this.entries.delete(key);
    }
    this.entries.set(key, entry);
    this.bytes += entry.body.length;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.body.length;
    }
  }

  /** Drops every entry of a GUN (after a write in this process). */
  invalidate(gun: string): void {
    const prefix = `${gun}\u0000`;
    for (const [k, v] of this.entries) {
      if (k.startsWith(prefix)) {
        this.entries.delete(k);
        this.bytes -= v.body.length;
      }
    }
  }

  /** The generation a filler must record before reading storage. */
  currentGenerationForFill(): number {
    this.checkGeneration();
    return this.generation;
  }

  private checkGeneration(): void {
    const g = this.currentGeneration();
    if (g !== this.generation) {
      this.entries.clear();
      this.bytes = 0;
      this.generation = g;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
