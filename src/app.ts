/**
 * The composition root: configuration → storage → key ring and signer → services → one request
 * handler. Nothing else constructs these; route modules receive what they need.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from './config/types.js';
import type { Storage } from './storage/types.js';
import { openStorage } from './storage/index.js';
import { Keyring } from './signer/keyring.js';
import { LocalSigner } from './signer/local.js';
import type { Signer } from './signer/types.js';
import type { Clock } from './util/clock.js';
import type { Logger } from './util/log.js';
import { expiryPolicy, type ExpiryPolicy } from './notary/expiry.js';
import { NotaryApi } from './http/notary-api.js';
import { ValidationWorker } from './notary/validate-worker.js';
import { createNotaryCaches, type NotaryCaches } from './notary/caches.js';
import { createMetrics, type RequestMetrics } from './metrics/metrics.js';
import type { AccessControl } from './auth/access.js';
import { setupAuth, type AuthRuntime } from './auth/setup.js';
import { createStoreApi, type StoreApiOptions } from './http/store-api.js';
import { tokenRoute } from './http/token-route.js';
import { createWebApp, isWebPath, type WebApp } from './http/web.js';
import { clientAddressResolver } from './http/client-address.js';
import { readiness } from './http/health.js';
import { packageVersion } from './util/package-info.js';
import { IpRanges } from './util/ip-ranges.js';
import { statusRoutes } from './http/status-routes.js';
import { createFreshness, type Freshness } from './freshness/freshness.js';
import { storeRoutes } from './http/store-routes.js';
import { StoreService } from './store/service.js';
import type { StoreHooks } from './store/hooks.js';
import { reviewHooks, type ReviewHooks } from './store/registry/hooks.js';
import { startHealthcheckRuns, type HealthcheckRunHooks } from './store/healthcheck-run.js';
import { READER_ACTOR, SCHEDULER_ACTOR } from './store/audit.js';
import { auditResign, StoreResigner } from './store/resigners.js';
import { createUi } from './ui/routes.js';
import { UiSessions } from './ui/sessions.js';
import { uiSettings } from './ui/settings.js';
import { ImageInspector } from './ui/image.js';
import { JobRunner } from './jobs/runner.js';
import { WebhookDispatcher } from './webhooks/dispatcher.js';
import { expiringRoles } from './freshness/status.js';
import { jobRoutes } from './http/job-routes.js';
import { webhookRoutes } from './http/webhook-routes.js';

export interface App {
  readonly config: Config;
  readonly storage: Storage;
  readonly signer: Signer;
  readonly notary: NotaryApi;
  readonly metrics: RequestMetrics;
  readonly expiry: ExpiryPolicy;
  /**
   * This app's parsed files, checked roots and imported keys (src/notary/caches.ts): bounded, and
   * shared with no other app in the process.
   */
  readonly caches: NotaryCaches;
  /** Zones, policy, token mode and the pieces the store API guards its routes with. */
  readonly auth: AuthRuntime;
  /**
   * Proactive re-signing (docs/freshness.md): `serve` calls `freshness.start()`; tests call
   * `freshness.scheduler.tick(now)`. The store registers its re-signers with
   * `freshness.scheduler.addResigner` and its audit hook with `freshness.scheduler.onResign`.
   */
  readonly freshness: Freshness;
  /** The certification chain; present when store zones are configured. */
  readonly store?: StoreService;
  /** Long store work run as jobs (`Prefer: respond-async`); present with the store. */
  readonly jobs?: JobRunner;
  /** The webhook queue's worker (docs/webhooks.md); ticks in the background, `tick()` for tests. */
  readonly webhooks: WebhookDispatcher;
  /** Tell the app where the server really listens (the built-in realm is built from it). */
  listening(url: string): void;
  /** The express side of `handle` (/auth, /api/v1); tests list its routes. */
  readonly web: WebApp;
  /** The request handler for http(s).createServer (and supertest). */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** Warnings to print at start (generated key file, …). */
  readonly warnings: readonly string[];
  close(): Promise<void>;
}

export interface AppOptions {
  readonly clock: Clock;
  readonly log: Logger;
  /** Overrides for tests (auth, …). */
  readonly access?: AccessControl;
  /** The store's routes under /api/v1 (src/http/store-api.ts). */
  readonly storeRoutes?: StoreApiOptions['routes'];
  /** Checks and steps other modules add to the certification chain (registry, review policy). */
  readonly storeHooks?: StoreHooks;
}

