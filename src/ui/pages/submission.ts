/**
 * The submission page: what is certified, every verification and policy check, the
 * vulnerability report, what the checks recorded about the image, the history, quorum progress
 * and — for a reviewer who may decide — the waive and approve/reject forms; for an admin, publish
 * (when approved and not published), and for the publisher, verify again (before any review);
 * the submission's jobs the viewer may read (./jobs.ts), a running one also at the top.
 */
import type { Principal } from '../../auth/principal.js';
import { SEVERITIES } from '../../policy/types.js';
import { LIFECYCLE } from '../../store/lifecycle.js';
import type { SubmissionView } from '../../store/submission.js';
import type { Finding } from '../findings.js';
import type { ImageView, PlatformView } from '../image.js';
import { html, joinHtml, urlPart, type SafeHtml } from '../html.js';
import { csrfField, passFail, time } from '../layout.js';
import { needsReviewBy, quorumText } from '../queue.js';
import type { StoredJob } from '../../storage/work-types.js';
import { healthcheckRunSection, type HealthcheckJobView } from './healthcheck-run.js';
import { jobsSection, runningNotice } from './jobs.js';

export interface SubmissionPageData {
  readonly sub: SubmissionView;
  readonly viewer: Principal;
  readonly csrf: string;
  readonly approvals: number;
  /** Findings of the last attached report (absent without one, or if it could not be read). */
  readonly findings?: readonly Finding[];
  /** The image read from the staging registry; null without one (absent: no target). */
  readonly image?: ImageView | null;
  /** The job of a pending `healthcheck-run` (absent otherwise). */
  readonly healthcheckJob?: HealthcheckJobView;
  /** The submission's jobs the viewer may read, newest first, and how many are shown at most. */
  readonly jobs: { readonly list: readonly StoredJob[]; readonly shownAtMost: number };
}

/** The checks whose detail describes the image itself (src/policy/hygiene.ts, the registry's). */
const IMAGE_FACTS: readonly [string, string][] = [
  ['registry-manifest', 'Manifest and platforms'],
  ['registry-blobs', 'Config and layers in the registry'],
  ['size', 'Size'],
  ['layers', 'Layers'],
  ['user', 'User'],
  ['labels', 'Labels'],
  ['healthcheck', 'Health check'],
];

function summary(s: SubmissionView, approvals: number): SafeHtml {
  const t = s.target;
  return html`<dl class="facts">
    <dt>State</dt>
    <dd><strong>${s.state}</strong></dd>
    <dt>Quorum</dt>
    <dd class="quorum">${quorumText(s, approvals)}</dd>
    <dt>Staging GUN</dt>
    <dd class="mono">${s.gun}</dd>
    <dt>Public GUN</dt>
    <dd class="mono">${s.publicGun}</dd>
    <dt>Tag</dt>
    <dd class="mono">${s.tag}</dd>
    <dt>Digest</dt>
    <dd class="mono">${t?.digest ?? '—'}</dd>
    <dt>Size</dt>
    <dd>${t ? `${t.length} bytes` : '—'}</dd>
    <dt>Signed by role</dt>
    <dd class="mono">${t?.role ?? '—'}</dd>
    <dt>Submitted by</dt>
    <dd>${s.submitter}, ${time(s.createdAt)}</dd>
  </dl>`;
}

function checksTable(
  caption: string,
  checks: readonly {
    name: string;
    passed: boolean;
    detail: string;
    inconclusive?: true;
    waived?: { by: string; reason: string; at: string };
  }[]
): SafeHtml {
  if (checks.length === 0) return html`<p class="muted">None recorded.</p>`;
  return html`<table>
    <caption class="muted">
      ${caption}
    </caption>
    <thead>
      <tr>
        <th scope="col">Check</th>
        <th scope="col">Result</th>
        <th scope="col">Detail</th>
      </tr>
    </thead>
    <tbody>
      ${joinHtml(
        checks,
        (c) =>
          html`<tr>
            <th scope="row">${c.name}</th>
            <td>
              ${
                c.inconclusive
                  ? html`<span class="warn">inconclusive</span>`
                  : c.waived
                    ? html`<span class="warn">waived</span>`
                    : passFail(c.passed)
              }
            </td>
            <td>
              ${c.detail}${c.waived ? html`<br /><span class="muted">Waived by ${c.waived.by} at ${time(c.waived.at)}: ${c.waived.reason}</span>` : ''}
            </td>
          </tr>`
      )}
    </tbody>
  </table>`;
}

