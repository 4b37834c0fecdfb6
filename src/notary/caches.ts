/**
 * The caches of the Notary side, one set per app (src/app.ts creates it and hands it down), so
 * two apps in one process — the tests start several — never share an entry, and each cache has
 * a bound however many distinct repositories, files and keys clients send:
 *
 * - `parsed`: stored root, snapshot and timestamp files parsed once, by sha256 (parsed.ts);
 * - `validatedRoots`: stored roots that passed their check, by GUN and sha256 (stored-root.ts);
 * - `verifiers`: key material imported into OpenSSL, by key content (src/crypto/keys.ts).
 *
 * Command-line tools that read a database once make their own set for the run.
 */
import { KeyVerifiers } from '../crypto/keys.js';
import { ParsedMetadata } from './parsed.js';
import { ValidatedRoots } from './stored-root.js';

export interface NotaryCaches {
  readonly parsed: ParsedMetadata;
  readonly validatedRoots: ValidatedRoots;
  readonly verifiers: KeyVerifiers;
}

/** Entries each cache may hold; the defaults suit a server (see each module). */
export interface CacheBounds {
  readonly parsedPerKind?: number;
  readonly validatedRoots?: number;
  readonly verifiers?: number;
}

export function createNotaryCaches(bounds: CacheBounds = {}): NotaryCaches {
  return {
    parsed: new ParsedMetadata(bounds.parsedPerKind),
    validatedRoots: new ValidatedRoots(bounds.validatedRoots),
    verifiers: new KeyVerifiers(bounds.verifiers),
  };
}
