/**
 * An in-process Countersign for API tests: createApp over a temporary SQLite database with an
 * injectable clock, driven with supertest (no listening socket), plus helpers to publish a
 * repository the way the notary client does (server-held snapshot and timestamp keys).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import request from 'supertest';
import { validatingRequest } from './openapi-check.js';
import { createApp, type App, type AppOptions } from '../../src/app.js';
import { hashPassword } from '../../src/auth/passwords.js';
import type { AccountRole } from '../../src/auth/principal.js';
import { loadConfig, type ServeFlags } from '../../src/config/load.js';
import { createLogger, silentLogger, type LogLevel } from '../../src/util/log.js';
import { ManualClock, type Clock } from '../../src/util/clock.js';
import { PublicKey } from '../../src/crypto/keys.js';
import {
  plainKey,
  rootSigned,
  sign,
  targetsSigned,
  x509Key,
  type TargetSpec,
  type TestKey,
} from './tuf-builder.js';

/**
 * The real composition root over a temporary SQLite database: a config file written as operators
 * write it, the log captured as JSON lines, accounts created as `countersign user add` does.
 * The fixtures of the API, auth and freshness tests are built on this.
 */
export interface InProcessApp {
  readonly app: App;
  readonly dir: string;
  readonly dataDir: string;
  /** Every log line written so far (JSON text). */
  logLines(): string[];
  addAccount(
    name: string,
    role: AccountRole,
    password: string,
    namespaces?: string[]
  ): Promise<void>;
  close(): Promise<void>;
}

export async function inProcessApp(o: {
  config: Record<string, unknown>;
  clock: Clock;
  prefix?: string;
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  flags?: Partial<ServeFlags>;
  appOptions?: Partial<AppOptions>;
  logLevel?: LogLevel;
}): Promise<InProcessApp> {
  const dir = mkdtempSync(join(tmpdir(), o.prefix ?? 'countersign-app-'));
  const dataDir = o.dataDir ?? join(dir, 'data');
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(o.config));
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
  const log =
    o.logLevel === 'silent'
      ? silentLogger
      : createLogger({ level: o.logLevel ?? 'debug', destination });
  const cfg = loadConfig(
    { config: configFile, dataDir, plainHttp: true, ...o.flags },
    o.env ?? { COUNTERSIGN_KEY_PASSPHRASE: 'test passphrase' }
  );
  const app = await createApp(cfg, { clock: o.clock, log, ...o.appOptions });
  return {
    app,
    dir,
    dataDir,
    logLines: () => [...lines],
    async addAccount(name, role, password, namespaces = []) {
      const now = o.clock.now();
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

export interface TestApp {
  readonly app: App;
  readonly clock: ManualClock;
  readonly http: ReturnType<typeof request>;
  close(): Promise<void>;
}

export async function startTestApp(
  config: Record<string, unknown> = {},
  clock = new ManualClock()
): Promise<TestApp> {
  const a = await inProcessApp({ config, clock, prefix: 'countersign-api-', logLevel: 'silent' });
  // Store API answers are checked against the OpenAPI description (src/http/openapi/).
  return { app: a.app, clock, http: validatingRequest(a.app.handle), close: () => a.close() };
}

/** Basic credentials for an Authorization header. */
export const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

export const tuf = (gun: string, rest = '') => `/v2/${gun}/_trust/tuf/${rest}`;

/** A multipart body as the Go client sends it: one `files` part per role, filename = role. */
export function multipart(parts: Record<string, Buffer>): { body: Buffer; contentType: string } {
  const boundary = 'b0undary' + Math.random().toString(16).slice(2);
  const chunks: Buffer[] = [];
  for (const [role, data] of Object.entries(parts)) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${role}"\r\nContent-Type: application/octet-stream\r\n\r\n`
      ),
      data,
      Buffer.from('\r\n')
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export async function post(t: TestApp, gun: string, parts: Record<string, Buffer>) {
  const { body, contentType } = multipart(parts);
  return t.http.post(tuf(gun)).set('Content-Type', contentType).send(body);
}

export interface PublishedRepo {
  readonly gun: string;
  readonly rootKey: TestKey;
  readonly targetsKey: TestKey;
  readonly snapshotKey: PublicKey;
  readonly timestampKey: PublicKey;
  rootVersion: number;
  targetsVersion: number;
}

async function serverKey(
  t: TestApp,
  gun: string,
  role: 'snapshot' | 'timestamp'
): Promise<PublicKey> {
  const res = await t.http.get(tuf(gun, `${role}.key`)).expect(200);
  return PublicKey.fromJSON(JSON.parse(res.text), `${role}.key`);
}

/** Creates a repository whose snapshot and timestamp keys the server holds (as docker does). */
export async function publishRepo(
  t: TestApp,
  gun: string,
  targets: readonly TargetSpec[] = [{ name: 'v1' }]
): Promise<PublishedRepo> {
  const rootKey = await x509Key(gun);
  const targetsKey = plainKey('ecdsa');
  const snapshotKey = await serverKey(t, gun, 'snapshot');
  const timestampKey = await serverKey(t, gun, 'timestamp');
  const root = sign(
    rootSigned({
      root: [rootKey],
      targets: [targetsKey],
      snapshot: [{ keyid: snapshotKey.id, key: snapshotKey }],
      timestamp: [{ keyid: timestampKey.id, key: timestampKey }],
    }),
    [rootKey]
  );
  const tg = sign(targetsSigned({ targets }), [targetsKey]);
  const res = await post(t, gun, { root, targets: tg });
  if (res.status !== 200) throw new Error(`publish failed: ${res.status} ${res.text}`);
  return { gun, rootKey, targetsKey, snapshotKey, timestampKey, rootVersion: 1, targetsVersion: 1 };
}

/** Publishes a new targets version with these targets. */
export async function publishTargets(
  t: TestApp,
  repo: PublishedRepo,
  targets: readonly TargetSpec[]
) {
  repo.targetsVersion++;
  return post(t, repo.gun, {
    targets: sign(targetsSigned({ targets, version: repo.targetsVersion }), [repo.targetsKey]),
  });
}
