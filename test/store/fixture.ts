/**
 * The store in process (src/app.ts with a store configured) for supertest, with a ManualClock,
 * accounts as `countersign user add` makes them, and staging repositories a producer would push:
 * built with test keys (x509 root with CN = GUN, targets, snapshot, timestamp, and a
 * `targets/releases` delegation key) and written straight into the staging GUN's storage, so a
 * test can make them expire, sign them with the wrong key or roll them back at will.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { validatingRequest } from '../helpers/openapi-check.js';
import { createApp, type App, type AppOptions } from '../../src/app.js';
import { hashPassword } from '../../src/auth/passwords.js';
import type { AccountRole } from '../../src/auth/principal.js';
import { loadConfig } from '../../src/config/load.js';
import { sha256Hex } from '../../src/crypto/hash.js';
import type { NewMeta, Storage } from '../../src/storage/types.js';
import type { SubmissionView } from '../../src/store/submission.js';
import { ManualClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import {
  expiresIn,
  plainKey,
  rootSigned,
  sign,
  snapshotSignedFor,
  targetsSigned,
  timestampSignedFor,
  x509Key,
  type TargetSpec,
  type TestKey,
} from '../helpers/tuf-builder.js';

export const ZONES = [{ staging: 'staging.store.test/', public: 'store.test/' }];
export const PASSWORD = 'store test password';

export interface StoreApp {
  readonly app: App;
  readonly clock: ManualClock;
  readonly http: ReturnType<typeof request>;
  readonly dir: string;
  readonly dataDir: string;
  /** `Authorization` header value for an account made by `accounts()`. */
  auth(name: string): string;
  close(): Promise<void>;
}

/** The accounts every store test uses. */
export const ACCOUNTS: readonly { name: string; role: AccountRole; namespaces?: string[] }[] = [
  { name: 'acme', role: 'publisher', namespaces: ['staging.store.test/acme/'] },
  { name: 'other', role: 'publisher', namespaces: ['staging.store.test/other/'] },
  { name: 'rev1', role: 'reviewer' },
  { name: 'rev2', role: 'reviewer' },
  { name: 'admin', role: 'admin' },
];

let hashed: string | undefined;

