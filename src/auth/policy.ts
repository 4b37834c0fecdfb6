/**
 * Who may do what on which GUN (docs/interfaces.md "Accounts", docs/design.md "Zones"). One table, used by
 * the token service to decide grants, by the Notary access control for tokenless public reads,
 * and by the store API:
 *
 *   zone      | anonymous               | publisher (namespace covers GUN) | reviewer | admin
 *   public    | pull if anonymousPull   | pull                             | pull     | pull
 *   staging   | –                       | pull push *                      | pull     | pull push *
 *   plain     | –                       | pull push *                      | –        | pull push *
 *
 * Every account may pull public GUNs (anonymous pull off means "accounts only"). Nobody gets
 * push or * on a public GUN: only the store's publish step writes there, never the Notary API.
 * Admins also get `registry:catalog:*` (the global changefeed and `/v2/`).
 */
import type { Zones } from './zones.js';
import type { Principal } from './principal.js';
import type { Access } from './scope.js';

export type RepositoryAction = 'pull' | 'push' | '*';

const NOTHING: ReadonlySet<RepositoryAction> = new Set();
const PULL: ReadonlySet<RepositoryAction> = new Set(['pull']);
const ALL: ReadonlySet<RepositoryAction> = new Set(['pull', 'push', '*']);

export interface AccessPolicyOptions {
  readonly zones: Zones;
  /** Anonymous clients may pull public GUNs (with or without a token). */
  readonly anonymousPull: boolean;
}

export class AccessPolicy {
  readonly zones: Zones;
  readonly anonymousPull: boolean;

  constructor(options: AccessPolicyOptions) {
    this.zones = options.zones;
    this.anonymousPull = options.anonymousPull;
  }

  /** True when `principal` owns `gun`: a publisher's namespace covers it, or an admin; never public. */
  ownsRepository(principal: Principal, gun: string): boolean {
    if (this.zones.isPublic(gun)) return false;
    if (principal.role === 'admin') return true;
    return principal.role === 'publisher' && principal.namespaces.some((ns) => gun.startsWith(ns));
  }

  /** What `principal` (null: anonymous) may do on repository `gun`. */
  repositoryActions(principal: Principal | null, gun: string): ReadonlySet<RepositoryAction> {
    const kind = this.zones.kindOf(gun);
    if (kind === 'public') return principal !== null || this.anonymousPull ? PULL : NOTHING;
    if (principal === null) return NOTHING;
    if (this.ownsRepository(principal, gun)) return ALL;
    return kind === 'staging' && principal.role === 'reviewer' ? PULL : NOTHING;
  }

  /** Whether `action` on a resource is allowed to a client that shows no token at all. */
  anonymousAllows(type: string, name: string, action: string): boolean {
    return (
      type === 'repository' && action === 'pull' && this.repositoryActions(null, name).has('pull')
    );
  }

  /**
   * The `access` claim for a token request: for each requested scope, the requested actions the
   * principal holds (all of them when it holds `*`), in the order asked. Scopes granting nothing
   * are left out, so an anonymous request may get an empty list.
   */
  grant(principal: Principal | null, requested: readonly Access[]): Access[] {
    const out: Access[] = [];
    for (const scope of requested) {
      const allowed = this.allowedFor(principal, scope);
      const actions = allowed.has('*')
        ? [...scope.actions]
        : scope.actions.filter((a) => allowed.has(a as RepositoryAction));
      if (actions.length === 0) continue;
      out.push(
        scope.class === undefined
          ? { type: scope.type, name: scope.name, actions }
          : { type: scope.type, class: scope.class, name: scope.name, actions }
      );
    }
    return out;
  }

  private allowedFor(principal: Principal | null, scope: Access): ReadonlySet<string> {
    if (scope.type === 'repository') return this.repositoryActions(principal, scope.name);
    if (scope.type === 'registry' && scope.name === 'catalog' && principal?.role === 'admin') {
      return ALL;
    }
    return NOTHING;
  }
}
