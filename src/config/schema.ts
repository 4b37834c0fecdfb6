/**
 * The whole configuration file, key by key: notary-server 0.7's sections (read as notary-server
 * reads them; keys Countersign does not know are warned about) and the `countersign` section
 * (every key known; anything else stops the server). One sub-schema per section, so a new key is
 * one line here; src/config/load.ts turns the checked document into a Config, and docs/config.md's
 * key table is generated from this file (`node scripts/config-doc.mjs`).
 */
import { SEVERITIES } from '../policy/types.js';
import { PREPARE_MIN_BYTES } from '../notary/validate-worker.js';
import {
  boolean,
  duration,
  group,
  integer,
  listOf,
  mapOf,
  notarySection,
  number,
  scalar,
  string,
  strings,
  type ObjectNode,
} from './schema-kit.js';

const ONE_YEAR_SECONDS = 31_536_000;
const HUNDRED_MIB = 100 * 1024 * 1024;

// ---- notary-server's sections ----------------------------------------------------------------

const server = notarySection('The listener (notary-server `server`).', {
  http_addr: string('HOST:PORT to listen on; `--listen` wins.', { default: '127.0.0.1:4443' }),
  tls_cert_file: string('PEM certificate chain served for TLS (relative to the config file).', {
    defaultText: 'a self-signed CA and certificate generated in DATA/tls',
  }),
  tls_key_file: string('PEM private key of `tls_cert_file`.'),
  client_ca_file: string('PEM CA bundle: when set, clients must present a certificate it signs.'),
});

const trustService = notarySection(
  'Where the server keys live (notary-server `trust_service`). Only `local` is served: keys held by a notary-signer are not reachable, so `remote` is refused (import them, see docs/migrate.md).',
  {
    type: string('`local` (keys in the database, sealed). `remote` is refused.', {
      default: 'local',
    }),
    key_algorithm: string('Algorithm of server-made keys: `ecdsa` or `ed25519`.', {
      default: 'ecdsa',
    }),
    hostname: string('notary-signer host (type `remote` only).'),
    port: scalar('notary-signer port (type `remote` only).'),
    tls_ca_file: string('notary-signer CA (type `remote` only).'),
    tls_client_cert: string('client certificate for notary-signer (type `remote` only).'),
    tls_client_key: string('client key for notary-signer (type `remote` only).'),
  }
);

const storage = notarySection('The database (notary-server `storage`).', {
  backend: string('`sqlite` (also `sqlite3`) or `postgres` (also `postgresql`).', {
    default: 'sqlite',
  }),
  db_url: string(
    'SQLite file (relative to the config file) or a postgres:// URL; `--db-url` wins.',
    {
      defaultText: 'DATA/countersign.db',
      secret: 'url-password',
    }
  ),
  pool_size: integer('PostgreSQL connections per instance (also `countersign.storage.poolSize`).', {
    min: 1,
    defaultText: '10',
  }),
});

const auth = notarySection(
  'An external registry token service, exactly as notary-server verifies its tokens (docs/auth.md).',
  {
    type: string('`token` enables it; anything else means no external auth.'),
    options: notarySection(
      'The token service.',
      {
        realm: string('URL clients fetch tokens from.'),
        service: string('`service` the tokens are issued for.'),
        issuer: string('`iss` the tokens must carry.'),
        rootcertbundle: string('PEM bundle of the token signing certificates or their CA.'),
        autoredirect: boolean('Use the request host as realm.', { default: false }),
      },
      { presence: true }
    ),
  },
  { presence: true }
);

const logging = notarySection('Logs (notary-server `logging`).', {
  level: string('`debug`, `info`, `warn`, `error` or `silent`; `--log-level`/`-debug` win.', {
    default: 'info',
  }),
  requests: boolean('One log line per request (Countersign only).', { default: true }),
});

const reporting = notarySection(
  'notary-server bug reporting; accepted and not used by Countersign.',
  {
    bugsnag: notarySection('Bugsnag.', {
      api_key: string('Bugsnag API key.', { secret: 'all' }),
      release_stage: string('Bugsnag release stage.'),
      endpoint: string('Bugsnag endpoint.'),
    }),
  },
  { presence: true }
);

