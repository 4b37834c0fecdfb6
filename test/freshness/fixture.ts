/**
 * An in-process Countersign for freshness tests: the real composition root over a temporary
 * SQLite database, a ManualClock, supertest, the log captured as JSON lines, accounts created as
 * `countersign user add` does. Shaped like test/helpers/app.ts's TestApp, so its publishRepo works.
 */
import request from 'supertest';
import { validatingRequest } from '../helpers/openapi-check.js';
import type { App } from '../../src/app.js';
import type { AccountRole } from '../../src/auth/principal.js';
import type { AccessControl } from '../../src/auth/access.js';
import { ManualClock } from '../../src/util/clock.js';
import { basic, inProcessApp } from '../helpers/app.js';

export interface FreshApp {
  readonly app: App;
  readonly clock: ManualClock;
  readonly http: ReturnType<typeof request>;
  readonly dataDir: string;
  /** Parsed log lines so far. */
  logs(): Record<string, unknown>[];
  addAccount(
    name: string,
    role: AccountRole,
    password: string,
    namespaces?: string[]
  ): Promise<void>;
  close(): Promise<void>;
}

export async function freshApp(
  config: Record<string, unknown> = {},
  opts: { clock?: ManualClock; access?: AccessControl; dataDir?: string } = {}
): Promise<FreshApp> {
  const clock = opts.clock ?? new ManualClock();
  const a = await inProcessApp({
    config,
    clock,
    prefix: 'countersign-fresh-',
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    ...(opts.access ? { appOptions: { access: opts.access } } : {}),
  });
  return {
    app: a.app,
    clock,
    // Store API answers are checked against the OpenAPI description (src/http/openapi/).
    http: validatingRequest(a.app.handle),
    dataDir: a.dataDir,
    logs: () => a.logLines().map((l) => JSON.parse(l) as Record<string, unknown>),
    addAccount: (...args) => a.addAccount(...args),
    close: () => a.close(),
  };
}

export { basic };

/** One sample of a Prometheus family from /metrics text, by exact labels; undefined if absent. */
export function sample(
  metricsText: string,
  name: string,
  labels: Record<string, string> = {}
): number | undefined {
  for (const line of metricsText.split('\n')) {
    const m = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!])
    );
    if (
      Object.keys(found).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => found[k] === v)
    )
      return Number(m[3]);
  }
  return undefined;
}
