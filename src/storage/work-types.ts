/**
 * The storage contract of the two background queues (migration 6): webhook deliveries
 * (src/webhooks/) and jobs (src/jobs/), implemented once for both engines by webhook-queries.ts
 * and job-queries.ts (bound in stores.ts). Times are epoch milliseconds. Neither queue changes
 * metadata: their writes bump no storage generation.
 */
import type { AuditEntry } from './types.js';

export type DeliveryState = 'pending' | 'delivered' | 'failed';

export interface NewDelivery {
  /** Random; sent as the delivery id header. */
  readonly id: string;
  readonly url: string;
  readonly event: string;
  /** The event's own id (in the body); one delivery per (url, eventId) ever. */
  readonly eventId: string;
  /** The exact JSON bytes that are signed and sent, as UTF-8 text. */
  readonly body: string;
  readonly createdAt: number;
}

export interface StoredDelivery extends NewDelivery {
  readonly state: DeliveryState;
  /** Attempts started (a claim counts one). */
  readonly attempts: number;
  /** When the next attempt is due (pending), or when the claim of a running attempt lapses. */
  readonly nextAttemptAt: number;
  readonly lastAttemptAt: number | null;
  /** The receiver's HTTP status of the last attempt, or null when it did not answer. */
  readonly lastStatus: number | null;
  readonly lastError: string | null;
}

export interface DeliveryOutcome {
  readonly state: DeliveryState;
  readonly at: number;
  readonly nextAttemptAt: number;
  readonly status: number | null;
  readonly error: string | null;
}

export interface RelayResult {
  /** Audit entries the cursor moved past. */
  readonly read: number;
  readonly enqueued: number;
  /** The queue holds `maxPending` pending deliveries: the cursor waits. */
  readonly full: boolean;
}

export interface WebhookStore {
  /**
   * In one transaction, serialized with every other instance's relay: reads the audit cursor
   * (set to the newest entry the first time, so history is never replayed), turns up to `limit`
   * entries after it into deliveries with `plan`, inserts them (skipping a (url, eventId) already
   * there) and moves the cursor past the entries planned. Stops before an entry whose deliveries
   * would take the pending count past `maxPending`: the audit log keeps the rest.
   */
  relayAudit(
    plan: (entry: AuditEntry) => readonly NewDelivery[],
    o: { readonly limit: number; readonly maxPending: number }
  ): Promise<RelayResult>;
  /** Inserts deliveries not made from the audit log; false (nothing inserted) when the queue is full. */
  enqueue(deliveries: readonly NewDelivery[], maxPending: number): Promise<boolean>;
  /**
   * Claims up to `limit` pending deliveries due at `now`: their attempt count goes up and their
   * due time moves to `now + leaseMs`, so no other instance takes them while this one sends.
   * PostgreSQL skips rows another instance is claiming (FOR UPDATE SKIP LOCKED).
   */
  claim(now: number, leaseMs: number, limit: number): Promise<StoredDelivery[]>;
  /** Records the outcome of a claimed attempt. */
  finish(id: string, outcome: DeliveryOutcome): Promise<void>;
  /** Newest first; `before` pages by creation time. */
  list(filter: {
    readonly state?: DeliveryState;
    readonly limit: number;
    readonly before?: number;
  }): Promise<StoredDelivery[]>;
  /** Deletes finished deliveries beyond the newest `keep`; returns how many. */
  prune(keep: number): Promise<number>;
}

export type JobState = 'running' | 'succeeded' | 'failed';

export interface StoredJob {
  readonly id: string;
  /** `verify`, `publish`, `submit`, `review`. */
  readonly kind: string;
  /** The account that started it. */
  readonly owner: string;
  readonly submission: string | null;
  readonly state: JobState;
  readonly progress: Readonly<Record<string, unknown>>;
  readonly result: unknown;
  readonly error: Readonly<Record<string, unknown>> | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Refreshed while the job runs; a running job whose heartbeat is old was interrupted. */
  readonly heartbeatAt: number;
  readonly finishedAt: number | null;
}

export interface JobChange {
  readonly at: number;
  readonly state?: JobState;
  readonly submission?: string;
  readonly progress?: Readonly<Record<string, unknown>>;
  readonly result?: unknown;
  readonly error?: Readonly<Record<string, unknown>>;
}

export interface JobStore {
  insert(job: StoredJob): Promise<void>;
  get(id: string): Promise<StoredJob | null>;
  /** The jobs of a submission, newest first (creation time, then id), at most `limit`. */
  ofSubmission(submission: string, limit: number): Promise<StoredJob[]>;
  /** Running jobs of any submission (or none), newest first, at most `limit`. */
  running(limit: number): Promise<StoredJob[]>;
  /** Applies `change` to a running job (heartbeat = `at`); false when it is no longer running. */
  update(id: string, change: JobChange): Promise<boolean>;
  /** Marks failed, with `error`, every running job whose heartbeat is before `before`; returns their ids. */
  failStale(
    before: number,
    error: Readonly<Record<string, unknown>>,
    at: number
  ): Promise<string[]>;
}
