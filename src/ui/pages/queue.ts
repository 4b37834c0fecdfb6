/**
 * The queue page: filters, counts per state, "needs me", and the submissions oldest first, each
 * marked while a job the viewer may read runs for it.
 */
import type { Principal } from '../../auth/principal.js';
import type { StoredJob } from '../../storage/work-types.js';
import { SUBMISSION_STATES } from '../../store/submission.js';
import { html, joinHtml, urlPart, type SafeHtml } from '../html.js';
import { time } from '../layout.js';
import { AGE_CHOICES, quorumText, type Queue, type QueueFilter } from '../queue.js';
import { runningMarker } from './jobs.js';

function filterHref(f: QueueFilter, change: Partial<Record<'state' | 'mine', string>>): string {
  const q: [string, string][] = [];
  const state = 'state' in change ? change.state : f.state;
  if (state) q.push(['state', state]);
  if (f.publisher) q.push(['publisher', f.publisher]);
  if (f.gun) q.push(['gun', f.gun]);
  if (f.age) q.push(['age', f.age]);
  if (('mine' in change ? change.mine : f.needsMe ? '1' : '') === '1') q.push(['mine', '1']);
  return `/ui/?${q.map(([k, v]) => `${k}=${urlPart(v)}`).join('&')}`;
}

function filters(f: QueueFilter): SafeHtml {
  return html`<form
    class="filters"
    method="get"
    action="/ui/"
    role="search"
    aria-label="Filter submissions"
  >
    <label
      >State<select name="state">
        <option value="">every state</option>
        ${joinHtml(
          SUBMISSION_STATES,
          (s) => html`<option value="${s}" ${f.state === s ? html` selected` : ''}>${s}</option>`
        )}
      </select></label
    >
    <label
      >Publisher<input name="publisher" value="${f.publisher ?? ''}" autocomplete="off"
    /></label>
    <label>GUN contains<input name="gun" value="${f.gun ?? ''}" autocomplete="off" /></label>
    <label
      >Age<select name="age">
        ${joinHtml(
          AGE_CHOICES,
          (a) =>
            html`<option value="${a.value}" ${f.age === a.value ? html` selected` : ''}>
              ${a.label}
            </option>`
        )}
      </select></label
    >
    <label
      ><span>Needs me</span
      ><input type="checkbox" name="mine" value="1" ${f.needsMe ? html` checked` : ''}
    /></label>
    <button type="submit">Filter</button>
  </form>`;
}

/**
 * `running`: per submission, the newest running job the viewer may read (its row links to it).
 */
export function queuePage(
  q: Queue,
  p: Principal,
  approvals: number,
  running: ReadonlyMap<string, StoredJob>
): SafeHtml {
  const counts = html`<ul class="counts" aria-label="Submissions per state">
    ${
      p.role === 'publisher'
        ? ''
        : html`<li>
            <a href="${filterHref(q.filter, { mine: '1', state: '' })}"
              >needs me: <strong>${q.needsMe}</strong></a
            >
          </li>`
    }
    ${joinHtml(
      SUBMISSION_STATES,
      (s) =>
        html`<li>
          <a
            href="${filterHref(q.filter, { state: s })}"
            ${q.filter.state === s ? html` aria-current="true"` : ''}
            >${s}: <strong>${q.counts[s]}</strong></a
          >
        </li>`
    )}
  </ul>`;
  const rows =
    q.rows.length === 0
      ? html`<p class="notice">No submissions match.</p>`
      : html`<table>
          <caption class="muted">
            ${q.rows.length} submission${q.rows.length === 1 ? '' : 's'}, oldest first
          </caption>
          <thead>
            <tr>
              <th scope="col">Submission</th>
              <th scope="col">State</th>
              <th scope="col">Publisher</th>
              <th scope="col">Submitted</th>
              <th scope="col">Quorum</th>
            </tr>
          </thead>
          <tbody>
            ${joinHtml(q.rows, (s) => {
              const job = running.get(s.id);
              return html`<tr>
                <td><a href="/ui/submissions/${urlPart(s.id)}">${s.gun}:${s.tag}</a></td>
                <td>${s.state}${job ? html`, ${runningMarker(job)}` : ''}</td>
                <td>${s.submitter}</td>
                <td>${time(s.createdAt)}</td>
                <td>${quorumText(s, approvals)}</td>
              </tr>`;
            })}
          </tbody>
        </table>`;
  return html`${filters(q.filter)}${counts}${rows}`;
}
