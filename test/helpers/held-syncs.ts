/**
 * A stand-in for the WAL fsync (src/storage/wal-sync.ts) whose calls wait until the test settles
 * them, in order, so a test can look at everything between a commit and its durability.
 */
export function heldSyncs() {
  const calls: { path: string; settle: (err?: Error) => void }[] = [];
  const syncFile = (path: string) =>
    new Promise<void>((resolve, reject) =>
      calls.push({ path, settle: (err) => (err ? reject(err) : resolve()) })
    );
  return { calls, syncFile };
}

/** Lets every callback already due run (a few turns of the event loop). */
export async function turns(n = 10): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}
