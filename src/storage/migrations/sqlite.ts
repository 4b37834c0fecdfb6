/**
 * The SQLite schema, as numbered migrations. They live in TypeScript rather than .sql files
 * because tsc does not copy .sql files into dist/. A migration, once released, never changes:
 * add a new one instead. src/storage/sqlite-file.ts applies the missing ones at open, in one
 * `BEGIN IMMEDIATE` transaction, and records each in `schema_migrations`.
 *
 * Times are ISO 8601 text (`Date.toISOString()`): exact for JS dates, sortable, and readable
 * with the sqlite3 shell.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** No 5: the review UI needed no table. Numbers need not be contiguous (applied by set). */
export const CHECKSUM_INDEX_IN_VERSION_ORDER: Migration = {
  version: 7,
  name: 'checksum lookups in version order',
  sql: `
      -- getByChecksum asks for (gun, role, sha256) ORDER BY version DESC LIMIT 1. With only
      -- (gun, role, sha256) indexed, SQLite preferred the UNIQUE (gun, role, version) index
      -- and walked a role's versions newest first, comparing each row's sha256: free for the
      -- current file, one row read per newer version for an old one (docs/performance.md).
      -- With version as the index's last column, the lookup is one index seek in either engine.
      CREATE INDEX tuf_files_checksum_version ON tuf_files (gun, role, sha256, version);
      DROP INDEX tuf_files_checksum;
    `,
};

