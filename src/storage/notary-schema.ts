/**
 * Recognising notary-server's own database at start. notary-server 0.7 keeps its metadata in a
 * `tuf_files` table (and golang-migrate's `schema_migrations (version, dirty)` next to it);
 * Countersign's schema has a `tuf_files` table too, but its `schema_migrations` has a `name`
 * column. Migrating a notary-server database in place would fail halfway or mix two schemas,
 * so a start on one stops before anything is written, and says how to import it instead.
 */
import { fail } from '../errors.js';

export interface SchemaFacts {
  /** Tables of the current schema. */
  readonly tables: ReadonlySet<string>;
  /** Columns of `schema_migrations`, empty when there is no such table. */
  readonly migrationColumns: ReadonlySet<string>;
}

/** True when the facts describe notary-server's schema rather than Countersign's (or none). */
export function isNotaryServerSchema(facts: SchemaFacts): boolean {
  return facts.tables.has('tuf_files') && !facts.migrationColumns.has('name');
}

/** Stops with NOTARY_DATABASE when `facts` are notary-server's; `where` names the database. */
export function refuseNotaryServerSchema(facts: SchemaFacts, where: string): void {
  if (!isNotaryServerSchema(facts)) return;
  fail(
    'NOTARY_DATABASE',
    `${where} is a notary-server database (NOTARY_DATABASE: it has notary-server's tuf_files table and no Countersign migrations); ` +
      'Countersign does not change it in place. Import it into a fresh Countersign database with ' +
      '`countersign import-notary --from-db DSN` (docs/migrate.md), then point storage.db_url at the new one'
  );
}
