/**
 * The world the store's end-to-end tests share: `countersign serve` run as operators run it (TLS,
 * accounts made with `countersign user add`, a config file with one staging → public zone),
 * optionally a docker-registry 2.8 holding the staging (and public) images, and the clients that
 * talk to it — the `countersign` command with `--server --ca --user` and COUNTERSIGN_PASSWORD,
 * HTTPS calls trusting the server's CA, notary CLIs with NOTARY_AUTH or pinned to the store CA.
 *
 * Each test used to build this by hand; here it is built once, so that a test file holds only
 * what it checks. Everything made is undone by the test's own `Cleanup`. The shared steps
 * (`delegateReleases`, `signIntoStaging`, `signImageIntoStaging`, `submit`, `submitAndApprove`)
 * assert what every caller relied on (the command succeeded, the submission verified, the
 * approval published).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import {
  addAccounts,
  countersignCli,
  httpsCall,
  startCountersign,
  type StartedCountersign,
  type TestAccount,
} from './countersign.js';
import { ImageLayout, type ImageSpec } from './images.js';
import { NotaryClient } from './notary-cli.js';
import type { RunResult } from './proc.js';
import { startRegistry, type TestRegistry } from './registry.js';
import {
  delegateReleases,
  signImageIntoStaging,
  type SignedStagingImage,
} from './store-producer.js';
import type { SigningCertFiles } from './tls.js';
import type { SubmissionView } from '../../src/store/submission.js';

export interface StoreZone {
  readonly staging: string;
  readonly public: string;
}

/** The zone every store test uses unless it names its own. */
export const STORE_ZONES: readonly [StoreZone] = [
  { staging: 'staging.store.test/', public: 'store.test/' },
];

/** The accounts every store test uses: a publisher owning `acme/`, a reviewer, an admin. */
export const STORE_USERS = {
  acme: {
    role: 'publisher',
    namespace: 'staging.store.test/acme/',
    password: 'acme publisher password',
  },
  rev1: { role: 'reviewer', password: 'reviewer one password' },
  admin: { role: 'admin', password: 'store admin password' },
} as const satisfies Record<string, TestAccount>;

/** An account of STORE_USERS. */
export type StoreUser = keyof typeof STORE_USERS;

type Accounts = Readonly<Record<string, TestAccount>>;

export interface StoreFixtureOptions<Extra extends Accounts> {
  /** Prefix of the fixture's temporary directory (it holds `data/` and `work/`). */
  readonly name: string;
  /** Accounts beside STORE_USERS (a name used there replaces its entry). */
  readonly users?: Extra;
  /** The first zone's public prefix is what `pinnedNotary` pins. */
  readonly zones?: readonly [StoreZone, ...StoreZone[]];
  /** More of the `countersign.store` section (policy, approvals, rootLifetime, …). */
  readonly store?: Record<string, unknown>;
  /** More of the `countersign` section (scheduler, webhooks, expiry, …). */
  readonly countersign?: Record<string, unknown>;
  /**
   * The top-level `storage` section (`{ backend: 'postgres', db_url }` to run on PostgreSQL; the
   * config then needs a key passphrase in `countersign.keys`). The accounts are made in it.
   */
  readonly storage?: Record<string, unknown>;
  /**
   * Start a docker-registry and an image layout: `staging` configures it as the staging registry
   * (`staging/` prefix), `staging-and-public` as the public one too (`public/` prefix).
   */
  readonly registry?: 'staging' | 'staging-and-public';
}

export interface HttpsOptions<U extends string> {
  readonly method?: string;
  /** Basic credentials of this account; anonymous without. */
  readonly user?: U;
  /** Bytes as given; anything else is sent as JSON. */
  readonly body?: unknown;
}

/** A started fixture; Extra names the accounts the test added to STORE_USERS. */
export class StoreFixture<Extra extends string = never> {
  private current: StartedCountersign | undefined;
  private readonly notaries = new Map<StoreUser | Extra, NotaryClient>();

  constructor(
    private readonly cleanup: Cleanup,
    readonly dataDir: string,
    /** A scratch directory for files the test writes (payloads, PEMs, keys). */
    readonly work: string,
    readonly users: Readonly<Record<StoreUser | Extra, TestAccount>>,
    /** The whole configuration file the server runs with. */
    readonly config: Record<string, unknown>,
    readonly publicZone: string,
    private readonly images?: { registry: TestRegistry; layout: ImageLayout }
  ) {}

