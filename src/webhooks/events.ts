/**
 * What the webhooks say (docs/webhooks.md "Events"). The chain's events are read from the audit
 * log, which every state change appends to inside its own transaction: an event exists exactly
 * when its change committed, and the relay (relay.ts) turns it into deliveries afterwards.
 * `metadata.expiring` comes from the expiry index instead (expiring.ts).
 */
import type { AuditEntry } from '../storage/types.js';

export const WEBHOOK_EVENTS = [
  'submission.created',
  'submission.verified',
  'submission.verification_failed',
  'review.recorded',
  'submission.published',
  'submission.rejected',
  'target.revoked',
  'metadata.expiring',
] as const;

export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export function isWebhookEvent(name: unknown): name is WebhookEvent {
  return typeof name === 'string' && (WEBHOOK_EVENTS as readonly string[]).includes(name);
}

/** Audit action → event; actions not listed (keys, CA, re-signs, waivers, …) send nothing. */
const FROM_AUDIT: Readonly<Record<string, WebhookEvent>> = {
  'submission.created': 'submission.created',
  'submission.verified': 'submission.verified',
  'submission.verification_failed': 'submission.verification_failed',
  'submission.reviewed': 'review.recorded',
  'submission.published': 'submission.published',
  'submission.rejected': 'submission.rejected',
  'submission.revoked': 'target.revoked',
  'repository.revoked': 'target.revoked',
};

export interface EventMessage {
  readonly event: WebhookEvent;
  /** Stable across retries and instances: receivers drop a second delivery of the same id. */
  readonly id: string;
  /** The exact bytes sent. */
  readonly body: string;
}

/** The event an audit entry announces, or null. */
export function eventFromAudit(entry: AuditEntry): EventMessage | null {
  const event = FROM_AUDIT[entry.action];
  if (event === undefined) return null;
  const id = `audit-${entry.id}`;
  const { submission, ...rest } = entry.details;
  // What the audit entry recorded, under the id of what it is about.
  const about =
    typeof submission === 'string'
      ? { submission: { id: submission, ...rest } }
      : { repository: { ...rest, gun: rest.publicGun ?? rest.gun } };
  const body = JSON.stringify({
    event,
    id,
    time: entry.at.toISOString(),
    actor: entry.actor,
    subject: entry.subject,
    ...about,
  });
  return { event, id, body };
}

/** The `metadata.expiring` event of one role version (sent once per version). */
export function expiringEvent(
  role: {
    readonly gun: string;
    readonly role: string;
    readonly version: number;
    readonly expires: string;
    readonly secondsLeft: number;
    readonly keyHolder: string;
  },
  now: Date
): EventMessage {
  const id = `expiring-${role.gun}-${role.role}-${role.version}`;
  const body = JSON.stringify({
    event: 'metadata.expiring',
    id,
    time: now.toISOString(),
    repository: {
      gun: role.gun,
      role: role.role,
      version: role.version,
      expires: role.expires,
      secondsLeft: role.secondsLeft,
      keyHolder: role.keyHolder,
    },
  });
  return { event: 'metadata.expiring', id, body };
}
