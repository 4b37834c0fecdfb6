/**
 * The UI's static assets, served by Countersign itself. The one stylesheet, /ui/assets/ui.css (the
 * Content-Security-Policy allows styles from 'self' only, and no script but the job page's: the
 * pages work with plain links and forms; the expiry bars' widths are classes in 5% steps, as inline styles are refused). Colours keep a contrast ratio of at least 4.5:1 against their background (axe-core
 * checks it in the browser tests); focus is always visible for keyboard users.
 */
import { createHash } from 'node:crypto';

export const STYLESHEET = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #4a5360; --line: #c9d1da; --bg: #ffffff;
  --panel: #f4f6f8; --accent: #0b5cad; --bad: #a4161a; --good: #1a6b2f; --warn: #7a4d00; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible,
summary:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: var(--bg); padding: 6px; }
.skip:focus { left: 8px; }
header.top { display: flex; gap: 24px; align-items: center; padding: 10px 20px; background: #102a43; color: #fff; }
header.top a { color: #fff; }
header.top nav ul { display: flex; gap: 18px; list-style: none; margin: 0; padding: 0; }
header.top nav a[aria-current="page"] { font-weight: 700; text-decoration-thickness: 3px; }
header.top .who { margin-left: auto; display: flex; gap: 12px; align-items: center; }
header.top form { margin: 0; }
main { padding: 16px 24px 48px; max-width: 1200px; }
h1 { font-size: 1.5rem; margin: 8px 0 16px; }
h2 { font-size: 1.15rem; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); }
code, .mono { font-family: ui-monospace, monospace; font-size: 0.9em; overflow-wrap: anywhere; }
.pass { color: var(--good); font-weight: 600; }
.fail { color: var(--bad); font-weight: 600; }
.warn { color: var(--warn); font-weight: 600; }
.muted { color: var(--muted); }
.running { color: var(--accent); font-weight: 600; }
tr.job-running td, tr.job-running th { background: #eef4fb; }
.counts { display: flex; flex-wrap: wrap; gap: 8px; list-style: none; padding: 0; }
.counts li a, .counts li span { display: inline-block; padding: 4px 10px; border: 1px solid var(--line); border-radius: 4px; }
form.filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: end; background: var(--panel); padding: 10px; }
form.filters label, form.stack label { display: flex; flex-direction: column; font-weight: 600; gap: 2px; }
form.stack { display: flex; flex-direction: column; gap: 8px; max-width: 520px; }
input, select, textarea, button { font: inherit; padding: 5px 8px; border: 1px solid #6b7785; border-radius: 3px; }
button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
button.danger { background: var(--bad); border-color: var(--bad); }
button.link { background: none; border: none; color: #fff; text-decoration: underline; padding: 0; }
.notice { padding: 8px 12px; border-left: 4px solid var(--accent); background: var(--panel); }
pre.output { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; font-family: ui-monospace, monospace; font-size: 0.85em; }
.error { border-left-color: var(--bad); }
.quorum { font-size: 1.1rem; font-weight: 700; }
.timeline { list-style: none; padding: 0; }
.timeline li { display: grid; grid-template-columns: 220px 1fr 240px; gap: 8px; align-items: center; padding: 4px 0; }
.bar { height: 14px; background: var(--panel); border: 1px solid var(--line); position: relative; }
.bar span { position: absolute; left: 0; top: 0; bottom: 0; background: #2f7d3b; }
.bar span.soon { background: var(--bad); }
ins { background: #dff5e1; text-decoration: none; }
del { background: #fbe3e4; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
${Array.from({ length: 21 }, (_, i) => `.bar span.w${i} { width: ${i * 5}%; }`).join('\n')}
`;

/** A strong validator for caching: an asset changes only with a new build. */
function etagOf(text: string): string {
  return `"${createHash('sha256').update(text).digest('hex').slice(0, 16)}"`;
}

export const STYLESHEET_ETAG = etagOf(STYLESHEET);

/**
 * The job page's script (/ui/assets/job.js, the UI's only one; the job page's policy allows
 * scripts and fetches from 'self', every other page none). It asks `/ui/jobs/ID/progress` once a
 * second and writes the answer into the page's status region, which screen readers announce;
 * when the job has ended it reloads the page, which then shows the result. Any error also ends
 * in a reload (a lost session then shows the login form). No framework, no inline code.
 */
export const JOB_SCRIPT = `'use strict';
(function () {
  var region = document.getElementById('job-status');
  var text = document.getElementById('job-text');
  var bar = document.getElementById('job-bar');
  if (!region || !text) return;
  var url = region.getAttribute('data-progress');
  function poll() {
    fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) {
        if (!r.ok) throw new Error('status ' + r.status);
        return r.json();
      })
      .then(function (job) {
        if (job.state !== 'running') return location.reload();
        if (text.textContent !== job.text) text.textContent = job.text;
        if (bar && job.blobs) {
          bar.max = job.blobs.total;
          bar.value = job.blobs.done;
        }
        setTimeout(poll, 1000);
      })
      .catch(function () {
        setTimeout(function () { location.reload(); }, 5000);
      });
  }
  setTimeout(poll, 1000);
})();
`;

export const JOB_SCRIPT_ETAG = etagOf(JOB_SCRIPT);
