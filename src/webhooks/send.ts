/**
 * One delivery attempt: POST the stored body with its signature, delivery id and event headers.
 * 2xx is delivered; anything else (another status, a refused connection, a timeout, a redirect,
 * which is not followed) is a failed attempt with the reason. The answer's body is not read
 * beyond its status: a receiver cannot make the server hold a large answer. The request goes
 * through the one outgoing HTTP client (src/util/http-client.ts); `timeoutMs` bounds the whole
 * attempt, so a receiver that trickles its answer cannot hold a worker either.
 */
import { openRequest } from '../util/http-client.js';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signBody } from './signature.js';

export interface Attempt {
  readonly url: string;
  readonly body: string;
  readonly deliveryId: string;
  readonly event: string;
  readonly secret: string;
  readonly timeoutMs: number;
}

export interface AttemptResult {
  readonly ok: boolean;
  readonly status: number | null;
  readonly error: string | null;
}

export type Sender = (a: Attempt) => Promise<AttemptResult>;

export const sendDelivery: Sender = async (a) => {
  const late = () => new Error(`no answer from the receiver within ${a.timeoutMs} ms`);
  try {
    const res = await openRequest({
      method: 'POST',
      url: new URL(a.url),
      timeoutMs: a.timeoutMs,
      timeoutError: late,
      signal: AbortSignal.timeout(a.timeoutMs),
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': 'countersign-webhooks',
        [SIGNATURE_HEADER]: signBody(a.secret, a.body),
        [DELIVERY_HEADER]: a.deliveryId,
        [EVENT_HEADER]: a.event,
      },
      body: Buffer.from(a.body, 'utf8'),
    });
    res.body.destroy();
    const ok = res.status >= 200 && res.status < 300;
    return { ok, status: res.status, error: ok ? null : `the receiver answered ${res.status}` };
  } catch (err) {
    const message =
      err instanceof Error && err.name === 'AbortError'
        ? late().message
        : err instanceof Error
          ? err.message
          : String(err);
    return { ok: false, status: null, error: message };
  }
};
