/**
 * The webhook delivery log (docs/webhooks.md "Delivery log"), admins only:
 *   GET /api/v1/webhooks/deliveries?state=pending|delivered|failed&limit=N&before=RFC3339
 * newest first, each with its body as sent, attempts, the receiver's last status or error and,
 * while pending, when the next attempt is due. Secrets are never stored, so never shown.
 */
import type { Router } from 'express';
import { CountersignError } from '../errors.js';
import type { Storage } from '../storage/types.js';
import type { DeliveryState, StoredDelivery } from '../storage/work-types.js';
import type { StoreApiContext } from './store-api.js';

const STATES: readonly DeliveryState[] = ['pending', 'delivered', 'failed'];

export function webhookRoutes(
  storage: Storage
): (router: Router, context: StoreApiContext) => void {
  return (router, { authenticate, requireRole }) => {
    router.get('/webhooks/deliveries', authenticate, requireRole('admin'), async (req, res) => {
      const { state, limit, before } = req.query;
      if (state !== undefined && !(STATES as readonly unknown[]).includes(state))
        throw new CountersignError('bad_request', `state must be one of ${STATES.join(', ')}`);
      const n = limit === undefined ? 100 : Number(limit);
      if (!Number.isSafeInteger(n) || n < 1 || n > 1000)
        throw new CountersignError('bad_request', 'limit must be an integer from 1 to 1000');
      let beforeMs: number | undefined;
      if (before !== undefined) {
        beforeMs = typeof before === 'string' ? Date.parse(before) : NaN;
        if (Number.isNaN(beforeMs))
          throw new CountersignError('bad_request', 'before must be an RFC 3339 time');
      }
      const rows = await storage.webhooks.list({
        limit: n,
        ...(state !== undefined ? { state: state as DeliveryState } : {}),
        ...(beforeMs !== undefined ? { before: beforeMs } : {}),
      });
      res.json({ deliveries: rows.map(deliveryView) });
    });
  };
}

function deliveryView(d: StoredDelivery): Record<string, unknown> {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    id: d.id,
    url: d.url,
    event: d.event,
    eventId: d.eventId,
    state: d.state,
    attempts: d.attempts,
    createdAt: iso(d.createdAt),
    ...(d.state === 'pending' ? { nextAttemptAt: iso(d.nextAttemptAt) } : {}),
    ...(d.lastAttemptAt !== null ? { lastAttemptAt: iso(d.lastAttemptAt) } : {}),
    ...(d.lastStatus !== null ? { lastStatus: d.lastStatus } : {}),
    ...(d.lastError !== null ? { lastError: d.lastError } : {}),
    body: JSON.parse(d.body) as unknown,
  };
}
