/**
 * A map with a fixed bound on its entries, for the caches an app keeps of things derived from
 * client input (parsed metadata, verified roots, imported keys, …): however many distinct keys
 * arrive, memory stays bounded.
 *
 * Eviction is least-recently-used, approximated by "second chance" (the CLOCK algorithm): a hit
 * only sets a flag on its entry, so the read path costs one Map lookup and no allocation or
 * reordering; when the cache is full, the oldest entries are looked at in insertion order, and
 * one that was read since it was (re)inserted gets a second chance at the young end instead of
 * being dropped. An entry nobody reads leaves first; an entry read all the time stays.
 */
interface Slot<V> {
  readonly value: V;
  used: boolean;
}

export class BoundedCache<K, V> {
  private readonly entries = new Map<K, Slot<V>>();

  constructor(readonly maxEntries: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1)
      throw new RangeError(`a bounded cache holds at least one entry, not ${maxEntries}`);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const slot = this.entries.get(key);
    if (slot === undefined) return undefined;
    slot.used = true;
    return slot.value;
  }

  set(key: K, value: V): void {
    if (!this.entries.delete(key)) this.makeRoom();
    this.entries.set(key, { value, used: false });
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  /** The cached value, or `make()`'s, remembered (a throw is passed on, never remembered). */
  getOrSet(key: K, make: () => V): V {
    const slot = this.entries.get(key);
    if (slot !== undefined) {
      slot.used = true;
      return slot.value;
    }
    const value = make();
    this.set(key, value);
    return value;
  }

  /**
   * Drops one entry when full. Each entry passed over loses its flag and moves to the young end,
   * so the loop ends within one round of the cache (at worst every entry was read).
   */
  private makeRoom(): void {
    if (this.entries.size < this.maxEntries) return;
    for (const [key, slot] of this.entries) {
      this.entries.delete(key);
      if (!slot.used) return;
      slot.used = false;
      this.entries.set(key, slot);
    }
  }
}
