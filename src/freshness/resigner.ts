/**
 * A re-signer keeps some roles of some repositories fresh. The scheduler knows nothing about
 * which keys exist or how a role is signed: it asks each registered re-signer which roles of a
 * repository it manages and when each falls due (`plan`, pure and cheap, run whenever the
 * repository changes), and at that time asks it to re-sign (`resign`). The snapshot/timestamp
 * re-signer (server-resigner.ts) is one; the store adds its own for the public repositories'
 * targets and root certificates.
 */
import type { ExpiryPolicy } from '../notary/expiry.js';
import type { NewMeta } from '../storage/types.js';
import type { GunFacts } from './facts.js';

/** Who signs a role: the server for its snapshot/timestamp keys, the store for its own keys, else the producer. */
export type KeyHolder = 'server' | 'client' | 'store';

/** One role a re-signer takes charge of. */
export interface PlannedRole {
  readonly role: string;
  /** Epoch ms after which the role is due: once `now > resignAt` the scheduler calls `resign`. */
  readonly resignAt: number;
  /** Shown by status; 'server' or 'store' (a re-signer only manages keys the server holds). */
  readonly keyHolder: Exclude<KeyHolder, 'client'>;
}

export interface ResignRequest {
  readonly gun: string;
  readonly now: Date;
  /** Every role this re-signer planned for the GUN (from the facts the scheduler last read). */
  readonly planned: readonly PlannedRole[];
  /** Those of them due at `now`. */
  readonly due: readonly PlannedRole[];
}

export interface Resigner {
  /** Short stable name, for logs, the audit hook and the `resigner` metric label. */
  readonly name: string;
  /**
   * The roles of this repository the re-signer manages and when each is due, from its current
   * facts; [] when it manages none. Must not do I/O: it runs for every repository on each scan.
   * When two re-signers claim one role, the one registered first keeps it.
   */
  plan(facts: GunFacts, policy: ExpiryPolicy): readonly PlannedRole[];
  /**
   * Re-signs what is due. Must take the GUN's lock (`storage.transaction(…, { lockGun })`),
   * re-read the current state there and write only what is still due, so two instances (or the
   * read path) racing on one repository produce one new version. Every write must include a new
   * timestamp (that is what puts it in the changefeed). Returns the files written, [] if nothing
   * was still due. Throwing counts as a failure: logged, retried later.
   */
  resign(request: ResignRequest): Promise<readonly NewMeta[]>;
}

/** What the scheduler reports after every successful re-sign (audit log, cache invalidation). */
export interface ResignEvent {
  readonly gun: string;
  readonly resigner: string;
  readonly written: readonly NewMeta[];
  readonly at: Date;
}

/** `expires − resignBefore × lifetime`: the moment less than that fraction of the lifetime is left. */
export function resignAt(expires: Date, lifetimeMs: number, resignBefore: number): number {
  return expires.getTime() - resignBefore * lifetimeMs;
}
