-- The schema notary-server 0.7 expects in PostgreSQL. notary-server does not create it (of its
-- storage backends only RethinkDB has a -bootstrap step); notary's own deployments apply the
-- migrations in migrations/server/postgresql/ (0001_initial, 0002_changefeed, tag v0.7.0) with
-- golang-migrate before starting it. These are the same tables, columns, types and
-- constraints, written for an empty database: the backfill of changefeed from existing
-- timestamps in 0002 has nothing to copy here, and golang-migrate's own schema_migrations
-- bookkeeping table is not read by notary-server. Column names and types also match the GORM
-- models in server/storage/sql_models.go (TUFFile embeds gorm.Model: id, created_at,
-- updated_at, deleted_at; deleted rows are soft-deleted through deleted_at).

-- Every version of every role's metadata of every GUN.
CREATE TABLE tuf_files (
  id serial PRIMARY KEY,
  created_at timestamp NULL,
  updated_at timestamp NULL,
  deleted_at timestamp NULL,
  gun varchar(255) NOT NULL,
  role varchar(255) NOT NULL,
  version integer NOT NULL,
  data bytea NOT NULL,
  sha256 char(64) NULL,
  UNIQUE (gun, role, version)
);
-- GET …/<role>.<sha256>.json looks files up by checksum.
CREATE INDEX tuf_files_sha256_idx ON tuf_files (sha256);

-- The changefeed (GET /v2/_trust/changefeed): one row per new timestamp or deleted GUN.
CREATE TABLE change_category (
  category varchar(20) PRIMARY KEY
);
INSERT INTO change_category (category) VALUES ('update'), ('deletion');

CREATE TABLE changefeed (
  id serial PRIMARY KEY,
  created_at timestamp DEFAULT CURRENT_TIMESTAMP,
  gun varchar(255) NOT NULL,
  version integer NOT NULL,
  sha256 char(64) NULL,
  category varchar(20) NOT NULL DEFAULT 'update' REFERENCES change_category (category)
);
CREATE INDEX idx_changefeed_gun ON changefeed (gun);