function waiveForms(d: SubmissionPageData): SafeHtml {
  const { sub } = d;
  if (d.viewer.role === 'publisher' || sub.state !== 'verified' || sub.submitter === d.viewer.name)
    return html``;
  const open = sub.policy.checks.filter((c) => !c.passed && !c.waived && !c.inconclusive);
  return joinHtml(
    open,
    (c) =>
      html`<form class="stack" method="post" action="/ui/submissions/${urlPart(sub.id)}/waive">
        ${csrfField(d.csrf)}<input type="hidden" name="check" value="${c.name}" />
        <label for="waive-${c.name}">Reason to waive <span class="mono">${c.name}</span></label>
        <textarea id="waive-${c.name}" name="reason" required maxlength="4096" rows="2"></textarea>
        <button type="submit">Waive ${c.name}</button>
      </form>`
  );
}

function vulnerabilities(d: SubmissionPageData): SafeHtml {
  const report = d.sub.reports?.at(-1);
  if (!report) return html`<p class="muted">No vulnerability report attached.</p>`;
  const findings = d.findings ?? [];
  return html`<p>
      ${report.format} report <span class="mono">sha256:${report.sha256}</span>, ${report.findings}
      finding(s), attached by ${report.by} at ${time(report.at)}.
    </p>
    <table>
      <caption class="muted">
        Findings by severity
      </caption>
      <thead>
        <tr>
          ${joinHtml(SEVERITIES, (s) => html`<th scope="col">${s}</th>`)}
        </tr>
      </thead>
      <tbody>
        <tr>
          ${joinHtml(SEVERITIES, (s) => html`<td>${report.counts[s] ?? 0}</td>`)}
        </tr>
      </tbody>
    </table>
    ${
      findings.length === 0
        ? ''
        : html`<table>
            <caption class="muted">
              Findings, most severe first
            </caption>
            <thead>
              <tr>
                <th scope="col">Vulnerability</th>
                <th scope="col">Severity</th>
                <th scope="col">Package</th>
                <th scope="col">Installed</th>
                <th scope="col">Fixed in</th>
              </tr>
            </thead>
            <tbody>
              ${joinHtml(
                findings,
                (f) =>
                  html`<tr>
                    <td class="mono">${f.id}</td>
                    <td>${f.severity}</td>
                    <td class="mono">${f.pkg}</td>
                    <td class="mono">${f.version}</td>
                    <td class="mono">${f.fixedIn}</td>
                  </tr>`
              )}
            </tbody>
          </table>`
    }`;
}

function imageFromChecks(s: SubmissionView): SafeHtml {
  const all = [...s.verification.checks, ...s.policy.checks];
  const facts = IMAGE_FACTS.map(([name, label]) => ({
    label,
    check: all.find((c) => c.name === name),
  })).filter((f) => f.check !== undefined);
  if (facts.length === 0)
    return html`<p class="muted">
      No registry is configured for this zone, so nothing was read about the image itself.
    </p>`;
  return html`<dl class="facts">
    ${joinHtml(
      facts,
      (f) =>
        html`<dt>${f.label}</dt>
          <dd>${f.check!.detail}</dd>`
    )}
  </dl>`;
}

function platformFacts(p: PlatformView): SafeHtml {
  return html`<h3>Platform ${p.platform}</h3>
    <dl class="facts">
      <dt>Manifest</dt>
      <dd class="mono">${p.manifestDigest}</dd>
      <dt>Size</dt>
      <dd>${p.compressedBytes} compressed bytes (config and ${p.layers.length} layer(s))</dd>
      <dt>User</dt>
      <dd class="mono">${p.user}</dd>
      <dt>Health check</dt>
      <dd class="mono">${p.healthcheck ? p.healthcheck.join(' ') : '(none)'}</dd>
      <dt>Labels</dt>
      <dd>
        ${
          p.labels.length === 0
            ? '(none)'
            : html`<ul class="mono">
                ${joinHtml(p.labels, ([k, v]) => html`<li>${k}=${v}</li>`)}
              </ul>`
        }
      </dd>
    </dl>
    <table>
      <caption class="muted">
        Layers of ${p.platform}, bottom first
      </caption>
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">Digest</th>
          <th scope="col">Size</th>
        </tr>
      </thead>
      <tbody>
        ${joinHtml(
          p.layers.map((l, i) => ({ ...l, n: i + 1 })),
          (l) =>
            html`<tr>
              <td>${l.n}</td>
              <td class="mono">${l.digest}</td>
              <td>${l.size}</td>
            </tr>`
        )}
      </tbody>
    </table>`;
}

function image(d: SubmissionPageData): SafeHtml {
  const view = d.image;
  if (view?.ok) return joinHtml(view.platforms, platformFacts);
  const note = view
    ? html`<p class="notice">
        The staging registry could not be read just now (${view.reason}); what the checks recorded:
      </p>`
    : '';
  return html`${note}${imageFromChecks(d.sub)}`;
}

interface HistoryEvent {
  readonly at: string;
  readonly who: string;
  readonly what: string;
}

