/**
 * A repository's history read from a live Notary server through its public API
 * (`import-notary --from-url`, docs/migrate.md "From a hosted Notary service"): every root from
 * version 1 to the current one, and the current timestamp, the snapshot it names, and the
 * targets and delegations that snapshot names — fetched by checksum, so the files belong
 * together even while someone publishes. Bytes are kept exactly as served. The API tells no
 * creation times: the files are stamped with the time of the import. Older snapshots,
 * timestamps and targets are not reachable through the API and are not imported.
 */
import { fail, isCountersignError } from '../errors.js';
import { sha256Hex } from '../crypto/hash.js';
import { MAX_ROOT_BYTES, MAX_TIMESTAMP_BYTES, type MetadataSource } from '../client/source.js';
import { parseRole, type Snapshot, type SignedFile, type Timestamp } from '../tuf/metadata.js';
import type { ImportFile, RepositoryPlan } from './plan.js';
import { verifyHistory } from './verify-history.js';

export async function fetchRepository(
  source: MetadataSource,
  gun: string,
  now: Date
): Promise<RepositoryPlan> {
  const files: ImportFile[] = [];
  const keep = (role: string, data: Buffer): SignedFile => {
    let file: SignedFile;
    try {
      file = parseRole(role, data);
    } catch (err) {
      if (!isCountersignError(err)) throw err;
      return fail(
        'MIGRATE_UNVERIFIED',
        `${gun}: the server's ${role} is not valid metadata: ${err.message}`,
        {
          cause: err,
        }
      );
    }
    files.push({
      role,
      version: file.signed.version,
      sha256: sha256Hex(data),
      data,
      createdAt: now,
    });
    return file;
  };
  const timestampBytes = await source.getCurrent(gun, 'timestamp', MAX_TIMESTAMP_BYTES);
  if (!timestampBytes)
    fail('MIGRATE_SOURCE', `the server has no repository ${gun} (no timestamp.json)`);
  const timestamp = keep('timestamp', timestampBytes) as SignedFile<Timestamp>;
  const snapshot = (await fetchNamed(source, gun, 'snapshot', timestamp.signed.meta, keep)) as
    SignedFile<Snapshot> | undefined;
  if (!snapshot)
    fail('MIGRATE_UNVERIFIED', `${gun}: the snapshot the timestamp names is not on the server`);
  const root = await fetchNamed(source, gun, 'root', snapshot.signed.meta, keep);
  if (!root) fail('MIGRATE_UNVERIFIED', `${gun}: the root the snapshot names is not on the server`);
  for (let v = 1; v < root.signed.version; v++) {
    const older = await source.getByVersion(gun, 'root', v, MAX_ROOT_BYTES);
    if (!older) fail('MIGRATE_UNVERIFIED', `${gun}: root version ${v} is not on the server`);
    keep('root', older);
  }
  for (const role of snapshot.signed.meta.keys()) {
    if (role === 'root') continue;
    if (!(await fetchNamed(source, gun, role, snapshot.signed.meta, keep)))
      fail('MIGRATE_UNVERIFIED', `${gun}: the ${role} the snapshot names is not on the server`);
  }
  return { gun, files, keys: [], problems: verifyHistory(gun, files, now) };
}

/** The file of `role` whose sha256 `meta` names (at most the length it names), or undefined. */
async function fetchNamed(
  source: MetadataSource,
  gun: string,
  role: string,
  meta: ReadonlyMap<string, { hashes: Record<string, string>; length: number }>,
  keep: (role: string, data: Buffer) => SignedFile
): Promise<SignedFile | undefined> {
  const m = meta.get(role);
  const hex = m?.hashes.sha256 && Buffer.from(m.hashes.sha256, 'base64').toString('hex');
  if (!m || !hex || hex.length !== 64) return undefined;
  const data = await source.getByChecksum(gun, role, hex, m.length);
  return data ? keep(role, data) : undefined;
}
