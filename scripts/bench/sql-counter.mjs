// Preloaded into a Countersign process by publish-time.mjs --count-sql (NODE_OPTIONS=--import):
// counts every SQL statement better-sqlite3 runs, by its text, and prints the counts to stderr
// (then forgets them) on SIGUSR2. A measuring aid only: it slows every statement a little, so
// times are never read from a process running it.
import Database from 'better-sqlite3';

const counts = new Map();
/** Keyed by "tx " (run inside an open transaction, COMMIT included) or "-- " (outside) and the text. */
const note = (db, sql) => {
  const key = `${db.inTransaction ? 'tx' : '--'} ${sql.replace(/\s+/g, ' ')}`;
  counts.set(key, (counts.get(key) ?? 0) + 1);
};

// Statements are native objects; their prototype is reached through one made and dropped here.
const probe = new Database(':memory:');
const statementProto = Object.getPrototypeOf(probe.prepare('SELECT 1'));
probe.close();

for (const method of ['run', 'get', 'all', 'iterate']) {
  const original = statementProto[method];
  statementProto[method] = function counted(...args) {
    note(this.database, this.source);
    return original.apply(this, args);
  };
}
const exec = Database.prototype.exec;
Database.prototype.exec = function counted(sql) {
  note(this, sql);
  return exec.call(this, sql);
};

process.on('SIGUSR2', () => {
  process.stderr.write(`sql-counts ${JSON.stringify(Object.fromEntries(counts))}\n`);
  counts.clear();
});
