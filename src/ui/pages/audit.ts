/** The audit view (admins): the chain's verification status, then the entries a page at a time. */
import type { AuditVerification } from '../../store/audit.js';
import type { AuditEntryView } from '../../store/service.js';
import { html, joinHtml, type SafeHtml } from '../html.js';
import { time } from '../layout.js';

export const AUDIT_PAGE = 100;

export function auditPage(
  status: AuditVerification,
  entries: readonly AuditEntryView[],
  after: number
): SafeHtml {
  const verdict = status.ok
    ? html`<p class="notice" role="status">
        <span class="pass">Chain verified</span>: ${status.entries} entries, each hash chains to the
        one before.
      </p>`
    : html`<p class="notice error" role="alert">
        <span class="fail">Chain broken</span> at entry ${status.firstBroken}:
        ${status.reason ?? ''}
      </p>`;
  const last = entries.at(-1)?.id;
  return html`${verdict}
    <table>
      <caption class="muted">
        Entries after ${after}, oldest first
      </caption>
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">When</th>
          <th scope="col">Actor</th>
          <th scope="col">Action</th>
          <th scope="col">Subject</th>
          <th scope="col">Details</th>
        </tr>
      </thead>
      <tbody>
        ${joinHtml(
          entries,
          (e) =>
            html`<tr>
              <td>${e.id}</td>
              <td>${time(e.at === 'invalid' ? null : e.at)}</td>
              <td>${e.actor}</td>
              <td class="mono">${e.action}</td>
              <td class="mono">${e.subject}</td>
              <td>
                <details>
                  <summary>details</summary>
                  <pre class="mono">${JSON.stringify(e.details, null, 2)}</pre>
                  <p class="mono">hash ${e.hash}</p>
                </details>
              </td>
            </tr>`
        )}
      </tbody>
    </table>
    ${after > 0 ? html`<a href="/ui/audit?after=${Math.max(0, after - AUDIT_PAGE)}">Previous page</a> ` : ''}
    ${entries.length === AUDIT_PAGE && last !== undefined ? html`<a href="/ui/audit?after=${last}">Next page</a>` : ''}`;
}