export async function createApp(config: Config, opts: AppOptions): Promise<App> {
  // A single server process is the only writer of metadata: its own commits change the storage
  // generation at once, and other processes (operator tools) are noticed within a second. With
  // --workers every read must ask SQLite.
  const storage = await openStorage(
    config.storage.backend === 'sqlite' && config.workers <= 1
      ? { ...config.storage, foreignWritePollMs: 1000 }
      : config.storage
  );
  try {
    const { keyring, warning } = await Keyring.open({
      storage,
      passphrase: config.keys.passphrase,
      keyFile: config.keys.keyFile,
      dataDir: config.dataDir,
      clock: opts.clock,
      requireSecret: config.storage.backend === 'postgres',
    });
    const signer = new LocalSigner({
      keys: storage.keys,
      sealer: keyring,
      clock: opts.clock,
      defaultAlgorithm: config.keyAlgorithm,
    });
    const expiry = expiryPolicy({
      base: {
        timestamp: config.expiry.timestamp,
        snapshot: config.expiry.snapshot,
        targets: config.expiry.targets,
      },
      resignBefore: config.expiry.resignBefore,
      gunPrefixes: config.expiry.gunPrefixes,
    });
    const metrics = createMetrics({ version: packageVersion(), node: process.version });
    const clientAddress = clientAddressResolver(
      new IpRanges(config.trustProxy, 'countersign.auth.trustProxy')
    );
    const auth = await setupAuth(config, { storage, signer, clock: opts.clock, log: opts.log });
    const validation = new ValidationWorker(config.limits.parseInWorkerBytes);
    const caches = createNotaryCaches();
    const notary = new NotaryApi({
      ...(config.limits.parseInWorkerBytes > 0 ? { preparer: validation } : {}),
      storage,
      signer,
      clock: opts.clock,
      expiry,
      caches,
      log: opts.log,
      metrics,
      access: opts.access ?? auth.access,
      caching: config.caching,
      uploadLimits: {
        maxBodyBytes: config.limits.maxBodyBytes,
        maxPartBytes: config.limits.maxPartBytes,
        maxParts: config.limits.maxParts,
        pace: {
          graceMs: config.limits.bodyGraceMs,
          minBytesPerSecond: config.limits.minBodyBytesPerSecond,
        },
      },
      uploadBudget: {
        maxBytes: config.limits.maxUploadBytesInFlight,
        maxWaitMs: config.limits.uploadWaitMs,
      },
      updateLimits: {
        maxTargets: config.limits.maxTargets,
        maxDelegations: config.limits.maxDelegations,
      },
      gunPrefixes: config.gunPrefixes,
      requestLog: config.requestLog,
      clientAddress,
      readiness: () =>
        readiness({
          storage,
          keysUnsealed: () => keyring.opensCheck(storage.settings),
          onError: (err) => opts.log.warn({ err: String(err) }, 'readiness: key check failed'),
        }),
      // Every re-sign is in the audit log, recorded in the re-sign's own transaction.
      onResigned: auditResign(READER_ACTOR, 'read'),
    });
    const freshness = createFreshness(
      // The store's roots are re-signed too: the scheduler wakes often enough for their lifetime.
      auth.zones.configured ? { ...config, rootLifetimeMs: config.store.rootLifetimeMs } : config,
      {
        storage,
        signer,
        expiry,
        caches,
        clock: opts.clock,
        log: opts.log,
        registry: metrics.registry,
        exposeGun: (gun) => auth.metricsMayName(gun),
        onServerResigned: auditResign(SCHEDULER_ACTOR, 'server-snapshot-timestamp'),
      }
    );
    // A re-sign by the scheduler must not leave this instance serving the replaced timestamp
    // from memory until the generation check notices.
    freshness.scheduler.onResign((e) => notary.cache.invalidate(e.gun));
    const status = statusRoutes({
      index: freshness.index,
      clock: opts.clock,
      warnWithinMs: freshness.settings.warnWithinMs,
      authMode: auth.mode,
    });
    let store: StoreService | undefined;
    let jobs: JobRunner | undefined;
    let review: ReviewHooks | undefined;
    let healthcheckRuns: HealthcheckRunHooks | undefined;
    let uiImages: ImageInspector | undefined;
    if (auth.zones.configured) {
      // The registries and review policy of the configuration, then any a caller adds.
      review = reviewHooks({ review: config.review, log: opts.log });
      // Before the hooks: a healthcheck run is a job of the submission it checks.
      jobs = new JobRunner({
        storage,
        clock: opts.clock,
        log: opts.log,
        settings: config.jobs,
        // A submission's jobs are read by its readers. `store` is set below, before any request
        // can ask.
        submissionReadable: (p, id) => (store ? store.mayRead(p, id) : Promise.resolve(false)),
      });
      await jobs.start();
      healthcheckRuns = await startHealthcheckRuns(config.review, {
        jobs,
        storage,
        clock: opts.clock,
        log: opts.log,
        dataDir: config.dataDir,
        reconcileEveryMs: config.jobs.staleAfterMs / 2,
      });
      store = new StoreService({
        storage,
        signer,
        clock: opts.clock,
        policy: auth.policy,
        settings: config.store,
        expiry,
        caches,
        log: opts.log,
        hooks: mergeHooks(mergeHooks(review, healthcheckRuns), opts.storeHooks),
        reviewPolicy: config.review.policy,
        onPublicChange: (gun) => notary.cache.invalidate(gun),
      });
      await store.start();
      uiImages = new ImageInspector(config.review.staging);
      const resigner = new StoreResigner({
        storage,
        signer,
        ca: store.ca,
        expiry,
        settings: config.store,
        isPublic: (gun) => auth.zones.isPublic(gun),
        parsed: caches.parsed,
        log: opts.log.child({ component: 'store' }),
      });
      freshness.scheduler.addResigner(resigner);
      resigner.checkCa(await store.ca.get(), opts.clock.now());
    }
    const webhooks = new WebhookDispatcher({
      storage,
      settings: config.webhooks,
      clock: opts.clock,
      log: opts.log.child({ component: 'webhooks' }),
      // metadata.expiring: in the warning window, and nobody here re-signs it.
      expiring: async (now) => {
        await freshness.index.sync(now);
        const warn = freshness.settings.warnWithinMs;
        return expiringRoles(freshness.index.all(), now, warn, warn).filter(
          (r) => r.resignAt === undefined
        );
      },
    });
    webhooks.start();
    const routes: StoreApiOptions['routes'] = (router, context) => {
      status(router, context);
      if (store) storeRoutes(store, jobs)(router, context);
      if (jobs && store) jobRoutes(jobs, store)(router, context);
      if (store) webhookRoutes(storage)(router, context);
      opts.storeRoutes?.(router, context);
    };
    const ts = auth.tokenService;
    const web = createWebApp({
      ...(ts !== undefined
        ? {
            tokenRoute: tokenRoute({
              issuer: ts.issuer,
              service: () => ts.endpoint.service(),
              policy: auth.policy,
              login: auth.login,
              accounts: storage.accounts,
              refreshTokens: ts.refreshTokens,
              log: opts.log,
              clientAddress,
            }),
          }
        : {}),
      ...(store && jobs
        ? {
            ui: createUi({
              store,
              jobs,
              storage,
              images: uiImages ?? new ImageInspector(undefined),
              sessions: new UiSessions({
                store: storage.refreshTokens,
                clock: opts.clock,
                ...uiSettings(config.countersign),
              }),
              login: auth.login,
              clientAddress,
              expiryIndex: freshness.index,
              parsed: caches.parsed,
              warnWithinMs: freshness.settings.warnWithinMs,
              clock: opts.clock,
              log: opts.log,
            }),
          }
        : {}),
      storeApi: createStoreApi({
        auth: {
          login: auth.login,
          accounts: storage.accounts,
          ...(auth.verifier ? { verifier: auth.verifier } : {}),
          clientAddress,
        },
        policy: auth.policy,
        log: opts.log,
        routes,
      }),
      log: opts.log,
      requestLog: config.requestLog,
      clientAddress,
    });
    const handle = (req: IncomingMessage, res: ServerResponse) =>
      isWebPath(req.url) ? void web(req, res) : notary.handle(req, res);
    return {
      config,
      storage,
      signer,
      notary,
      metrics,
      expiry,
      caches,
      auth,
      freshness,
      ...(store ? { store } : {}),
      ...(jobs ? { jobs } : {}),
      webhooks,
      listening: (url) => auth.setListeningUrl(url),
      web,
      handle,
      warnings: warning ? [warning] : [],
      async close() {
        await freshness.stop();
        await webhooks.stop();
        // The sandbox runs first: stopping them ends their jobs, which jobs.stop() then waits for.
        await healthcheckRuns?.close();
        await jobs?.stop();
        review?.close();
        uiImages?.close();
        await validation.close();
        await storage.close();
      },
    };
  } catch (err) {
    await storage.close();
    throw err;
  }
}

function mergeHooks(a: StoreHooks, b: StoreHooks | undefined): StoreHooks {
  return {
    verificationChecks: [...(a.verificationChecks ?? []), ...(b?.verificationChecks ?? [])],
    policyChecks: [...(a.policyChecks ?? []), ...(b?.policyChecks ?? [])],
    beforePublish: [...(a.beforePublish ?? []), ...(b?.beforePublish ?? [])],
  };
}
