/**
 * A submission's jobs as the review UI lists them (docs/ui.md "What a reviewer sees"): the Jobs
 * section of the submission page, the notice at its top while one runs, and the queue's marker
 * on a submission with a running job. Which jobs a viewer gets is decided before (JobRunner's read
 * rule); this module only says what each is, in the words of its job page (job-outcome.ts).
 */
import type { StoredJob } from '../../storage/work-types.js';
import { html, joinHtml, type SafeHtml } from '../html.js';
import { jobKindTitle, jobOutcome, jobPath, outcomeText, type JobOutcome } from '../job-outcome.js';
import { time } from '../layout.js';

/** How a running job of each kind is named on the queue: what the submission is going through. */
const RUNNING_WORDS: Readonly<Record<string, string>> = {
  review: 'publishing…',
  publish: 'publishing…',
  verify: 'verifying…',
  healthcheck: 'running the health check…',
};

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The queue's marker: a link to the job, saying what the submission is going through. */
export function runningMarker(job: StoredJob): SafeHtml {
  const words = RUNNING_WORDS[job.kind] ?? 'a job is running…';
  return html`<a class="running" href="${jobPath(job.id)}">${words}</a>`;
}

/** At the top of the submission page: every running job, so no one starts the same work twice. */
export function runningNotice(jobs: readonly StoredJob[]): SafeHtml {
  const running = jobs.filter((j) => j.state === 'running');
  if (running.length === 0) return html``;
  return html`<div class="notice" id="jobs-running">
    ${joinHtml(
      running,
      (j) =>
        html`<p>
          <span class="running">Running now:</span>
          <a href="${jobPath(j.id)}">${jobKindTitle(j.kind)}</a>, started by ${j.owner}
          ${time(iso(j.createdAt))}.
        </p>`
    )}
  </div>`;
}

/** The Jobs section: newest first, running ones marked, each linking to its page. */
export function jobsSection(jobs: readonly StoredJob[], shownAtMost: number): SafeHtml {
  const heading = html`<h2 id="jobs">Jobs</h2>`;
  if (jobs.length === 0)
    return html`${heading}
      <p class="muted">No jobs you may see.</p>`;
  const running = jobs.filter((j) => j.state === 'running').length;
  return html`${heading}
    <table>
      <caption class="muted">
        The newest ${jobs.length === shownAtMost ? `${shownAtMost} ` : ''}jobs you may see, newest
        first${running > 0 ? `; ${running} running` : ''}
      </caption>
      <thead>
        <tr>
          <th scope="col">Job</th>
          <th scope="col">State</th>
          <th scope="col">Started by</th>
          <th scope="col">Started</th>
          <th scope="col">Ended</th>
        </tr>
      </thead>
      <tbody>
        ${joinHtml(jobs, jobRow)}
      </tbody>
    </table>`;
}

function jobRow(job: StoredJob): SafeHtml {
  const outcome = jobOutcome(job);
  // A running job's words begin with "Running"; an ended job's are its page's result.
  const state =
    outcome.kind === 'running'
      ? html`<strong class="running">${outcome.text}</strong>`
      : html`Ended: ${ended(outcome)}`;
  return html`<tr class="${job.state === 'running' ? 'job-running' : 'job-ended'}">
    <th scope="row"><a href="${jobPath(job.id)}">${jobKindTitle(job.kind)}</a></th>
    <td>${state}</td>
    <td>${job.owner}</td>
    <td>${time(iso(job.createdAt))}</td>
    <td>
      ${job.finishedAt === null ? html`<span class="muted">not yet</span>` : time(iso(job.finishedAt))}
    </td>
  </tr>`;
}

/** How an ended job ended; a publish and a failure marked as the job page marks them. */
function ended(outcome: Exclude<JobOutcome, { kind: 'running' }>): SafeHtml {
  const words = outcomeText(outcome);
  if (outcome.kind === 'published') return html`<span class="pass">${words}</span>`;
  if (outcome.kind === 'failed') return html`<span class="fail">${words}</span>`;
  return html`${words}`;
}