const caching = notarySection('HTTP cache lifetimes (notary-server `caching`).', {
  max_age: notarySection('`Cache-Control: max-age` in seconds.', {
    current_metadata: integer('For current metadata (`timestamp.json`, …).', {
      min: 0,
      max: ONE_YEAR_SECONDS,
      default: 300,
    }),
    consistent_metadata: integer('For metadata addressed by checksum or version.', {
      min: 0,
      max: ONE_YEAR_SECONDS,
      default: 2_592_000,
    }),
  }),
});

const repositories = notarySection('Which GUNs are served (notary-server `repositories`).', {
  gun_prefixes: strings('Only GUNs under these prefixes (each ending in `/`) are accepted.', {
    defaultText: 'every GUN',
  }),
});

// ---- the countersign section -----------------------------------------------------------------

const keys = group('Server-held private keys, sealed at rest.', {
  passphrase: string('Seals the keys (scrypt + AES-256-GCM); `COUNTERSIGN_KEY_PASSPHRASE` wins.', {
    secret: 'all',
  }),
  keyFile: string('A 32-byte key file instead of a passphrase (mode 0600).', {
    defaultText: 'DATA/keyring.key, created when neither is given (SQLite only)',
  }),
});

const limits = group('Upload caps (413 `TOO_LARGE` / 400 `INVALID_UPDATE`).', {
  maxBodyBytes: integer('Whole upload.', { min: 1, default: HUNDRED_MIB }),
  maxPartBytes: integer('One multipart part.', { min: 1, default: HUNDRED_MIB }),
  maxParts: integer('Parts per upload.', { min: 1, default: 1000 }),
  maxTargets: integer('Targets per targets file.', { min: 1, default: 100_000 }),
  maxDelegations: integer('Delegations per targets file.', { min: 1, default: 1000 }),
  maxUploadBytesInFlight: integer(
    'Bytes of all uploads being received at once; later uploads wait, then get 503 `BUSY`.',
    { min: 1, default: 256 * 1024 * 1024 }
  ),
  uploadWaitMs: integer('How long an upload waits for room before 503 `BUSY` (ms).', {
    min: 1,
    default: 30_000,
  }),
  bodyGraceMs: integer('Time an upload body has before it must keep the minimum pace (ms).', {
    min: 1,
    default: 20_000,
  }),
  minBodyBytesPerSecond: integer(
    'Average pace an upload body must keep after the grace, or 408 `SLOW_BODY` (bytes a second).',
    { min: 1, default: 500 }
  ),
  parseInWorkerBytes: integer(
    'Uploaded parts at least this large are parsed in a worker thread, so reads keep flowing meanwhile (docs/performance.md); 0 parses every part on the event loop.',
    { min: 0, default: PREPARE_MIN_BYTES }
  ),
});

const lifetimes = {
  timestamp: duration('Lifetime of server-signed timestamps.', { default: '14d' }),
  snapshot: duration('Lifetime of server-signed snapshots.', { default: '1095d' }),
  targets: duration('Lifetime of store-signed public targets.', { default: '1095d' }),
};

const expiry = group('Metadata lifetimes and when they are re-signed (docs/freshness.md).', {
  ...lifetimes,
  resignBefore: number('Re-sign once less than this fraction of the lifetime is left (0–1).', {
    default: 0.5,
  }),
  gunPrefixes: mapOf(
    'Lifetimes for GUNs under a prefix (the longest matching prefix wins).',
    'a GUN prefix',
    group('Lifetimes under one prefix.', {
      timestamp: duration('Timestamp lifetime.'),
      snapshot: duration('Snapshot lifetime.'),
      targets: duration('Targets lifetime.'),
    })
  ),
});

const countersignStorage = group('PostgreSQL tuning (docs/postgres.md).', {
  poolSize: integer('PostgreSQL connections per instance (also `storage.pool_size`).', { min: 1 }),
  consistencyWindowMs: integer(
    'How long a write waits so every instance serves it (0 = off, else 20–10000).',
    { min: 0, max: 10_000, default: 100 }
  ),
});

const loginLimit = (failures: number) =>
  group('Failed password logins allowed per window.', {
    maxFailures: integer('Failures allowed in the window.', { min: 1, default: failures }),
    window: duration('The window.', { default: '15m' }),
  });

