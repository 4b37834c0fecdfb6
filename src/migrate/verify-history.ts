/**
 * Checks a repository's history before it is imported (docs/migrate.md "What is checked"): every
 * row's bytes hash to its sha256 and parse as its role at its version; every root version is
 * signed by its predecessor's root threshold and by its own; and the current timestamp, snapshot,
 * targets and delegations verify against the current root, chained by hashes, the way a client
 * walks them. Expiry is not checked: expired metadata is imported as it is and served as it was
 * (the server re-signs its timestamp and snapshot; the owner re-signs the rest).
 *
 * Returns the problems found, in words an operator can act on; an empty list means the history
 * verifies.
 */
import { isCountersignError } from '../errors.js';
import { sha256Hex } from '../crypto/hash.js';
import { KeyVerifiers } from '../crypto/keys.js';
import { findDelegation } from '../tuf/delegations.js';
import {
  parseRole,
  type Root,
  type SignedFile,
  type Snapshot,
  type Targets,
  type Timestamp,
} from '../tuf/metadata.js';
import { baseRoleVerifier, validateRoot } from '../tuf/root.js';
import { checkFileMeta, verifySignatures } from '../tuf/verify.js';
import type { ImportFile } from './plan.js';

export function verifyHistory(gun: string, files: readonly ImportFile[], now: Date): string[] {
  const problems: string[] = [];
  const parsed = new Map<ImportFile, SignedFile>();
  for (const f of files) {
    const where = `${f.role} version ${f.version}`;
    if (sha256Hex(f.data) !== f.sha256) {
      problems.push(`${where}: its bytes do not hash to the sha256 stored beside them`);
      continue;
    }
    const file = attempt(problems, where, () => parseRole(f.role, f.data));
    if (!file) continue;
    if (file.signed.version !== f.version) {
      problems.push(`${where}: the file says version ${file.signed.version}`);
      continue;
    }
    parsed.set(f, file);
  }
  if (problems.length > 0) return problems;
  // One import of each key for the whole history, however many files carry it.
  const verifiers = new KeyVerifiers();
  checkRootChain(gun, files, parsed, now, problems, verifiers);
  checkCurrent(gun, files, parsed, problems, verifiers);
  return problems;
}

function attempt<T>(problems: string[], where: string, work: () => T): T | undefined {
  try {
    return work();
  } catch (err) {
    if (!isCountersignError(err)) throw err;
    problems.push(`${where}: ${err.message}`);
    return undefined;
  }
}

/** Root versions in order, each validated against the one before (a trust-on-first-use client's walk). */
function checkRootChain(
  gun: string,
  files: readonly ImportFile[],
  parsed: ReadonlyMap<ImportFile, SignedFile>,
  now: Date,
  problems: string[],
  verifiers: KeyVerifiers
): void {
  const roots = files.filter((f) => f.role === 'root').sort((a, b) => a.version - b.version);
  let previous: SignedFile<Root> | undefined;
  for (const f of roots) {
    const file = parsed.get(f) as SignedFile<Root>;
    if (previous && f.version !== previous.signed.version + 1) {
      problems.push(
        `root version ${f.version} follows version ${previous.signed.version}: a version is missing`
      );
    }
    attempt(problems, `root version ${f.version}`, () =>
      validateRoot(file, {
        gun,
        now,
        previous,
        checkExpiry: false,
        checkCertExpiry: false,
        verifiers,
      })
    );
    previous = file;
  }
}

/** The current state as a client reads it: newest timestamp → snapshot → every role it lists. */
function checkCurrent(
  gun: string,
  files: readonly ImportFile[],
  parsed: ReadonlyMap<ImportFile, SignedFile>,
  problems: string[],
  verifiers: KeyVerifiers
): void {
  const newest = (role: string): ImportFile | undefined =>
    files.filter((f) => f.role === role).sort((a, b) => b.version - a.version)[0];
  const byHash = (role: string, b64: string | undefined): SignedFile | undefined => {
    const hex = b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('hex');
    const row = files.find((f) => f.role === role && f.sha256 === hex);
    return row && parsed.get(row);
  };
  const tsRow = newest('timestamp');
  if (!tsRow) {
    problems.push(`${gun} has no timestamp: nothing is published`);
    return;
  }
  const timestamp = parsed.get(tsRow) as SignedFile<Timestamp>;
  const snapMeta = timestamp.signed.meta.get('snapshot');
  const snapshot = byHash('snapshot', snapMeta?.hashes.sha256) as SignedFile<Snapshot> | undefined;
  if (!snapMeta || !snapshot) {
    problems.push(`timestamp version ${tsRow.version} names a snapshot that is not stored`);
    return;
  }
  const rootMeta = snapshot.signed.meta.get('root');
  const root = byHash('root', rootMeta?.hashes.sha256) as SignedFile<Root> | undefined;
  if (!root) {
    problems.push(`snapshot version ${snapshot.signed.version} names a root that is not stored`);
    return;
  }
  const r = root.signed;
  attempt(problems, `timestamp version ${tsRow.version}`, () => {
    verifySignatures(timestamp, baseRoleVerifier(r, 'timestamp'), verifiers);
    checkFileMeta(snapshot.raw, snapMeta, 'snapshot');
  });
  attempt(problems, `snapshot version ${snapshot.signed.version}`, () =>
    verifySignatures(snapshot, baseRoleVerifier(r, 'snapshot'), verifiers)
  );
  checkTargetsRoles(snapshot, r, byHash, problems, verifiers);
}

function checkTargetsRoles(
  snapshot: SignedFile<Snapshot>,
  root: Root,
  byHash: (role: string, b64: string | undefined) => SignedFile | undefined,
  problems: string[],
  verifiers: KeyVerifiers
): void {
  const loaded = new Map<string, Targets>();
  // Parents before children: a delegation is verified with the keys its parent lists.
  const names = [...snapshot.signed.meta.keys()]
    .filter((n) => n !== 'root')
    .sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
  for (const name of names) {
    const meta = snapshot.signed.meta.get(name)!;
    const file = byHash(name, meta.hashes.sha256) as SignedFile<Targets> | undefined;
    if (!file) {
      problems.push(
        `snapshot version ${snapshot.signed.version} names a ${name} whose hash matches no stored version of ${name}`
      );
      continue;
    }
    const ok = attempt(problems, `${name} version ${file.signed.version}`, () => {
      checkFileMeta(file.raw, meta, name, false);
      const verifier =
        name === 'targets'
          ? baseRoleVerifier(root, 'targets')
          : findDelegation(name, (n) => loaded.get(n)).verifier;
      verifySignatures(file, verifier, verifiers);
      return true;
    });
    if (ok) loaded.set(name, file.signed);
  }
}