  get server(): StartedCountersign {
    if (!this.current) throw new Error('the store fixture’s server is not running');
    return this.current;
  }
  get url(): string {
    return this.server.sut.url;
  }
  /** The CA of the server's TLS certificate (not the store CA). */
  get caFile(): string {
    return this.server.sut.caFile!;
  }
  get registry(): TestRegistry {
    if (!this.images) throw new Error('the store fixture was started without a registry');
    return this.images.registry;
  }
  get layout(): ImageLayout {
    if (!this.images) throw new Error('the store fixture was started without a registry');
    return this.images.layout;
  }

  /** Starts the server on the fixture's data dir and config (at start, and after `stop`). */
  async start(): Promise<void> {
    assert.equal(this.current, undefined, 'the server is already running');
    this.current = await startCountersign({ dataDir: this.dataDir, config: this.config });
  }

  /** Stops the server (SIGTERM, or SIGKILL as a crash would with `kill`); data stays. */
  async stop(o: { kill?: boolean } = {}): Promise<void> {
    const server = this.current;
    this.current = undefined;
    // Clients hold the old URL (the new server listens on another port).
    this.notaries.clear();
    if (!server) return;
    if (o.kill) await server.service.kill();
    await server.stop();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /**
   * `countersign ARGS --server … --ca … --user USER` with USER's password in the environment;
   * the connection flags go before a `--` in ARGS (what follows it is positional).
   */
  store(user: StoreUser | Extra, args: readonly string[]): Promise<RunResult> {
    const flags = ['--server', this.url, '--ca', this.caFile, '--user', user];
    const at = args.indexOf('--');
    const line = at < 0 ? [...args, ...flags] : [...args.slice(0, at), ...flags, ...args.slice(at)];
    return countersignCli(line, { COUNTERSIGN_PASSWORD: this.users[user].password });
  }

  /**
   * An HTTPS request to PATH (`/api/v1/…`, `/v2/…`) trusting the server's CA. While the server
   * is stopped it rejects (as a refused connection does), never throws.
   */
  async https(
    path: string,
    o: HttpsOptions<StoreUser | Extra> = {}
  ): Promise<{ status: number; body: Buffer }> {
    const body =
      o.body === undefined || Buffer.isBuffer(o.body)
        ? o.body
        : Buffer.from(JSON.stringify(o.body));
    return httpsCall(`${this.url}${path}`, this.caFile, {
      ...(o.method ? { method: o.method } : {}),
      ...(body ? { body } : {}),
      ...(o.user ? { basic: { user: o.user, password: this.users[o.user].password } } : {}),
    });
  }

  /** GET PATH, asserting 200; the body parsed as JSON. */
  async okJson<T>(path: string, user?: StoreUser | Extra): Promise<T> {
    const r = await this.https(path, user ? { user } : {});
    assert.equal(r.status, 200, `${path}: ${r.body.toString()}`);
    return JSON.parse(r.body.toString()) as T;
  }

  /** The store CA bundle as GET /api/v1/store/ca.pem serves it (asserting 200). */
  async caPem(): Promise<string> {
    const r = await this.https('/api/v1/store/ca.pem');
    assert.equal(r.status, 200);
    return r.body.toString();
  }

  /** Downloads the store CA into WORK/NAME, as a consumer saves it to pin it; the file's path. */
  async saveCaPem(name = 'store-ca.pem'): Promise<string> {
    const file = join(this.work, name);
    writeFileSync(file, await this.caPem());
    return file;
  }

  /** USER's notary CLI (NOTARY_AUTH), one per account, made on first use. */
  async notary(user: StoreUser | Extra): Promise<NotaryClient> {
    let client = this.notaries.get(user);
    if (!client) {
      client = this.cleanup.add(
        await NotaryClient.create({
          server: this.server.sut,
          auth: { username: user, password: this.users[user].password },
        })
      );
      this.notaries.set(user, client);
    }
    return client;
  }

  /** A fresh anonymous notary CLI pinning the public zone to CAFILE (trust_pinning.ca). */
  async pinnedNotary(caFile: string): Promise<NotaryClient> {
    return this.cleanup.add(
      await NotaryClient.create({
        server: this.server.sut,
        trustPinning: { ca: { [this.publicZone]: caFile } },
      })
    );
  }

  /** `countersign verify GUN:TAG` pinned to PINCA (no account). */
  verifyPinned(ref: string, pinCa: string): Promise<RunResult> {
    const flags = ['--server', this.url, '--ca', this.caFile, '--pin-ca', pinCa];
    return countersignCli(['verify', ...flags, ref]);
  }

  /** `delegateReleases` of store-producer.ts with USER's notary CLI. */
  async delegateReleases(gun: string, user: StoreUser | Extra = 'acme'): Promise<SigningCertFiles> {
    return delegateReleases(await this.notary(user), this.work, gun);
  }

  /** `signImageIntoStaging` of store-producer.ts into this fixture's registry, with USER's notary CLI. */
  async signImageIntoStaging(
    o: { gun: string; repoTag: string; tag: string; spec: ImageSpec },
    user: StoreUser | Extra = 'acme'
  ): Promise<SignedStagingImage> {
    return signImageIntoStaging({
      ...o,
      notary: await this.notary(user),
      layout: this.layout,
      registryHost: this.registry.host,
      work: this.work,
    });
  }

  /** `delegateReleases`, then CONTENT (written to WORK/FILE) signed as TAG into targets/releases. */
  async signIntoStaging(
    gun: string,
    tag: string,
    content: Buffer,
    o: { user?: StoreUser | Extra; file?: string } = {}
  ): Promise<SigningCertFiles> {
    const releases = await this.delegateReleases(gun, o.user);
    const file = join(this.work, o.file ?? `${tag}.bin`);
    writeFileSync(file, content);
    const notary = await this.notary(o.user ?? 'acme');
    await notary.add(gun, tag, file, { roles: ['targets/releases'], publish: true });
    return releases;
  }

  /** `countersign submit GUN:TAG --json` as USER; asserts it succeeded. */
  async submit(ref: string, user: StoreUser | Extra = 'acme'): Promise<SubmissionView> {
    const r = await this.store(user, ['submit', ref, '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    return JSON.parse(r.stdout) as SubmissionView;
  }

  /** Submits REF as acme (it verifies), approves it as REVIEWER (it publishes); the id. */
  async submitAndApprove(ref: string, reviewer: StoreUser | Extra = 'rev1'): Promise<string> {
    const { id, state } = await this.submit(ref);
    assert.equal(state, 'verified');
    const approved = await this.store(reviewer, ['approve', id]);
    assert.equal(approved.code, 0, approved.stderr + approved.stdout);
    assert.match(approved.stdout, /published$/m);
    return id;
  }
}

/** Builds the world (registry first when asked, then accounts, then the server) and starts it. */
export async function startStoreFixture<Extra extends Accounts = Record<never, TestAccount>>(
  cleanup: Cleanup,
  o: StoreFixtureOptions<Extra>
): Promise<StoreFixture<NoInfer<keyof Extra & string>>> {
  const base = cleanup.tempDir(`${o.name}-`);
  const dataDir = join(base, 'data');
  const work = join(base, 'work');
  mkdirSync(work, { recursive: true });
  const images = o.registry ? await startImages(cleanup) : undefined;
  const users = { ...STORE_USERS, ...o.users } as Record<
    StoreUser | (keyof Extra & string),
    TestAccount
  >;
  const zones = o.zones ?? STORE_ZONES;
  const config = {
    ...(o.storage ? { storage: o.storage } : {}),
    countersign: {
      store: {
        zones,
        ...(images && o.registry ? { registries: registries(images.registry, o.registry) } : {}),
        ...o.store,
      },
      ...o.countersign,
    },
  };
  // Accounts live in the server's database: with a storage section, `user add` must read it.
  const accountsConfig = o.storage ? join(base, 'accounts-config.json') : undefined;
  if (accountsConfig) writeFileSync(accountsConfig, JSON.stringify(config));
  await addAccounts(dataDir, users, accountsConfig);
  const fixture = new StoreFixture(cleanup, dataDir, work, users, config, zones[0].public, images);
  cleanup.defer(() => fixture.stop());
  await fixture.start();
  return fixture;
}

async function startImages(
  cleanup: Cleanup
): Promise<{ registry: TestRegistry; layout: ImageLayout }> {
  const registry = cleanup.add(await startRegistry());
  const layout = await ImageLayout.create();
  cleanup.defer(() => layout.remove());
  return { registry, layout };
}

function registries(
  registry: TestRegistry,
  which: 'staging' | 'staging-and-public'
): Record<string, unknown> {
  const staging = { url: registry.url, repositoryPrefix: 'staging/' };
  if (which === 'staging') return { staging };
  return { staging, public: { url: registry.url, repositoryPrefix: 'public/' } };
}