const countersignAuth = group('The built-in token service (docs/auth.md).', {
  builtin: boolean('Turn it on without a store (on by default with one).', {
    defaultText: 'true with a store',
  }),
  service: string('`service` of issued tokens.', {
    defaultText: "the public URL's host, else the listening HOST:PORT",
  }),
  issuer: string('`iss` of issued tokens.', { default: 'countersign' }),
  tokenLifetime: duration('Access token lifetime (1m–24h).', { default: '5m' }),
  refreshTokenLifetime: duration('Refresh token lifetime (at least 1m).', { default: '90d' }),
  loginLimits: group('Failed-login limits (docs/auth.md).', {
    perAccount: loginLimit(10),
    perAddress: loginLimit(30),
  }),
  minPasswordLength: integer('Shortest password `user add` accepts, in characters (8–1024).', {
    min: 8,
    max: 1024,
    default: 12,
  }),
  trustProxy: strings(
    'Addresses or CIDR ranges of reverse proxies whose `X-Forwarded-For` is believed (docs/auth.md).',
    { defaultText: 'none: the socket address is the client' }
  ),
});

const registryEndpoint = (which: string) =>
  group(
    `The ${which} registry.`,
    {
      url: string('`http://` or `https://` base URL, without credentials.'),
      repositoryPrefix: string('Prepended to the GUN path to name the registry repository.', {
        default: '',
      }),
      ca: string('PEM CA file for the registry (relative to the config file).'),
      username: string('Registry user.'),
      password: string('Registry password.', { secret: 'all' }),
    },
    { presence: true }
  );

const policy = group('The review policy (docs/store.md); a check left out is off.', {
  maxCompressedBytes: integer('Largest image, compressed.', { min: 0 }),
  requireHealthcheck: boolean('The image must declare a HEALTHCHECK.'),
  requireNonRootUser: boolean('The image must not run as root.'),
  requiredLabels: strings('Labels the image must carry.'),
  maxLayers: integer('Most layers.', { min: 0 }),
  vulnerabilityBudget: mapOf(
    'Most findings per severity in the submitted scanner report.',
    'a severity',
    integer('Most findings of this severity.', { min: 0 }),
    SEVERITIES
  ),
  runHealthcheck: group(
    'Run the image in a runc sandbox and require its HEALTHCHECK to pass (`healthcheck-run`, docs/store.md); `true` takes every default.',
    {
      timeout: duration('Hard wall-clock limit of one run, pull and unpack included.', {
        default: '120s',
      }),
      memoryMiB: integer('Memory limit of the container, MiB (swap none).', {
        min: 8,
        max: 65_536,
        default: 256,
      }),
      cpus: number('CPU limit, in CPUs (0.01–64).', { min: 0.01, max: 64, default: 0.5 }),
      pids: integer('Most processes and threads in the container.', {
        min: 4,
        max: 32_768,
        default: 64,
      }),
      diskMiB: integer('Size of each writable tmpfs (/tmp, /run), MiB; the root is read-only.', {
        min: 1,
        max: 4096,
        default: 16,
      }),
      maxImageMiB: integer(
        'Largest image unpacked, compressed MiB; a bigger one fails the check.',
        {
          min: 1,
          default: 1024,
        }
      ),
      probe: group("Overrides of the image's HEALTHCHECK timings (Docker's defaults otherwise).", {
        interval: duration('Between probes (Docker: 30s).'),
        timeout: duration('One probe (Docker: 30s).'),
        retries: integer('Consecutive failures that make it unhealthy (Docker: 3).', {
          min: 1,
          max: 100,
        }),
        startPeriod: duration('Failures in this first period do not count (Docker: 0s).'),
      }),
      concurrency: integer('Runs at once on this instance.', { min: 1, max: 16, default: 1 }),
      workDir: string(
        'Runc state and unpacked images: a directory of root with 0711 parents (relative to the config file).',
        { defaultText: '/var/tmp/countersign-sandbox-<hash of the data dir>' }
      ),
      uidBase: integer(
        'First host UID (and GID) of the 65536 the container user namespace maps to.',
        { min: 1, max: 4_294_901_759, default: 1_000_000_000 }
      ),
    },
    { presence: true, orBoolean: true }
  ),
});

