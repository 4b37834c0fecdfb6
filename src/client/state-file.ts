/**
 * The state file on disk: read without a lock (a run only needs a consistent snapshot to start
 * from), and updated under an exclusive lock file by re-reading, merging (versions never go
 * down, state.ts) and writing a temporary file that is fsynced and renamed over the old one, so a
 * reader sees the old or the new file, never half of one, and two concurrent runs cannot lose
 * each other's higher versions.
 */
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { writeFileAtomically } from './atomic-write.js';
import { CountersignError } from '../errors.js';
import {
  EMPTY_STATE,
  MAX_STATE_BYTES,
  mergeRepository,
  parseState,
  serializeState,
  type RepositoryState,
  type TrustState,
} from './state.js';

/** How long a run waits for another run's lock before giving up. */
const LOCK_WAIT_MS = 15_000;
const LOCK_POLL_MS = 25;

/** The state in `file`; a missing file is the empty state (first use), anything unreadable an error. */
export function readStateFile(file: string): TrustState {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY_STATE;
    throw new CountersignError('STATE_INVALID', `state file ${file}: cannot read it`, {
      cause: err,
    });
  }
  if (size > MAX_STATE_BYTES)
    throw new CountersignError(
      'STATE_INVALID',
      `state file ${file}: ${size} bytes is more than the ${MAX_STATE_BYTES} a state file may hold`
    );
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CountersignError('STATE_INVALID', `state file ${file}: cannot read it`, {
      cause: err,
    });
  }
  return parseState(text, file);
}

/**
 * Folds `updates` into the file under its lock. Returns the notes of merges that kept another
 * run's root (two different roots of one version: worth a warning, never a silent swap).
 */
export async function updateStateFile(
  file: string,
  updates: readonly RepositoryState[]
): Promise<string[]> {
  const release = await acquireLock(file);
  try {
    let state = readStateFile(file);
    const notes: string[] = [];
    for (const u of updates) {
      const merged = mergeRepository(state, u);
      state = merged.state;
      if (merged.conflict) notes.push(merged.conflict);
    }
    writeAtomically(file, serializeState(state));
    return notes;
  } finally {
    release();
  }
}

function writeAtomically(file: string, text: string): void {
  try {
    writeFileAtomically(file, text, 0o600);
  } catch (err) {
    throw new CountersignError('STATE_INVALID', `state file ${file}: cannot write it`, {
      cause: err,
    });
  }
}

/**
 * `FILE.lock`, created exclusively and holding the owner's pid. A lock whose owner is no longer
 * running is taken over (a run killed mid-write must not block CI forever); a live owner is
 * waited for, at most LOCK_WAIT_MS.
 */
async function acquireLock(file: string): Promise<() => void> {
  const lock = `${file}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => rmSync(lock, { force: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST')
        throw new CountersignError('STATE_INVALID', `state file ${file}: cannot create ${lock}`, {
          cause: err,
        });
    }
    if (ownerGone(lock)) {
      rmSync(lock, { force: true });
      continue;
    }
    if (Date.now() > deadline)
      throw new CountersignError(
        'STATE_LOCKED',
        `state file ${file}: ${lock} is held by another run for more than ${LOCK_WAIT_MS / 1000} s (remove it if no run is going)`
      );
    await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
  }
}

function ownerGone(lock: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(lock, 'utf8').trim());
  } catch {
    return false; // just removed by its owner, or being written: try again
  }
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
