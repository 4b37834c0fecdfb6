/**
 * The frame of every page: a skip link, the navigation (the current page marked with
 * aria-current), who is signed in with a logout form, and the main landmark. Everything is
 * reachable with the keyboard in document order; no script.
 */
import type { Principal } from '../auth/principal.js';
import { CSRF_FIELD } from './csrf.js';
import { html, joinHtml, type SafeHtml } from './html.js';

export type Section = 'queue' | 'trust' | 'audit' | 'login' | 'error';

export interface PageFrame {
  readonly title: string;
  readonly section: Section;
  /** Absent on the login page and on errors before login. */
  readonly viewer?: { readonly principal: Principal; readonly csrf: string };
  readonly body: SafeHtml;
}

const NAV: readonly { section: Section; href: string; label: string; admin?: true }[] = [
  { section: 'queue', href: '/ui/', label: 'Queue' },
  { section: 'trust', href: '/ui/trust', label: 'Trust browser' },
  { section: 'audit', href: '/ui/audit', label: 'Audit', admin: true },
];

/** A hidden CSRF field for a form of this session. */
export function csrfField(csrf: string): SafeHtml {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${csrf}" />`;
}

export function page(f: PageFrame): SafeHtml {
  const v = f.viewer;
  const links = NAV.filter((n) => !n.admin || v?.principal.role === 'admin');
  const nav = v
    ? html`<nav aria-label="Main">
          <ul>
            ${joinHtml(
              links,
              (n) =>
                html`<li>
                  <a href="${n.href}" ${n.section === f.section ? html` aria-current="page"` : ''}
                    >${n.label}</a
                  >
                </li>`
            )}
          </ul>
        </nav>
        <div class="who">
          <span>${v.principal.name} (${v.principal.role})</span>
          <form method="post" action="/ui/logout">
            ${csrfField(v.csrf)}<button type="submit" class="link">Log out</button>
          </form>
        </div>`
    : '';
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${f.title} · Countersign</title>
        <link rel="stylesheet" href="/ui/assets/ui.css" />
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top"><strong>Countersign review</strong>${nav}</header>
        <main id="main" tabindex="-1">
          <h1>${f.title}</h1>
          ${f.body}
        </main>
      </body>
    </html>`;
}

/** "3 minutes ago"-free times: ISO 8601 in UTC, as the audit log writes them, in a <time>. */
export function time(iso: string | undefined | null): SafeHtml {
  if (!iso) return html`<span class="muted">—</span>`;
  return html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>`;
}

export function passFail(passed: boolean, label?: string): SafeHtml {
  return passed
    ? html`<span class="pass">${label ?? 'passed'}</span>`
    : html`<span class="fail">${label ?? 'failed'}</span>`;
}