export async function startStore(
  store: Record<string, unknown> = {},
  opts: {
    clock?: ManualClock;
    /** More of the `countersign` section. */
    extra?: Record<string, unknown>;
    /** Top-level configuration (notary-server's sections: `storage`, …). */
    top?: Record<string, unknown>;
    appOptions?: Partial<AppOptions>;
    /** An existing directory (a restart on the same data); the caller removes it. */
    dir?: string;
  } = {}
): Promise<StoreApp> {
  const clock = opts.clock ?? new ManualClock();
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'countersign-store-'));
  const dataDir = join(dir, 'data');
  const configFile = join(dir, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      ...opts.top,
      countersign: { store: { zones: ZONES, ...store }, ...opts.extra },
    })
  );
  const config = loadConfig(
    { config: configFile, dataDir, plainHttp: true },
    { COUNTERSIGN_KEY_PASSPHRASE: 'store test passphrase' }
  );
  const app = await createApp(config, { clock, log: silentLogger, ...opts.appOptions });
  hashed ??= await hashPassword(PASSWORD);
  for (const a of ACCOUNTS) {
    // upsert: a second instance on the same database finds them there.
    await app.storage.accounts.upsert({
      name: a.name,
      role: a.role,
      namespaces: a.namespaces ?? [],
      passwordHash: hashed,
      createdAt: clock.now(),
      updatedAt: clock.now(),
    });
  }
  return {
    app,
    clock,
    // Every answer is checked against the OpenAPI description (src/http/openapi/).
    http: validatingRequest(app.handle),
    dir,
    dataDir,
    auth: (name) => `Basic ${Buffer.from(`${name}:${PASSWORD}`).toString('base64')}`,
    async close() {
      await app.close();
      if (opts.dir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A target of `size` random-looking bytes (its digest and length are what gets signed). */
export function image(name: string, seed: string, size = 1234): TargetSpec & { bytes: Buffer } {
  const bytes = Buffer.alloc(size, seed);
  return { name, bytes };
}

export interface PushOptions {
  /** Tags in `targets/releases` (docker's role). */
  readonly releases?: readonly TargetSpec[];
  /** Tags in top-level `targets`. */
  readonly targets?: readonly TargetSpec[];
  /** Sign targets with this key instead of the one the root lists. */
  readonly targetsSigner?: TestKey;
  /** Expiry (RFC 3339) of the files of this push. */
  readonly expires?: Partial<Record<'targets' | 'releases' | 'snapshot' | 'timestamp', string>>;
}

/** A producer's staging repository, pushed straight into storage. */
export class StagingRepo {
  readonly versions = { root: 0, targets: 0, releases: 0, snapshot: 0, timestamp: 0 };

  private constructor(
    readonly storage: Storage,
    readonly gun: string,
    readonly rootKey: TestKey,
    readonly targetsKey: TestKey,
    readonly snapshotKey: TestKey,
    readonly timestampKey: TestKey,
    readonly releasesKey: TestKey
  ) {}

  static async create(storage: Storage, gun: string): Promise<StagingRepo> {
    return new StagingRepo(
      storage,
      gun,
      await x509Key(gun),
      plainKey(),
      plainKey(),
      plainKey(),
      plainKey()
    );
  }

  /** Every key ID of this repository (the store's public keys must share none). */
  keyIds(): string[] {
    return [
      this.rootKey,
      this.targetsKey,
      this.snapshotKey,
      this.timestampKey,
      this.releasesKey,
    ].map((k) => k.publicKey.id);
  }

  /** Writes the next version of targets, targets/releases, snapshot and timestamp (and root v1 on the first push). */
  async push(o: PushOptions = {}, at = new Date()): Promise<void> {
    const files = new Map<string, Buffer>();
    const writes: NewMeta[] = [];
    const write = (role: string, version: number, data: Buffer) => {
      writes.push({ role, version, data, sha256: sha256Hex(data) });
      files.set(role, data);
    };
    const current = async (role: string) =>
      (await this.storage.meta.getLatest(this.gun, role))?.data;
    if (this.versions.root === 0) {
      this.versions.root = 1;
      write(
        'root',
        1,
        sign(
          rootSigned({
            root: [this.rootKey],
            targets: [this.targetsKey],
            snapshot: [this.snapshotKey],
            timestamp: [this.timestampKey],
          }),
          [this.rootKey]
        )
      );
    } else files.set('root', (await current('root'))!);
    const targets = targetsSigned({
      targets: o.targets ?? [],
      delegations: {
        keys: [this.releasesKey],
        roles: [{ name: 'targets/releases', keyids: [this.releasesKey.publicKey.id], paths: [''] }],
      },
      version: ++this.versions.targets,
      expires: o.expires?.targets ?? expiresIn(1095),
    });
    write('targets', this.versions.targets, sign(targets, [o.targetsSigner ?? this.targetsKey]));
    const releases = targetsSigned({
      targets: o.releases ?? [],
      version: ++this.versions.releases,
      expires: o.expires?.releases ?? expiresIn(1095),
    });
    write('targets/releases', this.versions.releases, sign(releases, [this.releasesKey]));
    const snapshot = sign(
      snapshotSignedFor(
        new Map([...files].filter(([r]) => r !== 'snapshot' && r !== 'timestamp')),
        ++this.versions.snapshot,
        o.expires?.snapshot ?? expiresIn(1095)
      ),
      [this.snapshotKey]
    );
    write('snapshot', this.versions.snapshot, snapshot);
    write(
      'timestamp',
      ++this.versions.timestamp,
      sign(
        timestampSignedFor(
          snapshot,
          this.versions.timestamp,
          o.expires?.timestamp ?? expiresIn(14)
        ),
        [this.timestampKey]
      )
    );
    await this.storage.transaction((tx) => tx.meta.updateMany(this.gun, writes, at), {
      lockGun: this.gun,
    });
  }

  /** Deletes the GUN's metadata and starts again from version 1 with the same keys (a rollback). */
  async resetVersions(): Promise<void> {
    await this.storage.transaction((tx) => tx.meta.deleteGun(this.gun, new Date()), {
      lockGun: this.gun,
    });
    for (const k of Object.keys(this.versions) as (keyof StagingRepo['versions'])[])
      this.versions[k] = 0;
  }
}

/**
 * staging.store.test/acme/NAME pushed with one release, 1.0 (bytes of SEED), and submitted as
 * acme; the submission the 201 answer holds.
 */
export async function pushAndSubmit(
  s: StoreApp,
  name: string,
  seed: string
): Promise<SubmissionView> {
  const gun = `staging.store.test/acme/${name}`;
  const repo = await StagingRepo.create(s.app.storage, gun);
  await repo.push({ releases: [image('1.0', seed)] });
  return (
    await s.http
      .post('/api/v1/submissions')
      .set('Authorization', s.auth('acme'))
      .send({ gun, tag: '1.0' })
      .expect(201)
  ).body as SubmissionView;
}

/** The public GUN's latest timestamp row (null before the first publish): "untouched" compares it. */
export async function publicTimestamp(storage: Storage, gun: string): Promise<string | null> {
  return (await storage.meta.getLatest(gun, 'timestamp'))?.sha256 ?? null;
}
