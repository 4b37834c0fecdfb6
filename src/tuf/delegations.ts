/**
 * Targets and delegation rules (docs/protocol.md §2.6): structure of a targets file, and how a
 * delegation is found from `targets` down through valid delegations, with paths narrowed at
 * every step. Paths are not enforced on what a delegation lists (notary accepts that); readers
 * filter with `pathAllowed`.
 */
import { fail } from '../errors.js';
import { weakSignatureAlgorithm } from '../crypto/x509.js';
import type { PublicKey } from '../crypto/keys.js';
import { isDelegationName, parentRole } from './names.js';
import { checkKeyIds } from './root.js';
import type { DelegatedRole, Targets } from './metadata.js';
import type { RoleVerifier } from './verify.js';

/** Structure of `targets` or a delegation named `roleName`. */
export function checkTargetsStructure(t: Targets, roleName: string): void {
  if (t.version < 1) fail('META_VERSION', `${roleName} version must be at least 1`);
  for (const r of t.delegations.roles) {
    if (!isDelegationName(r.name) || parentRole(r.name) !== roleName)
      fail('META_SHAPE', `tuf: invalid role ${r.name}. invalid delegation role name`);
    if (r.threshold < 1) fail('META_SHAPE', `delegation ${r.name} has an invalid threshold`);
    for (const id of r.keyids)
      if (!t.delegations.keys.has(id))
        fail('META_SHAPE', `role lists unknown key ${id} as a signing key`);
    // Stricter than notary: a threshold no set of listed keys can ever meet wedges the role.
    if (r.threshold > new Set(r.keyids).size)
      fail(
        'META_SHAPE',
        `delegation ${r.name} has threshold ${r.threshold} above its ${new Set(r.keyids).size} keys`
      );
  }
  checkKeyIds(t.delegations.keys, `${roleName} delegation`);
  for (const [id, key] of t.delegations.keys) checkDelegationKey(id, key);
}

/** x509 delegation keys: SHA-1 and RSA size are checked, not expiry (as notary). */
function checkDelegationKey(id: string, key: PublicKey): void {
  if (!key.isX509) return;
  const leaf = key.certificates?.[0];
  if (!leaf) return; // an unparsable certificate never verifies anything
  const weak = weakSignatureAlgorithm(leaf);
  if (weak) fail('CERT_INVALID', `delegation key ${id} uses ${weak}`);
  if (leaf.keyAlgorithm === 'rsa' && leaf.rsaBits < 2048)
    fail('CERT_INVALID', `delegation key ${id} is an RSA key under 2048 bits`);
}

export interface FoundDelegation {
  readonly verifier: RoleVerifier;
  /** The delegation's paths narrowed by every ancestor's; `[]` means it can sign nothing. */
  readonly paths: readonly string[];
  readonly role: DelegatedRole;
}

/**
 * Finds `name` by walking from `targets` through the loaded parents, using only roles listed by
 * a valid parent. `loaded(role)` returns the parsed targets file of a loaded role, if any.
 */
export function findDelegation(
  name: string,
  loaded: (role: string) => Targets | undefined
): FoundDelegation {
  const segments = name.split('/');
  let parentPaths: readonly string[] = [''];
  let found: FoundDelegation | undefined;
  for (let depth = 2; depth <= segments.length; depth++) {
    const roleName = segments.slice(0, depth).join('/');
    const parent = loaded(parentRole(roleName));
    const role = parent?.delegations.roles.find((r) => r.name === roleName);
    if (!parent || !role)
      fail('META_ROLE_UNKNOWN', `tuf: invalid role ${name}. delegation does not exist`);
    const paths = (role.paths ?? []).filter((p) => parentPaths.some((pp) => p.startsWith(pp)));
    const keys = new Map<string, PublicKey>();
    for (const id of role.keyids) {
      const k = parent.delegations.keys.get(id);
      if (!k) fail('META_SHAPE', `role lists unknown key ${id} as a signing key`);
      keys.set(id, k);
    }
    found = { verifier: { name: roleName, keys, threshold: role.threshold }, paths, role };
    parentPaths = paths;
  }
  if (!found) fail('META_ROLE_UNKNOWN', `tuf: invalid role ${name}. delegation does not exist`);
  return found;
}

/** Whether a target name lies inside a delegation's paths (plain string prefix). */
export function pathAllowed(target: string, paths: readonly string[]): boolean {
  return paths.some((p) => target.startsWith(p));
}
