/**
 * Verifying a producer's staging trust data (docs/design.md "Verification"): the TUF client workflow
 * over the stored staging metadata (src/client: root chain from version 1, signatures and
 * thresholds of every role, timestamp → snapshot → targets → delegations by hash and length,
 * expiry of every role and root certificate, rollback against versions seen before), the tag
 * resolved as docker resolves it, and what the submission must remember of it: the exact target,
 * the versions and sha256s read, and the producer keys that signed the target's role.
 */
import { CountersignError } from '../errors.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../canonical/parse.js';
import { verifyRepository, type VerificationResult } from '../client/index.js';
import { StoreMetadataSource } from './store-source.js';
import type { ParsedMetadata } from '../notary/parsed.js';
import type { MetaStore } from '../storage/types.js';
import { findDelegation } from '../tuf/delegations.js';
import { parseRoot, parseTargets, type Targets } from '../tuf/metadata.js';
import { baseRoleVerifier } from '../tuf/root.js';
import { verifySignatures } from '../tuf/verify.js';
import type { Clock } from '../util/clock.js';
import type { StagingRecord, SubmissionCheck, SubmissionTarget } from './submission.js';

export interface StagingVerification {
  readonly result: VerificationResult;
  readonly checks: readonly SubmissionCheck[];
  readonly target: SubmissionTarget | null;
  readonly staging: StagingRecord;
}

export async function verifyStaging(o: {
  meta: MetaStore;
  /** The app's parsed files (src/notary/caches.ts). */
  parsed: ParsedMetadata;
  gun: string;
  tag: string;
  clock: Clock;
  previousVersions?: Readonly<Record<string, number>>;
}): Promise<StagingVerification> {
  const result = await verifyRepository({
    source: new StoreMetadataSource(o.meta, o.parsed),
    gun: o.gun,
    clock: o.clock,
    target: o.tag,
    ...(o.previousVersions ? { previousVersions: o.previousVersions } : {}),
  });
  const versions: Record<string, number> = {};
  const sha256: Record<string, string> = {};
  for (const r of result.roles) {
    versions[r.role] = r.version;
    sha256[r.role] = r.sha256;
  }
  const t = result.target;
  const target: SubmissionTarget | null = t
    ? {
        name: t.name,
        length: t.length,
        hashes: { ...t.hashes },
        digest: t.digest,
        role: t.role,
        ...(t.custom !== undefined ? { custom: t.custom } : {}),
      }
    : null;
  let producerKeyIds: string[] = [];
  try {
    if (target) producerKeyIds = await signersOf(o.meta, o.gun, target.role, sha256);
  } catch (err) {
    // The role verified a moment ago; if it no longer does, the checks have said why.
    if (!(err instanceof CountersignError)) throw err;
  }
  const checks: SubmissionCheck[] = result.checks.map((c) => ({
    name: c.name,
    passed: c.passed,
    detail: c.detail,
  }));
  if (
    target?.custom !== undefined &&
    nestsDeeperThan(JSON.stringify(target.custom), MAX_CUSTOM_DEPTH)
  )
    checks.push({
      name: 'custom',
      passed: false,
      detail: `the target's custom nests deeper than ${MAX_CUSTOM_DEPTH} levels; the public target, which carries it one level deeper, would exceed the server's JSON depth limit`,
    });
  return {
    result,
    checks,
    target,
    staging: { versions, sha256, producerKeyIds },
  };
}

/**
 * The key IDs whose signatures verify `role` (the one the target was resolved from) in the exact
 * files verification read, each against the keys its parent lists.
 */
async function signersOf(
  meta: MetaStore,
  gun: string,
  role: string,
  sha256: Readonly<Record<string, string>>
): Promise<string[]> {
  const read = async (name: string) => {
    const hex = sha256[name];
    const row = hex === undefined ? null : await meta.getByChecksum(gun, name, hex);
    return row?.data ?? null;
  };
  const rootBytes = await read('root');
  const roleBytes = await read(role);
  if (!rootBytes || !roleBytes) return [];
  const file = parseTargets(roleBytes);
  if (role === 'targets') {
    return [
      ...verifySignatures(file, baseRoleVerifier(parseRoot(rootBytes).signed, 'targets')),
    ].sort();
  }
  const parents = new Map<string, Targets>();
  const segments = role.split('/');
  for (let depth = 1; depth < segments.length; depth++) {
    const name = segments.slice(0, depth).join('/');
    const bytes = await read(name);
    if (bytes) parents.set(name, parseTargets(bytes).signed);
  }
  const { verifier } = findDelegation(role, (name) => parents.get(name));
  return [...verifySignatures(file, verifier)].sort();
}

/**
 * How deep a producer's `custom` may nest: the public targets file carries it as
 * `signed.targets[tag].custom.producerCustom`, six levels in, and must itself stay within
 * MAX_JSON_DEPTH (src/canonical/parse.ts) to be read back.
 */
export const MAX_CUSTOM_DEPTH = MAX_JSON_DEPTH - 6;

/** Per role, the highest version any of these staging records saw (the rollback floor). */
export function highestVersions(
  records: readonly (StagingRecord | null)[]
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) {
    for (const [role, v] of Object.entries(r?.versions ?? {})) {
      if (out[role] === undefined || v > out[role]) out[role] = v;
    }
  }
  return out;
}
