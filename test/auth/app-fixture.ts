/**
 * A Countersign app (src/app.ts, the real composition root) on a temporary SQLite database, for
 * supertest: a config file as operators write it, accounts created as `countersign user add`
 * does, a log captured in memory so tests can check what was (not) logged.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createApp, type App, type AppOptions } from '../../src/app.js';
import { hashPassword } from '../../src/auth/passwords.js';
import type { AccountRole } from '../../src/auth/principal.js';
import { loadConfig } from '../../src/config/load.js';
import type { Clock } from '../../src/util/clock.js';
import { createLogger } from '../../src/util/log.js';

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
  const dir = mkdtempSync(join(tmpdir(), 'countersign-auth-'));
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(config));
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const log = createLogger({ level: 'debug', destination });
  const loaded = loadConfig(
    { config: configFile, dataDir: join(dir, 'data'), plainHttp: true, ...opts.flags },
    {}
  );
  const app = await createApp(loaded, {
    clock: opts.clock,
    log,
    ...(opts.storeRoutes ? { storeRoutes: opts.storeRoutes } : {}),
  });
  return {
    app,
    dir,
    logs: () => chunks.join(''),
    async addAccount(name, role, password, namespaces = []) {
      const now = opts.clock.now();
      await app.storage.accounts.upsert({
        name,
        role,
        namespaces,
        passwordHash: await hashPassword(password),
        createdAt: now,
        updatedAt: now,
      });
    },
    async close() {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

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
