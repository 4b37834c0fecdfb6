/**
 * An in-process Countersign for freshness tests: the real composition root over a temporary
 * SQLite database, a ManualClock, supertest, the log captured as JSON lines, accounts created as
 * `countersign user add` does. Shaped like test/helpers/app.ts's TestApp, so its publishRepo works.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import request from 'supertest';
import { createApp, type App } from '../../src/app.js';
import { hashPassword } from '../../src/auth/passwords.js';
import type { AccountRole } from '../../src/auth/principal.js';
import { loadConfig } from '../../src/config/load.js';
import type { AccessControl } from '../../src/http/access.js';
import { ManualClock } from '../../src/util/clock.js';
import { createLogger } from '../../src/util/log.js';

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
  const dir = mkdtempSync(join(tmpdir(), 'countersign-fresh-'));
  const dataDir = opts.dataDir ?? join(dir, 'data');
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(config));
  const clock = opts.clock ?? new ManualClock();
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((l) => l !== '')
      );
      done();
    },
  });
  const log = createLogger({ level: 'debug', destination });
  const cfg = loadConfig(
    { config: configFile, dataDir, plainHttp: true },
    { COUNTERSIGN_KEY_PASSPHRASE: 'test passphrase' }
  );
  const app = await createApp(cfg, { clock, log, ...(opts.access ? { access: opts.access } : {}) });
  return {
    app,
    clock,
    http: request(app.handle),
    dataDir,
    logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    async addAccount(name, role, password, namespaces = []) {
      const now = clock.now();
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
