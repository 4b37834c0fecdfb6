/**
 * The submission page's healthcheck-run section (src/ui/pages/healthcheck-run.ts): every probe
 * with its time, exit code and the first KiB of its output (escaped), the sizes and the user;
 * while pending, the job and where it is.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunReport } from '../../../src/sandbox/run.js';
import type { PolicyCheckRecord } from '../../../src/store/submission.js';
import { healthcheckRunSection } from '../../../src/ui/pages/healthcheck-run.js';

const JOB = `job_${'a'.repeat(32)}`;

const run: RunReport = {
  platform: 'linux/amd64',
  passed: false,
  reason:
    'unhealthy: 2 probe(s) in a row failed (retries 2), the last with a timeout after 5000 ms',
  healthcheck: ['CMD-SHELL', 'curl -f http://localhost/'],
  probes: [
    {
      at: '2031-01-02T03:04:05.000Z',
      exitCode: 7,
      durationMs: 12,
      output: `<script>alert(1)</script>${'x'.repeat(2000)}`,
      inStartPeriod: true,
    },
    {
      at: '2031-01-02T03:04:10.000Z',
      exitCode: -1,
      durationMs: 5000,
      output: '',
      inStartPeriod: false,
    },
  ],
  compressedBytes: 1_000_000,
  unpackedBytes: 2_500_000,
  user: { declared: 'app', uid: 1000, inPasswd: false },
  mainOutput: 'listening\n',
};

const decided: PolicyCheckRecord = {
  name: 'healthcheck-run',
  passed: false,
  detail: 'linux/amd64: failed: …',
  job: JOB,
  evidence: { platforms: [run], notRun: ['linux/arm64'] },
};

describe('healthcheck-run on the submission page', () => {
  it('lists every probe: when, exit code (or timed out), duration, the first KiB of output escaped', () => {
    const page = healthcheckRunSection(decided, undefined).toString();
    assert.match(page, /<time datetime="2031-01-02T03:04:05.000Z">/);
    assert.match(page, /<time datetime="2031-01-02T03:04:10.000Z">/);
    const exits = [...page.matchAll(/<td class="probe-exit">([^<]*)<\/td>/g)].map((m) => m[1]);
    assert.deepEqual(exits, ['7', 'timed out']);
    assert.match(page, /\(start period\)/);
    assert.ok(!page.includes('<script>'), 'probe output is escaped');
    assert.match(page, /&lt;script&gt;alert\(1\)&lt;\/script&gt;x+<\/pre>/);
    const shown = /&lt;\/script&gt;(x+)<\/pre>/.exec(page)![1]!;
    assert.equal(shown.length, 1024 - '<script>alert(1)</script>'.length, 'the first KiB only');
    assert.match(page, /5000 ms/);
  });

  it('shows the unpacked size next to the compressed one, and whether the user is in /etc/passwd', () => {
    const page = healthcheckRunSection(decided, undefined).toString();
    assert.match(page, /2500000 bytes unpacked, 1000000 bytes compressed/);
    assert.match(
      page,
      /<span class="mono">app<\/span> \(uid 1000\),\s*<span class="fail">not in \/etc\/passwd<\/span>/
    );
    assert.match(page, /listening/);
    assert.match(page, /Not run on this host: <span class="mono">linux\/arm64<\/span>/);
    assert.match(page, new RegExp(`href="/ui/jobs/${JOB}"`));
  });

  it('while pending: the job, its state and progress line, in a status region', () => {
    const pending: PolicyCheckRecord = {
      name: 'healthcheck-run',
      passed: false,
      pending: true,
      detail: 'pending',
      job: JOB,
    };
    const page = healthcheckRunSection(pending, {
      id: JOB,
      state: 'running',
      text: 'platform 1/1 linux/amd64: probe 2 (unhealthy after 3 failures in a row)',
    }).toString();
    assert.match(page, /running, platform 1\/1 linux\/amd64: probe 2 \(unhealthy after 3/);
    assert.match(page, /role="status"/);
    assert.ok(!page.includes('<table'), 'no probes yet');
    assert.equal(healthcheckRunSection(undefined, undefined).toString(), '');
  });
});
