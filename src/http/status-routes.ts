/**
 * Expiry status on the store API (docs/freshness.md):
 *   GET /api/v1/repositories/{gun}/status   each role's version, expiry, seconds left, key holder, state
 *   GET /api/v1/expiring?within=DURATION    every role of every repository expiring within DURATION
 *                                           (optional `keyHolder=client,store,server` filter)
 *
 * Who may call them: with auth off (no store, no token service) everyone, as the Notary API;
 * otherwise admins and reviewers, and for one repository's status also the publisher who owns it.
 * These routes read only what clients can already fetch; they still sit behind accounts because
 * the list of every repository is not public.
 */
import type { Request, RequestHandler, Router } from 'express';
import { CountersignError, isCountersignError } from '../errors.js';
import type { AuthMode } from '../auth/setup.js';
import type { ExpiryIndex } from '../freshness/expiry-index.js';
import type { KeyHolder } from '../freshness/resigner.js';
import { expiringRoles, gunStatus } from '../freshness/status.js';
import { gunProblem } from '../tuf/names.js';
import type { Clock } from '../util/clock.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import { requestPrincipal } from './store-auth.js';
import type { StoreApiContext } from './store-api.js';

export interface StatusRoutesOptions {
  readonly index: ExpiryIndex;
  readonly clock: Clock;
  readonly warnWithinMs: number;
  readonly authMode: AuthMode;
}

const KEY_HOLDERS: readonly KeyHolder[] = ['server', 'client', 'store'];
const DEFAULT_WITHIN = '30d';

export function statusRoutes(
  o: StatusRoutesOptions
): (router: Router, context: StoreApiContext) => void {
  return (router, context) => {
    const open: RequestHandler = (_req, _res, next) => next();
    /** Admins and reviewers; with `gunOf`, also the publisher owning that repository. */
    const guard = (gunOf?: (req: Request) => string | undefined): RequestHandler[] =>
      o.authMode === 'off'
        ? [open]
        : [
            context.authenticate,
            (req, res, next) => {
              const p = requestPrincipal(res);
              if (p.role === 'admin' || p.role === 'reviewer') return next();
              const gun = gunOf?.(req);
              if (gun !== undefined && context.policy.ownsRepository(p, gun)) return next();
              throw new CountersignError(
                'forbidden',
                `This needs the role admin or reviewer${gunOf ? ' or ownership of the repository' : ''}; ${p.name} is a ${p.role}.`
              );
            },
          ];

    router.get(
      '/repositories/*gun/status',
      ...guard((req) => gunParam(req.params)),
      async (req, res) => {
        const gun = gunParam(req.params);
        if (gun === undefined || gunProblem(gun))
          throw new CountersignError('not_found', 'No such repository.');
        const entry = await o.index.refresh(gun);
        if (!entry) throw new CountersignError('not_found', `No trust data for ${gun}.`);
        res.json(gunStatus(entry, o.clock.now(), o.warnWithinMs));
      }
    );

    router.get('/expiring', ...guard(), async (req, res) => {
      const withinText = typeof req.query.within === 'string' ? req.query.within : DEFAULT_WITHIN;
      let withinMs: number;
      try {
        withinMs = parseDuration(withinText, 'within');
      } catch (err) {
        if (isCountersignError(err)) throw new CountersignError('bad_request', err.message);
        throw err;
      }
      let holders: Set<KeyHolder> | undefined;
      if (typeof req.query.keyHolder === 'string' && req.query.keyHolder !== '') {
        const asked = req.query.keyHolder.split(',');
        const unknown = asked.filter((h) => !(KEY_HOLDERS as readonly string[]).includes(h));
        if (unknown.length > 0)
          throw new CountersignError(
            'bad_request',
            `keyHolder must be a comma-separated list of ${KEY_HOLDERS.join(', ')}`
          );
        holders = new Set(asked as KeyHolder[]);
      }
      const now = o.clock.now();
      await o.index.sync(now);
      res.json({
        asOf: now.toISOString(),
        within: formatDuration(withinMs),
        roles: expiringRoles(o.index.all(), now, withinMs, o.warnWithinMs, holders),
      });
    });
  };
}

/** Express 5 gives a `*name` wildcard as its decoded segments. */
function gunParam(params: Record<string, string | string[] | undefined>): string | undefined {
  const g = params.gun;
  if (Array.isArray(g)) return g.length > 0 ? g.join('/') : undefined;
  return typeof g === 'string' && g !== '' ? g : undefined;
}