/** The same statement in both engines. */
export const JOBS_BY_SUBMISSION: Migration = {
  version: 8,
  name: 'jobs by submission',
  sql: `
      -- The review UI lists a submission's jobs on every view of its page (ofSubmission: WHERE
      -- submission = ? ORDER BY created_at DESC, id DESC LIMIT ?). Jobs are kept, so without
      -- this index each view would read every job ever run and sort them; with it, one seek and
      -- the newest rows already in order (id too: jobs created in the same millisecond).
      CREATE INDEX jobs_submission ON jobs (submission, created_at, id);
    `,
};

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'tuf files, changefeed, server keys, settings',
    sql: `
      -- Every version of every role, byte for byte (docs/protocol.md §6). The UNIQUE constraint is
      -- the backstop of version monotonicity and its index serves (gun, role, version) lookups
      -- and MAX(version).
      CREATE TABLE tuf_files (
        id         INTEGER PRIMARY KEY,
        gun        TEXT    NOT NULL,
        role       TEXT    NOT NULL,
        version    INTEGER NOT NULL,
        sha256     TEXT    NOT NULL,
        data       BLOB    NOT NULL,
        created_at TEXT    NOT NULL,
        UNIQUE (gun, role, version)
      );
      CREATE INDEX tuf_files_checksum ON tuf_files (gun, role, sha256);

      -- AUTOINCREMENT: change ids are cursors handed to clients and must never be reused.
      CREATE TABLE changefeed (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TEXT    NOT NULL,
        gun        TEXT    NOT NULL,
        version    INTEGER NOT NULL,
        sha256     TEXT    NOT NULL,
        category   TEXT    NOT NULL CHECK (category IN ('update', 'deletion'))
      );
      CREATE INDEX changefeed_gun ON changefeed (gun, id);

      -- Server-held private keys, sealed by src/signer/keyring.ts. activated_at is
      -- notary-signer's last_used: NULL means pending.
      CREATE TABLE server_keys (
        key_id         TEXT PRIMARY KEY,
        gun            TEXT NOT NULL,
        role           TEXT NOT NULL,
        algorithm      TEXT NOT NULL CHECK (algorithm IN ('ecdsa', 'ed25519')),
        key_type       TEXT NOT NULL,
        public         TEXT NOT NULL,
        sealed_private BLOB NOT NULL,
        created_at     TEXT NOT NULL,
        activated_at   TEXT
      );
      CREATE INDEX server_keys_gun_role ON server_keys (gun, role);

      CREATE TABLE settings (
        name  TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'accounts and refresh tokens',
    sql: `
      -- Accounts of the built-in token service and the store API (docs/interfaces.md "Accounts").
      -- namespaces is a JSON array of GUN prefixes; password_hash an scrypt string.
      CREATE TABLE accounts (
        name          TEXT PRIMARY KEY,
        role          TEXT NOT NULL CHECK (role IN ('publisher', 'reviewer', 'admin')),
        namespaces    TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL
      );

      -- Only the SHA-256 of each refresh token; removing an account removes its tokens.
      CREATE TABLE refresh_tokens (
        id         TEXT PRIMARY KEY,
        account    TEXT NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
        service    TEXT NOT NULL,
        client_id  TEXT NOT NULL,
        issued_at  TEXT NOT NULL,
        expires_at TEXT NOT NULL
      );
      CREATE INDEX refresh_tokens_account ON refresh_tokens (account);
    `,
  },
  {
    version: 3,
    name: 'store: submissions, public repositories, audit log',
    sql: `
      -- Submissions (docs/interfaces.md "Store API"): the columns the API filters on, the rest of the
      -- record as a JSON object in details. revision is the optimistic-concurrency token.
      CREATE TABLE store_submissions (
        id         TEXT    PRIMARY KEY,
        gun        TEXT    NOT NULL,
        public_gun TEXT    NOT NULL,
        tag        TEXT    NOT NULL,
        state      TEXT    NOT NULL CHECK (state IN ('submitted', 'verified', 'verification_failed',
                                                     'approved', 'rejected', 'published', 'revoked')),
        submitter  TEXT    NOT NULL,
        created_at TEXT    NOT NULL,
        updated_at TEXT    NOT NULL,
        revision   INTEGER NOT NULL,
        details    TEXT    NOT NULL
      );
      CREATE INDEX store_submissions_gun ON store_submissions (gun, created_at);
      CREATE INDEX store_submissions_public ON store_submissions (public_gun, tag, state);
      CREATE INDEX store_submissions_state ON store_submissions (state, created_at);

      -- Public repositories the store created: which server keys sign them, and the root key's
      -- certificate, so every instance publishes with the same keys.
      CREATE TABLE store_repositories (
        public_gun       TEXT PRIMARY KEY,
        root_key_id      TEXT NOT NULL,
        root_certificate TEXT NOT NULL,
        targets_key_id   TEXT NOT NULL,
        snapshot_key_id  TEXT NOT NULL,
        timestamp_key_id TEXT NOT NULL,
        created_at       TEXT NOT NULL,
        updated_at       TEXT NOT NULL
      );

      -- The append-only, hash-chained audit log (src/storage/audit-chain.ts). ids are assigned
      -- by append, consecutively; no code path updates or deletes a row.
      CREATE TABLE audit_log (
        id        INTEGER PRIMARY KEY,
        at        TEXT NOT NULL,
        actor     TEXT NOT NULL,
        action    TEXT NOT NULL,
        subject   TEXT NOT NULL,
        details   TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash      TEXT NOT NULL
      );
      CREATE INDEX audit_log_subject ON audit_log (subject, id);
      CREATE INDEX audit_log_at ON audit_log (at, id);
    `,
  },
  {
    version: 4,
    name: 'login attempts',
    sql: `
      -- Password logins in the current windows (src/auth/login.ts, docs/auth.md): one row per
      -- attempt, written before its password is checked; a successful login deletes its pair's
      -- rows. at is epoch milliseconds. address is the limited key (IPv6 by its /64).
      CREATE TABLE login_attempts (
        id      INTEGER PRIMARY KEY,
        account TEXT    NOT NULL,
        address TEXT    NOT NULL,
        at      INTEGER NOT NULL
      );
      CREATE INDEX login_attempts_address ON login_attempts (address, at);
      CREATE INDEX login_attempts_account ON login_attempts (account, address, at);
      CREATE INDEX login_attempts_at ON login_attempts (at);
    `,
  },
  {
    version: 6,
    name: 'webhook deliveries and jobs',
    sql: `
      -- The webhook queue (src/webhooks/, docs/webhooks.md): one row per (receiver, event), the
      -- exact body that is signed and sent, and the retry state. Times are epoch milliseconds.
      CREATE TABLE webhook_deliveries (
        id              TEXT    PRIMARY KEY,
        url             TEXT    NOT NULL,
        event           TEXT    NOT NULL,
        event_id        TEXT    NOT NULL,
        body            TEXT    NOT NULL,
        state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts        INTEGER NOT NULL,
        created_at      INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        last_attempt_at INTEGER,
        last_status     INTEGER,
        last_error      TEXT,
        UNIQUE (url, event_id)
      );
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
      CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at);

      -- How far the relay has turned the audit log into deliveries.
      CREATE TABLE webhook_cursor (
        name     TEXT    PRIMARY KEY,
        audit_id INTEGER NOT NULL
      );

      -- Long work run as jobs (src/jobs/): state, progress and the result as JSON text.
      CREATE TABLE jobs (
        id           TEXT    PRIMARY KEY,
        kind         TEXT    NOT NULL,
        owner        TEXT    NOT NULL,
        submission   TEXT,
        state        TEXT    NOT NULL CHECK (state IN ('running', 'succeeded', 'failed')),
        progress     TEXT    NOT NULL,
        result       TEXT,
        error        TEXT,
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        heartbeat_at INTEGER NOT NULL,
        finished_at  INTEGER
      );
      CREATE INDEX jobs_running ON jobs (state, heartbeat_at);
    `,
  },
  CHECKSUM_INDEX_IN_VERSION_ORDER,
  JOBS_BY_SUBMISSION,
];
