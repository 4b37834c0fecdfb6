/**
 * `countersign.webhooks` (the receivers) and `countersign.webhookDelivery` (the queue), checked
 * strictly: a mistake stops the server with the key's path, never a receiver quietly dropped.
 */
import { fail } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import type { RetryPolicy } from './backoff.js';
import { isWebhookEvent, WEBHOOK_EVENTS, type WebhookEvent } from './events.js';

export const MIN_SECRET_LENGTH = 16;

export interface WebhookReceiver {
  readonly url: string;
  readonly events: readonly WebhookEvent[];
  /** HMAC key; never logged, never stored in the database (deliveries are signed when sent). */
  readonly secret: string;
}

export interface WebhookSettings {
  readonly receivers: readonly WebhookReceiver[];
  readonly retry: RetryPolicy;
  /** Per attempt: connect, send and answer. */
  readonly timeoutMs: number;
  /** Pending deliveries at most; the relay waits beyond it. */
  readonly maxQueued: number;
  /** Finished deliveries kept for the log. */
  readonly keepFinished: number;
}

const RECEIVER_KEYS = ['url', 'events', 'secret'];
const DELIVERY_KEYS = ['firstRetry', 'maxRetryDelay', 'maxAttempts', 'timeout', 'maxQueued'];

export function parseWebhookSettings(list: unknown, delivery: unknown): WebhookSettings {
  const receivers = parseReceivers(list);
  const d = (delivery ?? {}) as Record<string, unknown>;
  const where = 'countersign.webhookDelivery';
  if (typeof d !== 'object' || d === null || Array.isArray(d))
    fail('CONFIG_INVALID', `${where} must be an object`);
  for (const k of Object.keys(d))
    if (!DELIVERY_KEYS.includes(k)) fail('CONFIG_INVALID', `unknown key ${where}.${k}`);
  const duration = (k: string, dflt: string, minMs: number): number => {
    const v = d[k] ?? dflt;
    if (typeof v !== 'string') fail('CONFIG_INVALID', `${where}.${k} must be a DURATION`);
    const ms = parseDuration(v, `${where}.${k}`);
    if (ms < minMs) fail('CONFIG_INVALID', `${where}.${k} must be at least ${minMs / 1000}s`);
    return ms;
  };
  const int = (k: string, dflt: number, min: number, max: number): number => {
    const v = d[k] ?? dflt;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
      fail('CONFIG_INVALID', `${where}.${k} must be an integer from ${min} to ${max}`);
    return v;
  };
  const firstRetryMs = duration('firstRetry', '10s', 1000);
  const maxDelayMs = duration('maxRetryDelay', '1h', 1000);
  if (maxDelayMs < firstRetryMs)
    fail('CONFIG_INVALID', `${where}.maxRetryDelay must not be shorter than firstRetry`);
  return {
    receivers,
    retry: { firstRetryMs, maxDelayMs, maxAttempts: int('maxAttempts', 12, 1, 100) },
    timeoutMs: duration('timeout', '10s', 1000),
    maxQueued: int('maxQueued', 10_000, 1, 1_000_000),
    keepFinished: 1000,
  };
}

function parseReceivers(list: unknown): WebhookReceiver[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) fail('CONFIG_INVALID', 'countersign.webhooks must be a list');
  const seen = new Set<string>();
  return list.map((item: unknown, i) => {
    const where = `countersign.webhooks[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      fail('CONFIG_INVALID', `${where} must be an object with url, events and secret`);
    const o = item as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (!RECEIVER_KEYS.includes(k)) fail('CONFIG_INVALID', `unknown key ${where}.${k}`);
    const url = receiverUrl(o.url, `${where}.url`);
    if (seen.has(url)) fail('CONFIG_INVALID', `${where}.url ${url} is listed twice`);
    seen.add(url);
    return {
      url,
      events: receiverEvents(o.events, `${where}.events`),
      secret: secret(o.secret, where),
    };
  });
}

function receiverUrl(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') fail('CONFIG_INVALID', `${where} is required`);
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return fail('CONFIG_INVALID', `${where} ${JSON.stringify(value)} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    fail('CONFIG_INVALID', `${where} must start with http:// or https://`);
  if (parsed.username !== '' || parsed.password !== '' || parsed.hash !== '')
    fail('CONFIG_INVALID', `${where} must not carry credentials or a fragment`);
  return parsed.href;
}

function receiverEvents(value: unknown, where: string): WebhookEvent[] {
  if (!Array.isArray(value) || value.length === 0)
    fail('CONFIG_INVALID', `${where} must list at least one event`);
  const events: WebhookEvent[] = [];
  for (const e of value as unknown[]) {
    if (!isWebhookEvent(e))
      fail(
        'CONFIG_INVALID',
        `${where}: ${JSON.stringify(e)} is not an event (${WEBHOOK_EVENTS.join(', ')})`
      );
    if (!events.includes(e)) events.push(e);
  }
  return events;
}

function secret(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH)
    fail(
      'CONFIG_INVALID',
      `${where}.secret must be a string of at least ${MIN_SECRET_LENGTH} characters`
    );
  return value;
}
