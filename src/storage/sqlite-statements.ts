/**
 * Prepared statements of one SQLite connection, prepared once and reused; the SQL text is the
 * key. Shared by the query classes of sqlite.ts, sqlite-auth.ts and sqlite-store.ts.
 */
import type Database from 'better-sqlite3';

export class Statements {
  private readonly prepared = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  get(text: string): Database.Statement {
    let s = this.prepared.get(text);
    if (!s) {
      s = this.db.prepare(text);
      this.prepared.set(text, s);
    }
    return s;
  }
}