export function historyOf(s: SubmissionView): HistoryEvent[] {
  const e: HistoryEvent[] = [{ at: s.createdAt, who: s.submitter, what: 'submitted' }];
  if (s.verification.at)
    e.push({ at: s.verification.at, who: 'countersign', what: 'verified the trust data' });
  for (const r of s.reports ?? [])
    e.push({ at: r.at, who: r.by, what: `attached a ${r.format} report` });
  for (const c of s.policy.checks)
    if (c.waived)
      e.push({ at: c.waived.at, who: c.waived.by, what: `waived ${c.name}: ${c.waived.reason}` });
  for (const r of s.reviews)
    e.push({
      at: r.at,
      who: r.reviewer,
      what: `${r.decision === 'approve' ? 'approved' : 'rejected'}${r.note ? `: ${r.note}` : ''}`,
    });
  if (s.publishError)
    e.push({
      at: s.publishError.at,
      who: 'countersign',
      what: `publish refused: ${s.publishError.message}`,
    });
  if (s.published)
    e.push({
      at: s.published.at,
      who: s.published.by,
      what: `published as targets version ${s.published.targetsVersion}`,
    });
  if (s.revoked)
    e.push({ at: s.revoked.at, who: s.revoked.by, what: `revoked: ${s.revoked.reason}` });
  return e.sort((a, b) => a.at.localeCompare(b.at));
}

/** Approve / reject, then the forms that start long work (run as jobs: docs/ui.md "Long work"). */
function decision(d: SubmissionPageData): SafeHtml {
  const forms = [reviewForm(d), publishForm(d), verifyForm(d)].filter((f) => f !== null);
  if (forms.length === 0) return html`<p class="muted">Nothing for you to decide here.</p>`;
  return joinHtml(forms, (f) => f);
}

/** An approved submission the store has not published (a refused publish, or no autoPublish). */
function publishForm(d: SubmissionPageData): SafeHtml | null {
  const s = d.sub;
  if (d.viewer.role !== 'admin' || !LIFECYCLE.publish.from.includes(s.state)) return null;
  return html`<form class="stack" method="post" action="/ui/submissions/${urlPart(s.id)}/publish">
    ${csrfField(d.csrf)}
    <p>
      Approved and not
      published${s.publishError ? html`: the store refused the publish at ${time(s.publishError.at)} (${s.publishError.message})` : ''}.
      Publishing copies the image into the public registry and signs it; it runs as a job.
    </p>
    <div><button type="submit">Publish</button></div>
  </form>`;
}

/** Before any review, the publisher (or an admin) may have the image verified again. */
function verifyForm(d: SubmissionPageData): SafeHtml | null {
  const s = d.sub;
  if (d.viewer.role === 'reviewer' || s.reviews.length > 0) return null;
  if (!LIFECYCLE.verify.from.includes(s.state)) return null;
  return html`<form class="stack" method="post" action="/ui/submissions/${urlPart(s.id)}/verify">
    ${csrfField(d.csrf)}
    <p>Verification reads the trust data and the image in the registry again; it runs as a job.</p>
    <div><button type="submit">Verify again</button></div>
  </form>`;
}

function reviewForm(d: SubmissionPageData): SafeHtml | null {
  if (!needsReviewBy(d.viewer, d.sub)) return null;
  return html`<form
    class="stack"
    method="post"
    action="/ui/submissions/${urlPart(d.sub.id)}/review"
  >
    ${csrfField(d.csrf)}
    <label for="review-note">Note (required to reject)</label>
    <textarea id="review-note" name="note" maxlength="4096" rows="3"></textarea>
    <div>
      <button type="submit" name="decision" value="approve">Approve</button>
      <button type="submit" name="decision" value="reject" class="danger">Reject</button>
    </div>
  </form>`;
}

export function submissionPage(d: SubmissionPageData): SafeHtml {
  const s = d.sub;
  const published = s.published
    ? html`<p class="notice">
        Published into
        <a href="/ui/trust/repository?gun=${urlPart(s.publicGun)}">${s.publicGun}</a> (targets
        version ${s.published.targetsVersion}).
      </p>`
    : '';
  return html`${published}${runningNotice(d.jobs.list)}${summary(s, d.approvals)}
    <h2>Verification</h2>
    ${checksTable('Verification checks, in the order they ran', s.verification.checks)}
    <h2>Policy</h2>
    ${checksTable('Review policy checks', s.policy.checks)}${waiveForms(d)}
    ${healthcheckRunSection(
      s.policy.checks.find((c) => c.name === 'healthcheck-run'),
      d.healthcheckJob
    )}
    <h2>Vulnerabilities</h2>
    ${vulnerabilities(d)}
    <h2>Image</h2>
    ${image(d)}
    <h2>History</h2>
    <ol>
      ${joinHtml(historyOf(s), (e) => html`<li>${time(e.at)} <strong>${e.who}</strong> ${e.what}</li>`)}
    </ol>
    ${jobsSection(d.jobs.list, d.jobs.shownAtMost)}
    <h2>Decision</h2>
    ${decision(d)}`;
}
