/**
 * Health as orchestrators probe it (README "Health and metrics"):
 *   GET /healthz  200 while the process answers; touches nothing, so a slow database never
 *                 gets a live process killed;
 *   GET /readyz   200 when the database answers, its schema is the one this program knows and
 *                 the key ring still opens the database's check record (the server keys are
 *                 unsealed); otherwise 503 with the first failing check as `reason`.
 * `/_notary_server/health` stays as notary-server answers it (src/http/notary-api.ts).
 * Each check has a time limit, so a database that hangs makes /readyz answer 503, not hang.
 */
import type { Storage } from '../storage/types.js';

export interface ReadinessOptions {
  readonly storage: Pick<Storage, 'ping' | 'schema'>;
  /** Whether the server keys can be opened (Keyring.opensCheck). */
  readonly keysUnsealed: () => Promise<boolean>;
  /** Per check; default 2 s. */
  readonly timeoutMs?: number;
  /** Told why the key check could not run (it answers "failed" either way). */
  readonly onError?: (err: unknown) => void;
}

export interface Readiness {
  readonly ready: boolean;
  /** The first failing check, as a sentence. */
  readonly reason?: string;
  readonly checks: Readonly<Record<'database' | 'schema' | 'keys', 'ok' | 'failed' | 'skipped'>>;
}

export const LIVE_BODY = JSON.stringify({ status: 'ok' });

function within<T>(ms: number, work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function readiness(o: ReadinessOptions): Promise<Readiness> {
  const ms = o.timeoutMs ?? 2000;
  try {
    await within(ms, o.storage.ping(), 'database');
  } catch (err) {
    return {
      ready: false,
      reason: `the database does not answer: ${message(err)}`,
      checks: { database: 'failed', schema: 'skipped', keys: 'skipped' },
    };
  }
  let schema: { version: number; latest: number };
  try {
    schema = await within(ms, o.storage.schema(), 'schema');
  } catch (err) {
    return {
      ready: false,
      reason: `the database schema cannot be read: ${message(err)}`,
      checks: { database: 'ok', schema: 'failed', keys: 'skipped' },
    };
  }
  if (schema.version !== schema.latest) {
    return {
      ready: false,
      reason: `the database schema is at version ${schema.version}, this program needs ${schema.latest}`,
      checks: { database: 'ok', schema: 'failed', keys: 'skipped' },
    };
  }
  let unsealed: boolean;
  try {
    unsealed = await within(ms, o.keysUnsealed(), 'keys');
  } catch (err) {
    unsealed = false;
    o.onError?.(err);
  }
  if (!unsealed) {
    return {
      ready: false,
      reason: 'the key ring does not open the server keys stored in the database',
      checks: { database: 'ok', schema: 'ok', keys: 'failed' },
    };
  }
  return { ready: true, checks: { database: 'ok', schema: 'ok', keys: 'ok' } };
}

/** The /readyz body: what orchestrators log when a probe fails. */
export function readinessBody(r: Readiness): string {
  return JSON.stringify({
    status: r.ready ? 'ready' : 'not ready',
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
    checks: r.checks,
  });
}
