/**
 * The session and CSRF guards of the UI's routes. `withSession` finds the signed-in account
 * (sending a page request without one to the login form), re-reads the account so a removed or
 * changed account takes effect at once, and sets the rotated cookie; `requireCsrf` refuses a
 * state-changing request whose form token does not match the session's, before anything runs.
 */
import type { RequestHandler, Response } from 'express';
import { principalOf, type Principal } from '../auth/principal.js';
import { CountersignError } from '../errors.js';
import type { AccountStore } from '../storage/types.js';
import { cookieHeader, cookieNames, readCookie } from './cookies.js';
import { CSRF_FIELD, csrfMatches } from './csrf.js';
import { overTls } from './security.js';
import type { UiSessions } from './sessions.js';

export interface Viewer {
  readonly principal: Principal;
  readonly csrf: string;
  readonly token: string;
}

export function viewerOf(res: Response): Viewer {
  const v = res.locals.viewer as Viewer | undefined;
  if (v === undefined) throw new CountersignError('unauthorized', 'Log in first.');
  return v;
}

export function optionalViewer(res: Response): Viewer | undefined {
  return res.locals.viewer as Viewer | undefined;
}

export function withSession(sessions: UiSessions, accounts: AccountStore): RequestHandler {
  return async (req, res, next) => {
    const secure = overTls(req);
    const names = cookieNames(secure);
    const session = await sessions.resume(readCookie(req.headers.cookie, names.session));
    const account = session ? await accounts.get(session.account) : null;
    if (session === null || account === null) {
      if (session) await sessions.end(session.token);
      if (req.method === 'GET' || req.method === 'HEAD') {
        res.redirect(303, '/ui/login');
        return;
      }
      throw new CountersignError('forbidden', 'No session: log in again (nothing was changed).');
    }
    if (session.rotated)
      res.append(
        'Set-Cookie',
        cookieHeader(names.session, session.token, {
          secure,
          maxAgeSeconds: Math.floor(sessions.idleMs / 1000),
        })
      );
    const viewer: Viewer = {
      principal: principalOf(account),
      csrf: session.csrf,
      token: session.token,
    };
    res.locals.viewer = viewer;
    // The request log line names the account, as for the store API (src/http/web.ts).
    res.locals.principal = viewer.principal;
    next();
  };
}

/** After `withSession` and the form parser: 403 unless the form carries this session's token. */
export const requireCsrf: RequestHandler = (req, res, next) => {
  const body = req.body as Record<string, unknown> | undefined;
  if (!csrfMatches(viewerOf(res).csrf, body?.[CSRF_FIELD]))
    throw new CountersignError(
      'forbidden',
      'The form is stale or came from another site (CSRF token missing or wrong); nothing was changed.'
    );
  next();
};
