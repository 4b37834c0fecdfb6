/**
 * The submission page's `healthcheck-run` section (docs/store.md "Health checks run in a
 * sandbox"): while pending, its job and where the run is; once decided, per platform the
 * verdict, the unpacked and compressed sizes, the declared user against /etc/passwd, the main
 * process's first output, and every probe — when it ran, its exit code, how long, what it wrote.
 */
import type { RunReport } from '../../sandbox/run.js';
import type { PolicyCheckRecord } from '../../store/submission.js';
import { html, joinHtml, type SafeHtml } from '../html.js';
import { jobPath } from '../job-outcome.js';
import { passFail, time } from '../layout.js';

/** The job of a pending run as the page shows it (src/jobs/runner.ts jobView, in short). */
export interface HealthcheckJobView {
  readonly id: string;
  readonly state: string;
  /** The progress line (`platform 1/1 linux/amd64: probe 2 …`), if it reported one. */
  readonly text?: string;
}

/** The output of a probe as the page shows it: the first KiB (the record keeps up to 4 KiB). */
const SHOWN_OUTPUT = 1024;

export function healthcheckRunSection(
  check: PolicyCheckRecord | undefined,
  job: HealthcheckJobView | undefined
): SafeHtml {
  if (!check) return html``;
  const jobLine = check.job
    ? html`<p>
        Job <a class="mono" href="${jobPath(check.job)}">${check.job}</a>${
          job
            ? html`: <span class="progress">${job.state}${job.text ? `, ${job.text}` : ''}</span>`
            : ''
        }
      </p>`
    : '';
  if (check.pending)
    return html`<h3>Health check run</h3>
      ${jobLine}
      <p class="notice" role="status">
        The image is running in the sandbox; reload this page for the verdict.
      </p>`;
  const platforms = check.evidence?.platforms ?? [];
  const notRun = check.evidence?.notRun ?? [];
  return html`<h3>Health check run</h3>
    ${jobLine}${joinHtml(platforms, platformRun)}${
      notRun.length > 0
        ? html`<p class="muted">
            Not run on this host: <span class="mono">${notRun.join(', ')}</span>
          </p>`
        : ''
    }`;
}

function platformRun(r: RunReport): SafeHtml {
  const user = r.user
    ? html`<span class="mono">${r.user.declared || 'root'}</span> (uid ${r.user.uid}),
        ${passFail(r.user.inPasswd, r.user.inPasswd ? 'in /etc/passwd' : 'not in /etc/passwd')}`
    : html`<span class="muted">—</span>`;
  return html`<h4>${r.platform}: ${passFail(r.passed, r.passed ? 'healthy' : 'failed')}</h4>
    <dl class="facts">
      <dt>Verdict</dt>
      <dd>${r.reason}</dd>
      <dt>Health check</dt>
      <dd class="mono">${r.healthcheck ? r.healthcheck.join(' ') : '—'}</dd>
      <dt>Size</dt>
      <dd>
        ${r.unpackedBytes !== undefined ? `${r.unpackedBytes} bytes unpacked` : '—'}${
          r.compressedBytes !== undefined ? `, ${r.compressedBytes} bytes compressed` : ''
        }
      </dd>
      <dt>User</dt>
      <dd>${user}</dd>
      <dt>Main process output</dt>
      <dd>
        ${
          r.mainOutput
            ? html`<pre class="output">${r.mainOutput.slice(0, SHOWN_OUTPUT)}</pre>`
            : html`<span class="muted">(nothing)</span>`
        }
      </dd>
    </dl>
    ${probeTable(r)}`;
}

function probeTable(r: RunReport): SafeHtml {
  if (r.probes.length === 0) return html`<p class="muted">No probe ran.</p>`;
  return html`<table>
    <caption class="muted">
      Probes of ${r.platform}, in the order they ran
    </caption>
    <thead>
      <tr>
        <th scope="col">#</th>
        <th scope="col">Started</th>
        <th scope="col">Exit code</th>
        <th scope="col">Duration</th>
        <th scope="col">Output (first KiB)</th>
      </tr>
    </thead>
    <tbody>
      ${joinHtml(
        r.probes.map((p, i) => ({ ...p, n: i + 1 })),
        (p) =>
          html`<tr>
            <td>
              ${p.n}${p.inStartPeriod ? html` <span class="muted">(start period)</span>` : ''}
            </td>
            <td>${time(p.at)}</td>
            <td class="probe-exit">${p.exitCode === -1 ? 'timed out' : String(p.exitCode)}</td>
            <td>${p.durationMs} ms</td>
            <td><pre class="output">${p.output.slice(0, SHOWN_OUTPUT)}</pre></td>
          </tr>`
      )}
    </tbody>
  </table>`;
}
