/** The login form and the plain message pages (errors, "logged out"). */
import { CSRF_FIELD } from '../csrf.js';
import { html, type SafeHtml } from '../html.js';

export function loginForm(loginToken: string, message?: string): SafeHtml {
  return html`${message ? html`<p class="notice error" role="alert">${message}</p>` : ''}
    <form class="stack" method="post" action="/ui/login">
      <input type="hidden" name="${CSRF_FIELD}" value="${loginToken}" />
      <label for="username">Account</label
      ><input id="username" name="username" autocomplete="username" required maxlength="128" />
      <label for="password">Password</label
      ><input
        id="password"
        name="password"
        type="password"
        autocomplete="current-password"
        required
        maxlength="1024"
      />
      <button type="submit">Log in</button>
    </form>`;
}

export function messageBody(message: string, back?: { href: string; label: string }): SafeHtml {
  return html`<p class="notice error" role="alert">${message}</p>
    ${back ? html`<p><a href="${back.href}">${back.label}</a></p>` : ''}`;
}
