/**
 * A job's page (docs/ui.md "Long work"): while the job runs, its progress in a status region that
 * /ui/assets/job.js keeps current (the only script of the UI, on this page only), a <progress> bar
 * and a plain link to check again without script; once it ended, the result — published, with
 * the public repository to open, or the error.
 */
import type { StoredJob } from '../../storage/work-types.js';
import { html, urlPart, type SafeHtml } from '../html.js';
import { jobKindTitle, jobPath, outcomeText, type JobOutcome } from '../job-outcome.js';
import { time } from '../layout.js';

export interface JobPageData {
  readonly job: StoredJob;
  readonly outcome: JobOutcome;
  /** `GUN:tag` of the job's submission, when the viewer may still read it. */
  readonly submissionLabel?: string;
}

/** `Approval and publish: running`. */
export function jobTitle(job: StoredJob, outcome: JobOutcome): string {
  const ended = outcome.kind === 'done' ? 'finished' : outcome.kind;
  return `${jobKindTitle(job.kind)}: ${ended}`;
}

export function jobPage(d: JobPageData): SafeHtml {
  const { job, outcome } = d;
  const sub = job.submission;
  const submission = sub
    ? html`<a href="/ui/submissions/${urlPart(sub)}">${d.submissionLabel ?? sub}</a>`
    : html`<span class="muted">—</span>`;
  return html`<dl class="facts">
      <dt>Submission</dt>
      <dd>${submission}</dd>
      <dt>Started by</dt>
      <dd>${job.owner}, ${time(new Date(job.createdAt).toISOString())}</dd>
      <dt>Job</dt>
      <dd class="mono">${job.id}</dd>
    </dl>
    ${outcome.kind === 'running' ? runningBody(job, outcome) : endedBody(job, outcome)}`;
}

function runningBody(job: StoredJob, o: Extract<JobOutcome, { kind: 'running' }>): SafeHtml {
  const self = jobPath(job.id);
  const bar = o.blobs
    ? html`<progress id="job-bar" max="${o.blobs.total}" value="${o.blobs.done}">
        ${o.blobs.done} of ${o.blobs.total}
      </progress>`
    : html`<progress id="job-bar">waiting</progress>`;
  return html`<div class="notice" id="job-status" role="status" data-progress="${self}/progress">
      <p id="job-text">${o.text}</p>
    </div>
    <p><label for="job-bar">Blobs done</label> ${bar}</p>
    <p>
      This page follows the job by itself and shows the result when it ends. Without script:
      <a href="${self}">check again</a>.
    </p>
    <script src="/ui/assets/job.js" defer></script>`;
}

function endedBody(job: StoredJob, o: JobOutcome): SafeHtml {
  const back = job.submission
    ? html`<p><a href="/ui/submissions/${urlPart(job.submission)}">Back to the submission</a></p>`
    : '';
  if (o.kind === 'published')
    return html`<div class="notice" role="status">
        <p>
          <span class="pass">Published</span> ${o.publicGun}:${o.tag} into
          <a href="/ui/trust/repository?gun=${urlPart(o.publicGun)}">${o.publicGun}</a> (targets
          version ${o.targetsVersion}).
        </p>
      </div>
      ${back}`;
  if (o.kind === 'failed')
    return html`<div class="notice error" role="alert">
        <p><span class="fail">Failed</span> (${o.code}): ${o.message}</p>
      </div>
      ${back}`;
  return html`<div class="notice" role="status">
      <p>${outcomeText(o)}</p>
    </div>
    ${back}`;
}
