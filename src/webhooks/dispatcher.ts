/**
 * The webhook queue's worker (docs/webhooks.md). Each tick, apart from any request:
 * 1. relays new audit entries into deliveries, one per receiver that wants the event (the
 *    cursor and the deliveries commit together, so a restart neither loses nor repeats one);
 * 2. enqueues `metadata.expiring` for role versions newly in their warning window;
 * 3. claims due deliveries and sends them, scheduling a retry with backoff on failure.
 * The action that caused an event only appended its audit entry: a receiver that is down is
 * noticed here, in the background, and never by that action.
 */
import { randomUUID } from 'node:crypto';
import type { Storage } from '../storage/types.js';
import type { NewDelivery, StoredDelivery } from '../storage/work-types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { retryDelay } from './backoff.js';
import { eventFromAudit, expiringEvent, type EventMessage } from './events.js';
import { sendDelivery, type Sender } from './send.js';
import type { WebhookReceiver, WebhookSettings } from './settings.js';

/** A role in its warning window that the server does not re-sign (from the expiry index). */
export interface ExpiringRoleFact {
  readonly gun: string;
  readonly role: string;
  readonly version: number;
  readonly expires: string;
  readonly secondsLeft: number;
  readonly keyHolder: string;
}

export interface WebhookDispatcherOptions {
  readonly storage: Storage;
  readonly settings: WebhookSettings;
  readonly clock: Clock;
  readonly log: Logger;
  readonly send?: Sender;
  readonly expiring?: (now: Date) => Promise<readonly ExpiringRoleFact[]>;
}

const RELAY_BATCH = 100;
const RELAY_BATCHES_PER_TICK = 10;
const CLAIM_BATCH = 8;

export interface TickReport {
  readonly relayed: number;
  readonly enqueued: number;
  readonly attempted: number;
  readonly delivered: number;
}

export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<TickReport> | undefined;
  private readonly send: Sender;

  constructor(private readonly o: WebhookDispatcherOptions) {
    this.send = o.send ?? sendDelivery;
  }

  get enabled(): boolean {
    return this.o.settings.receivers.length > 0;
  }

  /** Ticks every `intervalMs` in the background (the timer does not keep the process alive). */
  start(intervalMs = 1000): void {
    if (!this.enabled || this.timer) return;
    this.timer = setInterval(() => {
      this.tick().catch((err: unknown) =>
        this.o.log.warn({ err: String(err) }, 'webhook queue: tick failed; retried next tick')
      );
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One pass; concurrent callers share it. */
  tick(): Promise<TickReport> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<TickReport> {
    if (!this.enabled) return { relayed: 0, enqueued: 0, attempted: 0, delivered: 0 };
    const { relayed, enqueued } = await this.relay();
    const expiring = await this.enqueueExpiring();
    const { attempted, delivered } = await this.deliverDue();
    if (attempted > 0) await this.o.storage.webhooks.prune(this.o.settings.keepFinished);
    return { relayed, enqueued: enqueued + expiring, attempted, delivered };
  }

  private deliveriesFor(msg: EventMessage, now: number): NewDelivery[] {
    return this.o.settings.receivers
      .filter((r) => r.events.includes(msg.event))
      .map((r) => ({
        id: randomUUID(),
        url: r.url,
        event: msg.event,
        eventId: msg.id,
        body: msg.body,
        createdAt: now,
      }));
  }

  private async relay(): Promise<{ relayed: number; enqueued: number }> {
    let relayed = 0;
    let enqueued = 0;
    for (let i = 0; i < RELAY_BATCHES_PER_TICK; i++) {
      const now = this.o.clock.now().getTime();
      const r = await this.o.storage.webhooks.relayAudit(
        (entry) => {
          const msg = eventFromAudit(entry);
          return msg ? this.deliveriesFor(msg, now) : [];
        },
        { limit: RELAY_BATCH, maxPending: this.o.settings.maxQueued }
      );
      relayed += r.read;
      enqueued += r.enqueued;
      if (r.full) this.o.log.warn({ max: this.o.settings.maxQueued }, 'webhook queue is full');
      if (r.full || r.read < RELAY_BATCH) break;
    }
    return { relayed, enqueued };
  }

  private async enqueueExpiring(): Promise<number> {
    if (
      !this.o.expiring ||
      !this.o.settings.receivers.some((r) => r.events.includes('metadata.expiring'))
    )
      return 0;
    const now = this.o.clock.now();
    let added = 0;
    for (const role of await this.o.expiring(now)) {
      const deliveries = this.deliveriesFor(expiringEvent(role, now), now.getTime());
      // A version already announced is skipped by the (url, event id) key.
      if (await this.o.storage.webhooks.enqueue(deliveries, this.o.settings.maxQueued))
        added += deliveries.length;
      else break;
    }
    return added;
  }

  private async deliverDue(): Promise<{ attempted: number; delivered: number }> {
    // The claim lasts past the attempt's timeout, so no other instance sends it meanwhile; if
    // this process dies, the delivery is due again once the claim lapses.
    const lease = this.o.settings.timeoutMs * 2 + 5000;
    const claimed = await this.o.storage.webhooks.claim(
      this.o.clock.now().getTime(),
      lease,
      CLAIM_BATCH
    );
    const results = await Promise.all(claimed.map((d) => this.attempt(d)));
    return { attempted: claimed.length, delivered: results.filter(Boolean).length };
  }

  private async attempt(d: StoredDelivery): Promise<boolean> {
    const receiver: WebhookReceiver | undefined = this.o.settings.receivers.find(
      (r) => r.url === d.url
    );
    const result = receiver
      ? await this.send({
          url: d.url,
          body: d.body,
          deliveryId: d.id,
          event: d.event,
          secret: receiver.secret,
          timeoutMs: this.o.settings.timeoutMs,
        })
      : { ok: false, status: null, error: 'the receiver is no longer configured' };
    const at = this.o.clock.now().getTime();
    const wait = result.ok || !receiver ? null : retryDelay(this.o.settings.retry, d.attempts);
    await this.o.storage.webhooks.finish(d.id, {
      state: result.ok ? 'delivered' : wait === null ? 'failed' : 'pending',
      at,
      nextAttemptAt: wait === null ? at : at + wait,
      status: result.status,
      error: result.error,
    });
    if (!result.ok)
      this.o.log.warn(
        {
          url: loggable(d.url),
          delivery: d.id,
          event: d.event,
          attempt: d.attempts,
          err: result.error,
        },
        wait === null ? 'webhook delivery failed for good' : 'webhook delivery failed; will retry'
      );
    return result.ok;
  }
}

/** A receiver URL without its query: some receivers take a token there, and logs keep no secret. */
function loggable(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}${u.search === '' ? '' : '?…'}`;
}
