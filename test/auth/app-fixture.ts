/**
 * A Countersign app (src/app.ts, the real composition root) on a temporary SQLite database, for
 * supertest: a config file as operators write it, accounts created as `countersign user add`
 * does, a log captured in memory so tests can check what was (not) logged.
 */
import type { App, AppOptions } from '../../src/app.js';
import type { AccountRole } from '../../src/auth/principal.js';
import type { Clock } from '../../src/util/clock.js';
import { basic, inProcessApp } from '../helpers/app.js';

export const ZONE = { staging: 'staging.store.test/', public: 'store.test/' } as const;

export interface TestApp {
  readonly app: App;
  readonly dir: string;
  /** Everything the app logged so far (JSON lines). */
  logs(): string;
  addAccount(
    name: string,
    role: AccountRole,
    password: string,
    namespaces?: string[]
  ): Promise<void>;
  close(): Promise<void>;
}

export async function makeTestApp(
  config: Record<string, unknown>,
  opts: { clock: Clock; storeRoutes?: AppOptions['storeRoutes']; flags?: { publicUrl?: string } }
): Promise<TestApp> {
  // No passphrase: the key ring makes its key file, as on a first start without one.
  const a = await inProcessApp({
    config,
    clock: opts.clock,
    prefix: 'countersign-auth-',
    env: {},
    ...(opts.flags ? { flags: opts.flags } : {}),
    ...(opts.storeRoutes ? { appOptions: { storeRoutes: opts.storeRoutes } } : {}),
  });
  return {
    app: a.app,
    dir: a.dir,
    logs: () =>
      a
        .logLines()
        .map((l) => `${l}\n`)
        .join(''),
    addAccount: (...args) => a.addAccount(...args),
    close: () => a.close(),
  };
}

export { basic };

/** The claims of a JWT, unverified (for assertions). */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

export function headerOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}
