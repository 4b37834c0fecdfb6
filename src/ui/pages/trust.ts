/** The trust browser: public repositories, one repository's tags, history, diff and expiries. */
import type { StoreRepository } from '../../storage/types.js';
import { html, joinHtml, urlPart, type SafeHtml } from '../html.js';
import { time } from '../layout.js';
import type { TagRow, TargetsDiff, TargetsVersion, TimelineRow } from '../trust.js';

export function repositoriesPage(repos: readonly StoreRepository[]): SafeHtml {
  if (repos.length === 0) return html`<p class="notice">The store has published nothing yet.</p>`;
  return html`<table>
    <caption class="muted">
      Public repositories the store signs
    </caption>
    <thead>
      <tr>
        <th scope="col">Repository</th>
        <th scope="col">Created</th>
        <th scope="col">Last changed</th>
      </tr>
    </thead>
    <tbody>
      ${joinHtml(
        repos,
        (r) =>
          html`<tr>
            <td><a href="/ui/trust/repository?gun=${urlPart(r.publicGun)}">${r.publicGun}</a></td>
            <td>${time(r.createdAt.toISOString())}</td>
            <td>${time(r.updatedAt.toISOString())}</td>
          </tr>`
      )}
    </tbody>
  </table>`;
}

export interface RepositoryPageData {
  readonly gun: string;
  readonly tags: readonly TagRow[];
  readonly history: readonly TargetsVersion[];
  readonly diff: TargetsDiff | null;
  readonly timeline: readonly TimelineRow[];
}

function provenance(custom: unknown): SafeHtml {
  if (custom === undefined) return html`<span class="muted">none</span>`;
  return html`<details>
    <summary>provenance</summary>
    <pre class="mono">${JSON.stringify(custom, null, 2)}</pre>
  </details>`;
}

function tagsTable(tags: readonly TagRow[]): SafeHtml {
  if (tags.length === 0) return html`<p class="muted">No tags are signed.</p>`;
  return html`<table>
    <caption class="muted">
      Current tags (the current targets file)
    </caption>
    <thead>
      <tr>
        <th scope="col">Tag</th>
        <th scope="col">Digest</th>
        <th scope="col">Size</th>
        <th scope="col">Signing role</th>
        <th scope="col">Provenance (custom)</th>
      </tr>
    </thead>
    <tbody>
      ${joinHtml(
        tags,
        (t) =>
          html`<tr>
            <th scope="row" class="mono">${t.tag}</th>
            <td class="mono">${t.digest}</td>
            <td>${t.length}</td>
            <td class="mono">${t.role}</td>
            <td>${provenance(t.custom)}</td>
          </tr>`
      )}
    </tbody>
  </table>`;
}

function versionSelect(
  name: string,
  label: string,
  history: readonly TargetsVersion[],
  selected: number | undefined
): SafeHtml {
  const empty =
    name === 'from'
      ? html`<option value="0" ${selected === 0 ? html` selected` : ''}>0 (nothing signed)</option>`
      : '';
  return html`<label
    >${label}<select name="${name}">
      ${empty}${joinHtml(
        history,
        (h) =>
          html`<option value="${h.version}" ${h.version === selected ? html` selected` : ''}>
            ${h.version}
          </option>`
      )}
    </select></label
  >`;
}

function historySection(d: RepositoryPageData): SafeHtml {
  if (d.history.length === 0) return html`<p class="muted">No targets history.</p>`;
  const latest = d.history[0]?.version;
  const previous = d.history[1]?.version ?? 0;
  return html`<table>
      <caption class="muted">
        Targets versions, newest first
      </caption>
      <thead>
        <tr>
          <th scope="col">Version</th>
          <th scope="col">Written</th>
          <th scope="col">Expires</th>
          <th scope="col">Tags</th>
        </tr>
      </thead>
      <tbody>
        ${joinHtml(
          d.history,
          (h) =>
            html`<tr>
              <td>${h.version}</td>
              <td>${time(h.createdAt)}</td>
              <td>${h.expires}</td>
              <td>${h.tags}</td>
            </tr>`
        )}
      </tbody>
    </table>
    <form
      class="filters"
      method="get"
      action="/ui/trust/repository"
      aria-label="Compare two targets versions"
    >
      <input type="hidden" name="gun" value="${d.gun}" />
      ${versionSelect('from', 'From version', d.history, d.diff?.from ?? previous)}
      ${versionSelect('to', 'To version', d.history, d.diff?.to ?? latest)}
      <button type="submit">Compare</button>
    </form>
    ${d.diff ? diffTable(d.diff) : ''}`;
}

function diffTable(d: TargetsDiff): SafeHtml {
  const none = d.added.length + d.removed.length + d.changed.length === 0;
  return html`<h3>Targets ${d.from} → ${d.to}</h3>
    ${
      none
        ? html`<p class="muted">The two versions list the same targets.</p>`
        : html`<ul class="mono" aria-label="Differences">
            ${joinHtml(d.added, (r) => html`<li><ins>+ ${r.tag} ${r.digest} (${r.length})</ins></li>`)}
            ${joinHtml(d.removed, (r) => html`<li><del>− ${r.tag} ${r.digest} (${r.length})</del></li>`)}
            ${joinHtml(d.changed, (c) => html`<li><del>− ${c.before.tag} ${c.before.digest}</del> <ins>+ ${c.after.digest} (${c.after.length})</ins></li>`)}
          </ul>`
    }`;
}

function timeline(rows: readonly TimelineRow[]): SafeHtml {
  if (rows.length === 0) return html`<p class="muted">No expiry data.</p>`;
  return html`<ul class="timeline" aria-label="Role expiries">
    ${joinHtml(
      rows,
      (r) =>
        html`<li>
          <span class="mono">${r.role} v${r.version}</span>
          <span
            class="bar"
            role="img"
            aria-label="${r.role}: ${Math.floor(r.secondsLeft / 86400)} days left"
            ><span
              class="w${r.secondsLeft > 0 ? Math.max(1, Math.round(r.percent / 5)) : 0}${r.soon ? ' soon' : ''}"
            ></span
          ></span>
          <span class="${r.soon ? 'fail' : ''}"
            >${r.expires} (${Math.floor(r.secondsLeft / 86400)} d, key:
            ${r.keyHolder})${r.soon ? ' — within the warning window' : ''}</span
          >
        </li>`
    )}
  </ul>`;
}

export function repositoryPage(d: RepositoryPageData): SafeHtml {
  return html`<p><a href="/ui/trust">All repositories</a></p>
    <h2>Tags</h2>
    ${tagsTable(d.tags)}
    <h2>Expiry timeline</h2>
    ${timeline(d.timeline)}
    <h2>History</h2>
    ${historySection(d)}`;
}
