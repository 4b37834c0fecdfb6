/**
 * The access decision a route asks for, before it does anything (docs/protocol.md §7.3). The Notary
 * router declares what each route needs; an AccessControl (`notary-access.ts`) decides. Decisions may be
 * synchronous so the hot read path never waits for a promise when it need not.
 */
import type { IncomingMessage } from 'node:http';
import type { NotaryDetail } from '../errors.js';

export type Action = 'pull' | 'push' | '*';

export interface RequiredAccess {
  readonly type: 'repository' | 'registry';
  /** The GUN, or `catalog` for the registry type. */
  readonly name: string;
  readonly actions: readonly Action[];
}

export type AccessDecision =
  | { readonly ok: true; readonly subject?: string }
  | {
      readonly ok: false;
      /** 401 with a challenge (Notary routes always answer 401 so clients retry with credentials). */
      readonly status: 401 | 403;
      readonly headers: Readonly<Record<string, string>>;
      /** Notary's UNAUTHORIZED detail: the accesses that were required. */
      readonly detail: NotaryDetail;
    };

export interface AccessControl {
  authorize(
    req: IncomingMessage,
    required: readonly RequiredAccess[]
  ): AccessDecision | Promise<AccessDecision>;
}

/** No auth configured: everyone may do everything (a notary-server without an `auth` section). */
export const openAccess: AccessControl = { authorize: () => ALLOWED };
const ALLOWED: AccessDecision = { ok: true };

export function repository(gun: string, ...actions: Action[]): RequiredAccess {
  return { type: 'repository', name: gun, actions };
}

export const CATALOG: RequiredAccess = { type: 'registry', name: 'catalog', actions: ['*'] };