const store = group('The certification chain (docs/store.md).', {
  zones: listOf(
    'Staging → public GUN prefix pairs; configuring one turns the store on.',
    group('One zone.', {
      staging: string('Staging GUN prefix, ending in `/`.'),
      public: string('Public GUN prefix, ending in `/`.'),
    })
  ),
  anonymousPull: boolean('Public metadata readable without a token.', {
    defaultText: 'true with a store',
  }),
  approvals: integer('Distinct reviewers whose approval publishes (1–100).', {
    min: 1,
    max: 100,
    default: 1,
  }),
  autoPublish: boolean('Publish as soon as the quorum is reached.', { default: true }),
  rootLifetime: duration('Lifetime of a public root and its certificate.', { default: '365d' }),
  caLifetime: duration('Lifetime of the store CA, fixed when it is made.', { default: '3650d' }),
  caCommonName: string('Common name of the store CA (at most 64 characters).', {
    default: 'Countersign store CA',
  }),
  registries: group('Where images live (verification, hygiene checks, promotion).', {
    staging: registryEndpoint('staging'),
    public: registryEndpoint('public'),
  }),
  policy,
});

const scheduler = group('The re-signing scheduler (docs/freshness.md).', {
  enabled: boolean('This instance runs the scheduler.', { default: true }),
  intervalMs: integer('Wake at least this often (ms).', {
    min: 10,
    defaultText: 'min(60000, shortest lifetime / 10)',
  }),
  warnWithin: duration('Warn about roles nobody re-signs from this long before expiry.', {
    default: '30d',
  }),
  maxGaugeRepositories: integer(
    'Above this many repositories the expiry gauge lists only expiring roles.',
    {
      min: 0,
      default: 10_000,
    }
  ),
});

const ui = group('The review web UI under /ui (docs/ui.md); on whenever a store is configured.', {
  idleTimeout: duration('A session ends after this long without a request (1m–24h).', {
    default: '30m',
  }),
  sessionLifetime: duration(
    'A session ends this long after login however active (idleTimeout–30d).',
    { default: '12h' }
  ),
});

const webhooks = listOf(
  "Receivers of the chain's events (docs/webhooks.md); each gets the events it lists, signed.",
  group('One receiver.', {
    url: string('`http://` or `https://` URL the events are POSTed to; each URL once.'),
    events: strings(
      'Event names: `submission.created`, `submission.verified`, `submission.verification_failed`, `review.recorded`, `submission.published`, `submission.rejected`, `target.revoked`, `metadata.expiring`.'
    ),
    secret: string('HMAC-SHA256 key of `X-Countersign-Signature` (at least 16 characters).', {
      secret: 'all',
    }),
  })
);

const webhookDelivery = group('The webhook queue (docs/webhooks.md "Retries").', {
  firstRetry: duration('Wait before the first retry; each later wait doubles.', {
    default: '10s',
  }),
  maxRetryDelay: duration('Longest wait between two attempts.', { default: '1h' }),
  maxAttempts: integer('Attempts before a delivery is `failed` (1–100).', {
    min: 1,
    max: 100,
    default: 12,
  }),
  timeout: duration('Per attempt, until the receiver has answered.', { default: '10s' }),
  maxQueued: integer('Pending deliveries at most; events wait in the audit log beyond it.', {
    min: 1,
    default: 10_000,
  }),
});

const jobs = group('Long work run as jobs (docs/store.md "Jobs").', {
  staleAfter: duration('A running job not heard from this long was interrupted: it fails.', {
    default: '60s',
  }),
});

export const COUNTERSIGN_SECTION = group('Countersign’s own settings.', {
  dataDir: string(
    'SQLite database, generated TLS material and key file (relative to the working directory); `--data-dir` wins.',
    {
      default: './data',
    }
  ),
  publicUrl: string('The URL clients use (behind a proxy); `--public-url` wins.'),
  workers: integer('Processes sharing the port and the database; `--workers` wins.', {
    min: 1,
    default: 1,
  }),
  keys,
  limits,
  expiry,
  storage: countersignStorage,
  auth: countersignAuth,
  store,
  scheduler,
  ui,
  webhooks,
  webhookDelivery,
  jobs,
});

/** The whole file. Unknown top-level keys are warned about, like unknown notary-server keys. */
export const CONFIG_SCHEMA: ObjectNode = notarySection('The configuration file.', {
  server,
  trust_service: trustService,
  storage,
  auth,
  logging,
  reporting,
  caching,
  repositories,
  countersign: COUNTERSIGN_SECTION,
});
