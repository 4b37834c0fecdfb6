/**
 * The check a stored root goes through before a publish builds on it.
 *
 * Stored roots already passed validation when they were uploaded; only their certificates' dates
 * can change the verdict. A successful check is remembered per (GUN, root sha256) for the window
 * in which every certificate of the root keys is within its dates (latest notBefore to earliest
 * notAfter), so an ordinary publish verifies no root signature at all, and a clock inside the
 * window gets the verdict a fresh check would give. One per app (src/notary/caches.ts), bounded.
 */
import type { KeyVerifiers } from '../crypto/keys.js';
import type { Root, SignedFile } from '../tuf/metadata.js';
import { validateRoot } from '../tuf/root.js';
import { BoundedCache } from '../util/bounded-cache.js';

export const MAX_VALIDATED_ROOTS = 10_000;

/** When a remembered verdict holds, in ms since the epoch, both ends included. */
interface Window {
  readonly from: number;
  readonly until: number;
}

export class ValidatedRoots {
  private readonly verdicts: BoundedCache<string, Window>;

  constructor(maxEntries = MAX_VALIDATED_ROOTS) {
    this.verdicts = new BoundedCache(maxEntries);
  }

  get size(): number {
    return this.verdicts.size;
  }

  /** Throws what validateRoot throws for `root` of `gun` at `now`; remembers a pass. */
  check(
    root: SignedFile<Root>,
    gun: string,
    sha256: string,
    now: Date,
    verifiers?: KeyVerifiers
  ): void {
    const key = `${gun}\u0000${sha256}`;
    const t = now.getTime();
    const known = this.verdicts.get(key);
    if (known !== undefined && known.from <= t && t <= known.until) return;
    validateRoot(root, {
      gun,
      now,
      checkExpiry: false,
      checkCertExpiry: true,
      ...(verifiers ? { verifiers } : {}),
    });
    const window = certificateWindow(root.signed);
    if (window.until > t) this.verdicts.set(key, window);
  }
}

/** The dates within which every certificate of the root keys is valid. */
function certificateWindow(root: Root): Window {
  let from = -Infinity;
  let until = Infinity;
  for (const id of root.roles.root.keyids) {
    for (const cert of root.keys.get(id)?.certificates ?? []) {
      from = Math.max(from, cert.notBefore.getTime());
      until = Math.min(until, cert.notAfter.getTime());
    }
  }
  return { from, until };
}
