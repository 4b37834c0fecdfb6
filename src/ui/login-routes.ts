/**
 * GET/POST /ui/login and POST /ui/logout. Passwords go through the auth layer's PasswordLogin
 * (src/auth/login.ts), so the UI shares the token endpoint's rate limits and hash slots. The
 * login form itself is guarded against login CSRF by a short-lived pre-session cookie whose value
 * the form must repeat.
 */
import type { Request, Response, Router } from 'express';
import type { PasswordLogin } from '../auth/login.js';
import { retryAfterSeconds } from '../auth/login.js';
import { cookieHeader, cookieNames, readCookie } from './cookies.js';
import { CSRF_FIELD, csrfMatches, newCsrfToken } from './csrf.js';
import { page } from './layout.js';
import { loginForm } from './pages/login.js';
import { overTls } from './security.js';
import type { UiSessions } from './sessions.js';
import { requireCsrf, viewerOf } from './session-middleware.js';
import type { RequestHandler } from 'express';

export interface LoginRoutesOptions {
  readonly sessions: UiSessions;
  readonly login: PasswordLogin;
  readonly clientAddress: (req: Request) => string;
  readonly form: RequestHandler;
  readonly session: RequestHandler;
}

const LOGIN_FORM_SECONDS = 15 * 60;

function showForm(req: Request, res: Response, status: number, message?: string): void {
  const secure = overTls(req);
  const token = newCsrfToken();
  res.append(
    'Set-Cookie',
    cookieHeader(cookieNames(secure).login, token, { secure, maxAgeSeconds: LOGIN_FORM_SECONDS })
  );
  res
    .status(status)
    .type('html')
    .send(page({ title: 'Log in', section: 'login', body: loginForm(token, message) }).toString());
}

function field(body: unknown, name: string, max: number): string | undefined {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined;
}

export function loginRoutes(router: Router, o: LoginRoutesOptions): void {
  router.get('/login', (req, res) => showForm(req, res, 200));

  router.post('/login', o.form, async (req, res) => {
    const secure = overTls(req);
    const names = cookieNames(secure);
    if (
      !csrfMatches(
        readCookie(req.headers.cookie, names.login) ?? '',
        field(req.body, CSRF_FIELD, 64)
      )
    )
      return showForm(
        req,
        res,
        403,
        'The login form expired or came from another site; try again.'
      );
    const username = field(req.body, 'username', 128);
    const password = field(req.body, 'password', 1024);
    if (username === undefined || password === undefined)
      return showForm(req, res, 400, 'Enter an account name and a password.');
    const result = await o.login.login({ username, password }, o.clientAddress(req));
    if (!result.ok) {
      if (result.reason === 'invalid')
        return showForm(req, res, 401, 'Wrong account name or password.');
      res.set('Retry-After', retryAfterSeconds(result.retryAfterMs));
      return showForm(
        req,
        res,
        result.reason === 'busy' ? 503 : 429,
        result.reason === 'busy'
          ? 'Too many logins at once; try again shortly.'
          : 'Too many failed logins; try again later.'
      );
    }
    const session = await o.sessions.start(result.principal.name);
    res.append('Set-Cookie', cookieHeader(names.login, '', { secure, maxAgeSeconds: 0 }));
    res.append(
      'Set-Cookie',
      cookieHeader(names.session, session.token, {
        secure,
        maxAgeSeconds: Math.floor(o.sessions.idleMs / 1000),
      })
    );
    res.redirect(303, '/ui/');
  });

  router.post('/logout', o.session, o.form, requireCsrf, async (req, res) => {
    const secure = overTls(req);
    await o.sessions.end(viewerOf(res).token);
    res.append(
      'Set-Cookie',
      cookieHeader(cookieNames(secure).session, '', { secure, maxAgeSeconds: 0 })
    );
    res.redirect(303, '/ui/login');
  });
}
