/**
 * What both engines check of the schema when they open a database: that it is not
 * notary-server's own, and which migrations it lacks.
 *
 * notary-server 0.7 keeps its metadata in a `tuf_files` table (and golang-migrate's
 * `schema_migrations (version, dirty)` next to it); Countersign's schema has a `tuf_files` table
 * too, but its `schema_migrations` has a `name` column. Migrating a notary-server database in
 * place would fail halfway or mix two schemas, so a start on one stops before anything is
 * written, and says how to import it instead.
 */
import { fail } from '../errors.js';
import type { Migration } from './migrations/sqlite.js';

export interface SchemaFacts {
  /** Tables of the current schema. */
  readonly tables: ReadonlySet<string>;
  /** Columns of `schema_migrations`, empty when there is no such table. */
  readonly migrationColumns: ReadonlySet<string>;
}

/** Stops with NOTARY_DATABASE when `facts` are notary-server's; `where` names the database. */
export function refuseNotaryServerSchema(facts: SchemaFacts, where: string): void {
  if (!facts.tables.has('tuf_files') || facts.migrationColumns.has('name')) return;
  fail(
    'NOTARY_DATABASE',
    `${where} is a notary-server database (NOTARY_DATABASE: it has notary-server's tuf_files table and no Countersign migrations); ` +
      'Countersign does not change it in place. Import it into a fresh Countersign database with ' +
      '`countersign import-notary --from-db DSN` (docs/migrate.md), then point storage.db_url at the new one'
  );
}

export function latestVersion(migrations: readonly Migration[]): number {
  return Math.max(...migrations.map((m) => m.version));
}

/**
 * The migrations not applied yet, in order (numbers need not be contiguous: they are applied by
 * set). Refuses a database whose schema is newer than this program knows.
 */
export function missingMigrations(
  migrations: readonly Migration[],
  applied: readonly number[]
): Migration[] {
  const [newest, latest] = [Math.max(0, ...applied), latestVersion(migrations)];
  if (newest > latest) {
    fail(
      'CONFIG_INVALID',
      `the database schema (version ${newest}) is newer than this program knows (${latest})`
    );
  }
  return migrations.filter((m) => !applied.includes(m.version));
}
