/**
 * The `healthcheck-run` entry one run makes (docs/store.md "Health checks run in a sandbox"): it
 * passes only if every platform run here passed, and at least one ran. The detail is one line
 * per platform — the verdict, the unpacked size next to the compressed one, whether the declared
 * `User` is in the image's /etc/passwd — and the evidence keeps every probe.
 */
import type { RunReport } from '../sandbox/run.js';
import type { PolicyCheckRecord } from './submission.js';

export const CHECK = 'healthcheck-run';

/** The platform this host runs (Node's arch → OCI's). */
export const HOST_PLATFORM = `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`;

export function verdict(
  reports: readonly RunReport[],
  notRun: readonly string[]
): PolicyCheckRecord {
  const skipped = notRun.length
    ? `; not run (this host runs ${HOST_PLATFORM} only): ${notRun.join(', ')}`
    : '';
  const evidence = { platforms: reports, notRun };
  if (reports.length === 0)
    return {
      name: CHECK,
      passed: false,
      detail: `no platform of the image runs on this host${skipped}`,
      evidence,
    };
  return {
    name: CHECK,
    passed: reports.every((r) => r.passed),
    detail: reports.map(platformLine).join('; ') + skipped,
    evidence,
  };
}

function platformLine(r: RunReport): string {
  const sizes =
    r.unpackedBytes !== undefined
      ? `; unpacked ${r.unpackedBytes} bytes (compressed ${r.compressedBytes ?? '?'})`
      : '';
  const user = r.user
    ? `; User ${JSON.stringify(r.user.declared || 'root')} ${r.user.inPasswd ? 'is' : 'is not'} in /etc/passwd`
    : '';
  return `${r.platform}: ${r.passed ? 'healthy' : 'failed'}: ${r.reason}${sizes}${user}`;
}
