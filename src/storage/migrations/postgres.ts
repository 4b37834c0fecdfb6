/**
 * The PostgreSQL schema, as numbered migrations: the SQLite schema (./sqlite.ts) adapted to
 * PostgreSQL, plus what several instances need to agree on. A migration, once released, never
 * changes: add a new one instead. src/storage/postgres.ts applies the missing ones at start, in
 * one transaction holding an advisory lock, and records each in `schema_migrations`.
 *
 * - Text columns that are compared or sorted (GUNs, roles) use the "C" collation: byte order,
 *   as SQLite's BINARY, whatever locale the cluster was created with.
 * - Versions are bigint, as SQLite's INTEGER, so both backends accept the same versions.
 * - Times are timestamptz: microsecond precision holds JavaScript's milliseconds exactly.
 */
import { CHECKSUM_INDEX_IN_VERSION_ORDER, JOBS_BY_SUBMISSION, type Migration } from './sqlite.js';

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'tuf files, changefeed, server keys, settings, store generation',
    sql: `
      -- Every version of every role, byte for byte (docs/protocol.md §6). The UNIQUE constraint is
      -- the backstop of version monotonicity (23505 becomes STORAGE_OLD_VERSION) and its index
      -- serves (gun, role, version) lookups and MAX(version).
      CREATE TABLE tuf_files (
        id         bigserial   PRIMARY KEY,
        gun        text        COLLATE "C" NOT NULL,
        role       text        COLLATE "C" NOT NULL,
        version    bigint      NOT NULL,
        sha256     text        NOT NULL,
        data       bytea       NOT NULL,
        created_at timestamptz NOT NULL,
        UNIQUE (gun, role, version)
      );
      CREATE INDEX tuf_files_checksum ON tuf_files (gun, role, sha256);

      -- A sequence never hands out an id twice, so change ids stay valid cursors. Writers take
      -- the store_generation row lock before inserting here, so ids are also in commit order.
      CREATE TABLE changefeed (
        id         bigserial   PRIMARY KEY,
        created_at timestamptz NOT NULL,
        gun        text        COLLATE "C" NOT NULL,
        version    bigint      NOT NULL,
        sha256     text        NOT NULL,
        category   text        NOT NULL CHECK (category IN ('update', 'deletion'))
      );
      CREATE INDEX changefeed_gun ON changefeed (gun, id);

      -- Server-held private keys, sealed by src/signer/keyring.ts. activated_at is
      -- notary-signer's last_used: NULL means pending. seq orders keys created in the same
      -- millisecond by insertion (SQLite's rowid). Several pending keys of one (gun, role) may
      -- exist (rotation inserts them), so "one pending key" is kept by an advisory lock in
      -- insertPendingIfAbsent, not by a unique index.
      CREATE TABLE server_keys (
        key_id         text        PRIMARY KEY,
        seq            bigint      GENERATED ALWAYS AS IDENTITY,
        gun            text        COLLATE "C" NOT NULL,
        role           text        COLLATE "C" NOT NULL,
        algorithm      text        NOT NULL CHECK (algorithm IN ('ecdsa', 'ed25519')),
        key_type       text        NOT NULL,
        public         text        NOT NULL,
        sealed_private bytea       NOT NULL,
        created_at     timestamptz NOT NULL,
        activated_at   timestamptz
      );
      CREATE INDEX server_keys_gun_role ON server_keys (gun, role);

      CREATE TABLE settings (
        name  text PRIMARY KEY,
        value text NOT NULL
      );

      -- One row, bumped by every write transaction just before it commits: the marker the
      -- fallback poll of every instance compares, so a lost notification delays cache
      -- invalidation by one poll interval at most.
      CREATE TABLE store_generation (
        id integer PRIMARY KEY CHECK (id = 1),
        n  bigint  NOT NULL
      );
      INSERT INTO store_generation (id, n) VALUES (1, 0);
    `,
  },
  {
    version: 2,
    name: 'accounts and refresh tokens',
    sql: `
      -- Accounts of the built-in token service and the store API (docs/interfaces.md "Accounts").
      CREATE TABLE accounts (
        name          text COLLATE "C" PRIMARY KEY,
        role          text NOT NULL CHECK (role IN ('publisher', 'reviewer', 'admin')),
        namespaces    jsonb NOT NULL,
        password_hash text NOT NULL,
        created_at    timestamptz NOT NULL,
        updated_at    timestamptz NOT NULL
      );
      -- Only the SHA-256 of each refresh token; removing an account removes its tokens.
      CREATE TABLE refresh_tokens (
        id         text PRIMARY KEY,
        account    text COLLATE "C" NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
        service    text NOT NULL,
        client_id  text NOT NULL,
        issued_at  timestamptz NOT NULL,
        expires_at timestamptz NOT NULL
      );
      CREATE INDEX refresh_tokens_account ON refresh_tokens (account);
    `,
  },
  {
    version: 3,
    name: 'store: submissions, public repositories, audit log',
    sql: `
      -- Submissions (docs/interfaces.md "Store API"): the columns the API filters on, the rest of the
      -- record in details. revision is the optimistic-concurrency token; seq orders rows created
      -- in the same millisecond by insertion.
      CREATE TABLE store_submissions (
        id         text        PRIMARY KEY,
        seq        bigint      GENERATED ALWAYS AS IDENTITY,
        gun        text        COLLATE "C" NOT NULL,
        public_gun text        COLLATE "C" NOT NULL,
        tag        text        COLLATE "C" NOT NULL,
        state      text        NOT NULL CHECK (state IN ('submitted', 'verified', 'verification_failed',
                                                         'approved', 'rejected', 'published', 'revoked')),
        submitter  text        NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        revision   integer     NOT NULL,
        details    jsonb       NOT NULL
      );
      CREATE INDEX store_submissions_gun ON store_submissions (gun, created_at);
      CREATE INDEX store_submissions_public ON store_submissions (public_gun, tag, state);
      CREATE INDEX store_submissions_state ON store_submissions (state, created_at);

      -- Public repositories the store created: which server keys sign them, and the root key's
      -- certificate, so every instance publishes with the same keys.
      CREATE TABLE store_repositories (
        public_gun       text        COLLATE "C" PRIMARY KEY,
        root_key_id      text        NOT NULL,
        root_certificate text        NOT NULL,
        targets_key_id   text        NOT NULL,
        snapshot_key_id  text        NOT NULL,
        timestamp_key_id text        NOT NULL,
        created_at       timestamptz NOT NULL,
        updated_at       timestamptz NOT NULL
      );

      -- The append-only, hash-chained audit log (src/storage/audit-chain.ts). ids are assigned
      -- by append under an advisory lock, consecutively. details is text, not jsonb: the bytes
      -- read back must be the JSON that was hashed (jsonb would reorder keys, harmlessly, but
      -- also normalise numbers). at is text too: ISO 8601 exactly as hashed.
      CREATE TABLE audit_log (
        id        bigint PRIMARY KEY,
        at        text   NOT NULL,
        actor     text   NOT NULL,
        action    text   NOT NULL,
        subject   text   COLLATE "C" NOT NULL,
        details   text   NOT NULL,
        prev_hash text   NOT NULL,
        hash      text   NOT NULL
      );
      CREATE INDEX audit_log_subject ON audit_log (subject, id);
      CREATE INDEX audit_log_at ON audit_log (at, id);

      -- details as jsonb for filtering, or NULL when a row no longer holds JSON (tampering):
      -- listing must still work so that verification can name the entry.
      CREATE FUNCTION countersign_try_jsonb(value text) RETURNS jsonb
        LANGUAGE plpgsql IMMUTABLE AS $fn$
        BEGIN
          RETURN value::jsonb;
        EXCEPTION WHEN others THEN
          RETURN NULL;
        END
      $fn$;
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
        id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account text   COLLATE "C" NOT NULL,
        address text   COLLATE "C" NOT NULL,
        at      bigint NOT NULL
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
      -- Instances claim due rows with FOR UPDATE SKIP LOCKED, so each attempt is made once.
      CREATE TABLE webhook_deliveries (
        id              text    COLLATE "C" PRIMARY KEY,
        url             text    COLLATE "C" NOT NULL,
        event           text    NOT NULL,
        event_id        text    COLLATE "C" NOT NULL,
        body            text    NOT NULL,
        state           text    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts        integer NOT NULL,
        created_at      bigint  NOT NULL,
        next_attempt_at bigint  NOT NULL,
        last_attempt_at bigint,
        last_status     integer,
        last_error      text,
        UNIQUE (url, event_id)
      );
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
      CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at);

      -- How far the relay has turned the audit log into deliveries (locked FOR UPDATE by it).
      CREATE TABLE webhook_cursor (
        name     text   PRIMARY KEY,
        audit_id bigint NOT NULL
      );

      -- Long work run as jobs (src/jobs/): state, progress and the result as JSON.
      CREATE TABLE jobs (
        id           text   COLLATE "C" PRIMARY KEY,
        kind         text   NOT NULL,
        owner        text   NOT NULL,
        submission   text,
        state        text   NOT NULL CHECK (state IN ('running', 'succeeded', 'failed')),
        progress     text   NOT NULL,
        result       text,
        error        text,
        created_at   bigint NOT NULL,
        updated_at   bigint NOT NULL,
        heartbeat_at bigint NOT NULL,
        finished_at  bigint
      );
      CREATE INDEX jobs_running ON jobs (state, heartbeat_at);
    `,
  },
  // The same statements in both engines.
  CHECKSUM_INDEX_IN_VERSION_ORDER,
  JOBS_BY_SUBMISSION,
];
