/**
 * The re-signer of server-held snapshots and timestamps (docs/protocol.md §3.3, early): a role whose
 * keys the server holds is re-signed once less than `resignBefore` of its lifetime is left.
 * A snapshot the producer signs is never touched (its timestamp still is), so a client-held
 * snapshot that expires is the producer's to renew; the scheduler warns about it.
 */
import type { ExpiryPolicy } from '../notary/expiry.js';
import { refreshServerMetadata, type RefreshDeps } from '../notary/refresh.js';
import type { NewMeta } from '../storage/types.js';
import type { GunFacts } from './facts.js';
import { resignAt, type PlannedRole, type ResignRequest, type Resigner } from './resigner.js';

const ROLES = ['timestamp', 'snapshot'] as const;

export class ServerMetadataResigner implements Resigner {
  readonly name = 'server-snapshot-timestamp';

  constructor(private readonly deps: RefreshDeps) {}

  plan(facts: GunFacts, policy: ExpiryPolicy): PlannedRole[] {
    const lifetimes = policy.lifetimes(facts.gun);
    const out: PlannedRole[] = [];
    for (const role of ROLES) {
      const f = facts.roles.find((r) => r.role === role);
      if (f?.held)
        out.push({
          role,
          resignAt: resignAt(f.expires, lifetimes[role], policy.resignBefore),
          keyHolder: 'server',
        });
    }
    return out;
  }

  async resign(request: ResignRequest): Promise<readonly NewMeta[]> {
    const policy = this.deps.expiry;
    const lifetimes = policy.lifetimes(request.gun);
    // refreshServerMetadata re-signs a role once it expires within its margin; a role this
    // re-signer does not manage gets no margin at all (never due), so a client-held snapshot is
    // left as it is even when expired.
    const margin = (role: (typeof ROLES)[number]) =>
      request.planned.some((p) => p.role === role)
        ? policy.resignBefore * lifetimes[role]
        : -Infinity;
    const result = await refreshServerMetadata(this.deps, request.gun, request.now, {
      timestamp: margin('timestamp'),
      snapshot: margin('snapshot'),
    });
    return result.resigned;
  }
}
