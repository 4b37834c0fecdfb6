/**
 * Tag resolution as docker does it (docs/clients.md §1.7): notary's GetTargetByName over the roles
 * `targets/releases` then `targets`, each a breadth-first WalkTargets that skips the other role's
 * subtree and only visits roles whose (narrowed) paths cover the tag; then docker refuses a hit
 * that came from any role other than those two ("No valid trust data for <tag>").
 */
import { fail } from '../errors.js';
import { pathAllowed } from '../tuf/delegations.js';
import type { FileMeta, Targets } from '../tuf/metadata.js';
import { parentRole } from '../tuf/names.js';
import type { ResolvedTarget } from './report.js';

export const RELEASES_ROLE = 'targets/releases';
/** The roles docker takes tags from, in order. */
export const DOCKER_ROLES = [RELEASES_ROLE, 'targets'] as const;

export interface WalkRole {
  readonly name: string;
  /** Paths narrowed by every ancestor's; `targets` has `[""]`. */
  readonly paths: readonly string[];
}

/**
 * notary's GetValidDelegations: the direct children `t` delegates to whose listed keys all exist,
 * with their paths restricted to those prefixed by one of the parent's (no paths → none).
 */
export function validDelegations(t: Targets, parent: WalkRole): WalkRole[] {
  const out: WalkRole[] = [];
  for (const r of t.delegations.roles) {
    if (parentRole(r.name) !== parent.name) continue;
    if (!r.keyids.every((id) => t.delegations.keys.has(id))) continue;
    const paths = (r.paths ?? []).filter((p) => parent.paths.some((pp) => p.startsWith(pp)));
    out.push({ name: r.name, paths });
  }
  return out;
}

/** notary's WalkTargets with a visitor that stops at the first role listing `tag`. */
export function walkForTarget(
  tag: string,
  loaded: ReadonlyMap<string, Targets>,
  rolePath: string,
  skip: readonly string[]
): { role: string; meta: FileMeta } | undefined {
  const queue: WalkRole[] = [{ name: 'targets', paths: [''] }];
  for (let role = queue.shift(); role; role = queue.shift()) {
    const t = loaded.get(role.name);
    if (!t) continue;
    if (rolePath.startsWith(role.name + '/')) {
      queue.push(...validDelegations(t, role));
      continue;
    }
    const ancestor =
      rolePath === '' || rolePath === role.name || role.name.startsWith(rolePath + '/');
    if ((tag === '' || pathAllowed(tag, role.paths)) && ancestor && !skip.includes(role.name)) {
      const meta = t.targets.get(tag);
      if (meta) return { role: role.name, meta };
      queue.push(...validDelegations(t, role));
    }
  }
  return undefined;
}

/**
 * The target docker would pull for `tag`. `loaded` holds only roles that verified (as in notary's
 * repo: a delegation that failed its signatures or expired is not there). Throws TARGET_NOT_FOUND
 * with docker's reasoning when there is none.
 */
export function resolveDockerTarget(
  tag: string,
  loaded: ReadonlyMap<string, Targets>
): ResolvedTarget {
  for (const rolePath of DOCKER_ROLES) {
    const hit = walkForTarget(
      tag,
      loaded,
      rolePath,
      DOCKER_ROLES.filter((r) => r !== rolePath)
    );
    if (!hit) continue;
    if (hit.role !== RELEASES_ROLE && hit.role !== 'targets') {
      fail(
        'TARGET_NOT_FOUND',
        `${tag} is signed only by ${hit.role}; docker takes tags from ${RELEASES_ROLE} and targets alone (No valid trust data for ${tag})`
      );
    }
    return toResolved(tag, hit.meta, hit.role);
  }
  fail(
    'TARGET_NOT_FOUND',
    `no valid trust data for ${tag}: it is in neither ${RELEASES_ROLE} nor targets`
  );
}

function toResolved(name: string, meta: FileMeta, role: string): ResolvedTarget {
  const b64 = meta.hashes.sha256;
  const raw = b64 === undefined ? undefined : Buffer.from(b64, 'base64');
  if (!raw || raw.length !== 32)
    fail('TARGET_NOT_FOUND', `${name} in ${role} has no valid sha256 hash (docker expects one)`);
  const base = {
    name,
    length: meta.length,
    hashes: meta.hashes,
    role,
    digest: `sha256:${raw.toString('hex')}`,
  };
  return meta.custom === undefined ? base : { ...base, custom: meta.custom };
}

/**
 * The tags docker would resolve to `digest` (`sha256:<hex>`): every name in `targets/releases` or
 * `targets` whose docker resolution (above) is that digest, sorted. Throws TARGET_NOT_FOUND when
 * none is; `target` is the first tag's entry.
 */
export function tagsForDigest(
  digest: string,
  loaded: ReadonlyMap<string, Targets>
): { tags: string[]; target: ResolvedTarget } {
  const names = new Set<string>();
  for (const role of DOCKER_ROLES)
    for (const name of loaded.get(role)?.targets.keys() ?? []) names.add(name);
  const hits: ResolvedTarget[] = [];
  for (const name of [...names].sort()) {
    let t: ResolvedTarget;
    try {
      t = resolveDockerTarget(name, loaded);
    } catch {
      continue; // a name docker would refuse does not sign anything
    }
    if (t.digest === digest) hits.push(t);
  }
  const first = hits[0];
  if (!first)
    fail(
      'TARGET_NOT_FOUND',
      `no tag in ${RELEASES_ROLE} or targets is signed with ${digest} (No valid trust data for ${digest})`
    );
  return { tags: hits.map((h) => h.name), target: first };
}
